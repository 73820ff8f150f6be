"""The send policy (#21): planning against capacity, deadline order, fair ties, skips.

Pure planning first (``fill_from``, ``tie_rank``, ``Deadlines``), then the engine with an
injected clock: a tight kind overtakes a loose one, a peak is claimed early within the
kinds' allowance, what cannot go out within its late tolerance is recorded "skipped: too
busy" (by the dispatcher and by the sender), counted in /metrics, and shown in stats as the
bot's, never the member's miss; the downtime grace and /remind test keep their rules.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from domain.enums import DeliveryState, Reason, Source
from services.engine.policy import Deadlines, DueOrder, Fill, fill_from, tie_rank
from storage import ledger, reminders
from storage.ledger import Delivery
from testkit.fake_time import FakeClock
from tests.reminder_rig import make_rig, rows

DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)  # 22:30 in Berlin: a sleep wind-down
NOW = int(DUE.timestamp())


def delivery(kind: str, scheduled_at: int, sub: int = 1, source: str = Source.SCHEDULE) -> Delivery:
    return Delivery(
        id=sub,
        nonce=f"n{sub}",
        source=source,
        subscription_id=sub,
        scheduled_at=scheduled_at,
        kind=kind,
        user_id=sub,
        guild_id=None,
        state=DeliveryState.CLAIMED,
    )


def skipped_metric() -> float:
    return REGISTRY.get_sample_value("steady_reminders_skipped_too_busy_total") or 0.0


# --- planning ------------------------------------------------------------------------------


def test_a_load_the_capacity_carries_asks_for_nothing_early() -> None:
    assert fill_from(NOW, 0, [], 49) is None
    assert fill_from(NOW, 0, [(NOW + 60, 40), (NOW + 600, 45)], 49) is None


def test_a_peak_starts_the_sender_as_long_before_it_as_it_takes_to_send() -> None:
    # 4,900 due at one instant ten minutes ahead: 100 s of sending, so from 100 s before.
    assert fill_from(NOW, 0, [(NOW + 600, 4900)], 49) == Fill(start=NOW + 500, until=NOW + 600)
    # What is queued already counts when the sender cannot finish it before the peak.
    assert fill_from(NOW, 49 * 50, [(NOW + 30, 4900)], 49) == Fill(NOW - 120, NOW + 30)
    # ...and not when it can: the backlog is a stretch of its own (early claims reach no
    # further than now), the peak's starts later.
    assert fill_from(NOW, 49 * 50, [(NOW + 600, 4900)], 49) == Fill(NOW - 50, NOW)
    # Two peaks: the one that needs the earlier start binds, and early claims reach the last
    # instant that asks for it.
    fill = fill_from(NOW, 0, [(NOW + 100, 49 * 90), (NOW + 120, 49 * 60)], 49)
    assert fill == Fill(start=NOW + 120 - 150, until=NOW + 120)
    # A quiet gap the sender can work through separates two stretches.
    fill = fill_from(NOW, 0, [(NOW + 100, 49 * 30), (NOW + 400, 49 * 60)], 49)
    assert fill == Fill(start=NOW + 70, until=NOW + 100)
    # Behind already: fill now.
    fill = fill_from(NOW, 49 * 30, [(NOW + 10, 49 * 5)], 49)
    assert fill is not None and fill.start <= NOW


def test_deadline_order_puts_a_tight_kind_before_a_loose_one_and_tests_first() -> None:
    policy = Deadlines()
    hydration = delivery("hydration", NOW, sub=1)  # deadline +30 min
    sleep = delivery("sleep", NOW + 60, sub=2)  # due later, deadline +11 min
    test = delivery("sleep", NOW + 3600, sub=3, source=Source.TEST)
    ordered = sorted([hydration, sleep, test], key=lambda d: policy.queue_key(d, NOW))
    assert [d.id for d in ordered] == [3, 2, 1]
    # The old engine: due order.
    old = sorted([hydration, sleep], key=lambda d: DueOrder().queue_key(d, NOW))
    assert [d.id for d in old] == [1, 2]


def test_only_what_cannot_reach_discord_within_its_late_tolerance_is_too_late() -> None:
    policy = Deadlines(margin_s=2)
    sleep = delivery("sleep", NOW)  # late tolerance 10 min
    assert not policy.too_late(sleep, NOW + 600 - 2)
    assert policy.too_late(sleep, NOW + 600 - 1)
    assert not policy.too_late(delivery("sleep", NOW, source=Source.TEST), NOW + 86400)
    assert not DueOrder().too_late(sleep, NOW + 86400)


def test_ties_are_shed_fairly_a_different_share_every_day() -> None:
    """When a fifth of a tie is skipped, nobody is skipped two days running, and in five
    days every member got their turn at the end of the queue at most once."""
    ids = range(1, 10_001)
    skipped_by_day = []
    for day in range(20_000, 20_005):
        order = sorted(ids, key=lambda i: tie_rank(i, day))
        skipped_by_day.append(set(order[-2000:]))
    for today, tomorrow in zip(skipped_by_day, skipped_by_day[1:], strict=False):
        assert not today & tomorrow
    times = {i: sum(i in day for day in skipped_by_day) for i in ids}
    assert max(times.values()) <= 2  # a fifth skipped every day: twice in five days at most


async def test_the_claim_orders_by_deadline_then_the_same_tie_hash_as_python(db) -> None:
    rig = await make_rig(db, FakeClock(DUE - timedelta(hours=1)))
    for user in range(100, 130):
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "sleep")  # 22:30: due DUE, +10 min
        await rig.subscriptions.start(user, None, "hydration", "22:29")  # earlier, +30 min
    order = Deadlines().claim_order(NOW, fill_until=NOW)
    assert order is not None
    subs = {s.id: s for u in range(100, 130) for s in await reminders.for_member(db, u)}
    found = await rows(db, f"SELECT id FROM subscriptions ORDER BY {order.order_by()}")
    late = {"sleep": 600, "hydration": 1800}
    expected = sorted(
        subs.values(),
        key=lambda s: (s.next_fire_at + late[s.kind], tie_rank(s.id, NOW // 86400)),
    )
    assert [r[0] for r in found] == [s.id for s in expected]
    # The claim takes the tight kind first, though the loose one fell due a minute earlier.
    claimed = await reminders.claim_due(
        db, NOW, 30, lambda s: reminders.Plan(next_fire_at=None, deliver_at=s.next_fire_at),
        rig.sender.claimant, order,
    )  # fmt: skip
    assert {d.kind for d in claimed.claimed} == {"sleep"} and len(claimed.claimed) == 30


# --- the engine, on an injected clock --------------------------------------------------------


async def _subscribed(db, users, kind="sleep", time=None, clock=None):
    rig = await make_rig(db, clock or FakeClock(DUE - timedelta(hours=1)), workers=1)
    for user in users:
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, kind, time)
    return rig


async def test_a_tight_kind_overtakes_a_loose_one_in_the_sender(db) -> None:
    rig = await _subscribed(db, range(10, 15), "hydration", "22:25")  # due 5 min before
    for user in range(20, 25):
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "sleep")  # due at DUE, tighter deadline
    await rig.dispatcher.start()
    rig.clock.now = DUE
    await rig.dispatcher.tick()  # both due now: all ten claimed
    assert rig.sender.backlog == 10
    await rig.sender.run_pending()
    kinds = [
        (await rows(db, "SELECT kind FROM deliveries WHERE nonce = ?", m.nonce))[0][0]
        for m in rig.discord.messages
    ]
    assert kinds == ["sleep"] * 5 + ["hydration"] * 5


async def test_a_peak_is_claimed_early_within_the_allowance_and_sent_at_claim_time(db) -> None:
    # 300 sleep wind-downs at one instant: 6 s of sending at 49/s.
    rig = await _subscribed(db, range(1000, 1300))
    await rig.dispatcher.start()
    rig.clock.now = DUE - timedelta(seconds=20)
    await rig.dispatcher.tick()
    assert rig.sender.backlog == 0 and not rig.dispatcher.filling
    assert rig.dispatcher.fill_at is not None
    assert DUE - timedelta(seconds=8) <= datetime.fromtimestamp(rig.dispatcher.fill_at, UTC)
    assert rig.dispatcher.next_wake == datetime.fromtimestamp(rig.dispatcher.fill_at, UTC)
    rig.clock.now = DUE - timedelta(seconds=7)
    await rig.dispatcher.tick()
    assert rig.dispatcher.filling and rig.sender.backlog >= 200
    sent = await rig.sender.run_pending()  # ready now: an early claim is sent at claim time
    assert len(sent) == len(rig.discord.messages) >= 200
    # The rest as late as it can go and still leave by its second.
    rig.clock.now = DUE - timedelta(seconds=3)
    await rig.dispatcher.tick()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 300
    (count,) = await rows(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'")
    assert count == (300,)


async def test_a_prepared_claim_is_held_until_its_second(db) -> None:
    rig = await _subscribed(db, range(1000, 1010))
    await rig.dispatcher.start()
    rig.clock.now = DUE - timedelta(seconds=3)
    await rig.dispatcher.tick()
    assert rig.sender.backlog == 10 and not rig.dispatcher.filling
    assert await rig.sender.run_pending() == []  # held: not yet its second
    rig.clock.now = DUE
    assert len(await rig.sender.run_pending()) == 10


async def test_due_past_its_late_tolerance_is_skipped_too_busy_not_sent(db, caplog) -> None:
    rig = await _subscribed(db, [42])
    await rig.dispatcher.start()  # the bot is up from before it was due
    before = skipped_metric()
    rig.clock.now = DUE + timedelta(minutes=10, seconds=1)  # sleep: 10 min late at most
    with caplog.at_level(logging.WARNING, logger="services.engine.policy"):
        await rig.run()
    assert rig.discord.messages == []
    assert await rows(db, "SELECT state, error FROM deliveries") == [
        (DeliveryState.MISSED, Reason.TOO_BUSY)
    ]
    assert skipped_metric() == before + 1
    assert [r.message for r in caplog.records if "too busy" in r.message] != []
    # Counted apart in stats: not sent, not the member's miss.
    rig.clock.now = DUE + timedelta(hours=1)
    [sleep] = [s for s in await rig.stats.stats(42) if s.kind == "sleep"]
    assert (sleep.sent, sleep.skipped, sleep.streak) == (0, 1, 0)


async def test_one_that_waited_in_the_queue_past_its_tolerance_is_skipped_by_the_sender(db):
    rig = await _subscribed(db, [42, 43])
    await rig.dispatcher.start()
    rig.clock.now = DUE
    await rig.dispatcher.tick()
    assert rig.sender.backlog == 2
    rig.clock.now = DUE + timedelta(minutes=11)  # the queue was long
    results = await rig.sender.run_pending()
    assert [r.state for r in results] == [DeliveryState.MISSED] * 2
    assert rig.discord.messages == []
    assert await rows(db, "SELECT DISTINCT error FROM deliveries") == [(Reason.TOO_BUSY,)]


async def test_downtime_keeps_its_grace_not_the_tolerance(db) -> None:
    """Down from before a sleep wind-down and back 20 min later: its grace (30 min) rules,
    not its late tolerance (10 min) — sent once, late."""
    rig = await _subscribed(db, [42])
    rig = await make_rig(db, FakeClock(DUE + timedelta(minutes=20)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 1


async def test_a_member_test_is_never_skipped_however_busy(db) -> None:
    rig = await _subscribed(db, [42])
    test = await ledger.claim_new(
        db,
        ledger.NewDelivery(
            nonce="t1", source=Source.TEST, subscription_id=None, scheduled_at=NOW - 86400,
            kind="sleep", user_id=42, guild_id=None,
        ),
        NOW, rig.sender.claimant,
    )  # fmt: skip
    assert test is not None
    rig.clock.now = DUE
    rig.sender.submit(test)
    [result] = await rig.sender.run_pending()
    assert result.state == DeliveryState.SENT
