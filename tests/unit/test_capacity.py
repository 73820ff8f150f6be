"""The capacity planner's model (``services.capacity.predict``, ``headroom``): what the engine
does with a due load against its send capacity, checked against counts worked out by hand.

Capacity 49 a second throughout, sent at exactly 49 a second (the limiter's 0.2 % margin set
to 0 for round numbers; one test checks that it is applied by default). The kinds'
tolerances are the engine's own (``domain.kinds``): hydration may go 10 min early and 30 min
late, sleep wind-down 5 and 10; an occurrence is skipped when its send would leave less than
the policy's 2 s margin before its deadline.
"""

from __future__ import annotations

from functools import partial

import pytest

from services import capacity
from services.capacity import Due, expand, load_figures
from services.engine.policy import DueOrder
from services.ratelimit import DEFAULT_MARGIN
from storage.due_plan import ScheduleGroup, SnoozeGroup

T = 1_781_049_600  # a due second (2026-06-10 00:00 UTC)
CAPACITY = 49.0
predict = partial(capacity.predict, limiter_margin=0.0)
headroom = partial(capacity.headroom, limiter_margin=0.0)


def test_a_peak_under_the_capacity_is_sent_on_time() -> None:
    plan = predict([Due(T, "sleep", 40)], CAPACITY)
    sleep = plan.kinds["sleep"]
    assert (sleep.due, sleep.sent, sleep.skipped) == (40, 40, 0)
    assert sleep.late_max_s == 0


def test_a_peak_over_the_capacity_within_the_allowances_goes_early_and_nothing_is_skipped() -> None:
    # Three minutes' worth at one second: 180 s of sending, within hydration's 10 min early.
    load = [Due(T, "hydration", 49 * 180)]
    new = predict(load, CAPACITY)
    assert new.all.sent == pytest.approx(49 * 180)
    assert new.all.skipped == 0
    assert new.all.late_max_s == 0
    # Today's engine (due order) sends it from its second on: the last one 180 s late.
    today = predict(load, CAPACITY, DueOrder())
    assert today.all.skipped == 0
    assert today.all.late_max_s == pytest.approx(180, abs=0.1)
    assert today.all.late_p50_s == pytest.approx(90, abs=1)


def test_beyond_the_allowances_the_skips_are_what_cannot_leave_before_the_deadline() -> None:
    # Sleep may go from T − 300 and must leave by T + 600 − 2: 898 s × 49 = 44,002 sent.
    plan = predict([Due(T, "sleep", 49_000)], CAPACITY)
    sleep = plan.kinds["sleep"]
    assert sleep.sent == pytest.approx(44_002)
    assert sleep.skipped == pytest.approx(4_998)
    assert sleep.late_max_s == pytest.approx(598, abs=0.05)
    # Today's engine skips nothing: the last one goes 1,000 s late.
    today = predict([Due(T, "sleep", 49_000)], CAPACITY, DueOrder())
    assert today.all.skipped == 0 and today.all.late_max_s == pytest.approx(1000, abs=0.05)


def test_the_limiter_sends_a_little_under_the_capacity() -> None:
    # SlotPacer paces 49 a second less its 0.2 % margin: 48.902 a second, 43,914 in the
    # 898 s sleep may use.
    plan = capacity.predict([Due(T, "sleep", 49_000)], CAPACITY)
    assert plan.all.sent == pytest.approx(898 * 49 * (1 - DEFAULT_MARGIN))
    assert plan.all.skipped == pytest.approx(49_000 - 898 * 49 * (1 - DEFAULT_MARGIN))


def test_a_tight_kind_goes_before_a_loose_one_and_the_loose_one_is_skipped() -> None:
    # Both due at T. Hydration may go from T − 600 until T + 1798, 2,398 s: 117,502 sends in
    # all. Sleep (deadline T + 600) goes first from T − 300: 40,000 take 816 s, done at
    # T + 516, in time. Hydration gets the rest: 300 s before sleep starts and the
    # 1,281.7 s after it, 77,502; 22,498 skipped.
    plan = predict([Due(T, "hydration", 100_000), Due(T, "sleep", 40_000)], CAPACITY)
    sleep, hydration = plan.kinds["sleep"], plan.kinds["hydration"]
    assert sleep.skipped == 0 and sleep.sent == pytest.approx(40_000)
    assert sleep.late_max_s == pytest.approx((40_000 - 1) / 49 - 300, abs=0.01)
    assert hydration.sent == pytest.approx(77_502)
    assert hydration.skipped == pytest.approx(22_498)
    assert plan.all.skipped == pytest.approx(22_498)


def test_kinds_due_at_the_same_second_are_interleaved_as_the_engine_interleaves_a_tie() -> None:
    # Today's engine sends a second's burst in id order, whatever the kind: both kinds'
    # last reminders go out at the end of the 20 s it takes.
    load = [Due(T, "caffeine", 49 * 10), Due(T, "sleep", 49 * 10)]
    today = predict(load, CAPACITY, DueOrder())
    for kind in ("caffeine", "sleep"):
        assert today.kinds[kind].late_max_s == pytest.approx(20, abs=0.05)
        assert today.kinds[kind].late_p50_s == pytest.approx(10, abs=0.6)


def test_a_snooze_never_goes_early() -> None:
    snoozed = predict([Due(T, "sleep", 49 * 100, snooze=True)], CAPACITY)
    scheduled = predict([Due(T, "sleep", 49 * 100)], CAPACITY)
    assert snoozed.all.late_max_s == pytest.approx(100, abs=0.05)
    assert scheduled.all.late_max_s == 0


def test_what_is_due_after_the_window_takes_capacity_but_is_not_counted() -> None:
    load = [Due(T, "hydration", 100), Due(T + 3600, "hydration", 100)]
    plan = predict(load, CAPACITY, until=T + 3600)
    assert plan.all.due == 100 and plan.all.sent == 100


def test_headroom_is_the_scale_of_todays_mix_before_the_first_skip() -> None:
    # 4,900 hydration reminders at T from 100 members; 117,502 can be sent in their window:
    # the first skip comes at 117,503 / 4,900 = 23.98 times the load.
    room = headroom([Due(T, "hydration", 4_900)], CAPACITY, members=100)
    assert room.factor == pytest.approx(117_503 / 4_900, rel=0.006)
    assert room.members == pytest.approx(100 * (117_503 / 4_900 - 1), rel=0.01)
    # Already skipping: no room, and the factor says how far the load must shrink.
    over = headroom([Due(T, "sleep", 49_000)], CAPACITY, members=1000)
    assert over.members == 0
    assert over.factor == pytest.approx(44_003 / 49_000, rel=0.006)


def test_expanding_groups_multiplies_each_schedule_by_its_count() -> None:
    groups = [
        ScheduleGroup("hydration", "08:00,10:00", "UTC", T, 3),
        ScheduleGroup("sleep", "22:30", "Europe/Paris", T, 2),  # 20:30 UTC in summer
    ]
    load = expand(groups, [SnoozeGroup("sleep", T + 60, 1)], T + 86400)
    assert [(d.at - T, d.kind, d.count, d.snooze) for d in load] == [
        (60, "sleep", 1, True),
        (8 * 3600, "hydration", 3, False),
        (10 * 3600, "hydration", 3, False),
        (20 * 3600 + 1800, "sleep", 2, False),
    ]
    figures = load_figures(load, CAPACITY, T, T + 86400)
    assert figures.due == 9
    assert figures.due_per_kind["hydration"] == 6
    assert [m.due for m in figures.peak_minutes][:1] == [3]
    assert figures.minutes_over_capacity == 0
