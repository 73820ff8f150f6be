"""The capacity planner's read (``storage.due_plan``), on SQLite and PostgreSQL: identical
schedules come back grouped and counted, only what the engine would fire is there (not an
inactive subscription, a paused one only from the end of its pause), pending snoozes and the
servers' daily tips are in it; and a day with a daylight-saving change is expanded by the
engine's own rules (``services.capacity``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.schedule import next_fire_ts
from services.capacity import expand, plan_next_day
from storage import due_plan
from storage.database import Database

START = int(datetime(2026, 6, 10, tzinfo=UTC).timestamp())
END = START + 86400
USER = 400_000_000_000_000_000


async def _subscribe(
    db: Database, sub_id: int, kind: str, times: str, zone: str, *, user: int | None = None,
    guild: int | None = None, next_fire_at: int | None = -1, active: int = 1,
) -> None:  # fmt: skip
    if next_fire_at == -1:  # as the running bot leaves it: its next fire after the start
        next_fire_at = next_fire_ts(times, zone, START - 1)
    await db.execute(
        "INSERT INTO subscriptions (id, kind, user_id, guild_id, channel_id, times, zone, "
        "next_fire_at, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
        (sub_id, kind, user, guild, guild, times, zone, next_fire_at, active),
    )


async def test_identical_schedules_are_one_group_and_only_what_fires_is_read(db: Database) -> None:
    # Three members with the default sleep wind-down in New York: one group of three.
    for i in range(3):
        await _subscribe(db, i + 1, "sleep", "22:30", "America/New_York", user=USER + i)
    # The same time in Paris is another group; so is hydration at the same times.
    await _subscribe(db, 4, "sleep", "22:30", "Europe/Paris", user=USER + 3)
    await _subscribe(db, 5, "hydration", "22:30", "America/New_York", user=USER + 4)
    # Inactive (DMs closed): never fires.
    await _subscribe(db, 6, "sleep", "22:30", "America/New_York", user=USER + 5,
                     next_fire_at=None, active=0)  # fmt: skip
    # Paused past the window: nothing in it. Paused until noon: fires from then.
    await _subscribe(db, 7, "sleep", "22:30", "America/New_York", user=USER + 6,
                     next_fire_at=END + 7200)  # fmt: skip
    noon = START + 12 * 3600
    resumes = next_fire_ts("08:00,10:00,12:00,14:00", "UTC", noon - 1)
    await _subscribe(db, 8, "hydration", "08:00,10:00,12:00,14:00", "UTC", user=USER + 7,
                     next_fire_at=resumes)  # fmt: skip
    # Overdue at the start (being claimed, or missed while the bot was down): counted from
    # the start, with the one it was due at left to the engine's downtime rules.
    await _subscribe(db, 9, "caffeine", "15:00", "UTC", user=USER + 8,
                     next_fire_at=START - 600)  # fmt: skip
    # A server's daily tip.
    await _subscribe(db, 10, "daily_tip", "09:00", "Asia/Tokyo", guild=900)
    # Two snoozes due at the same second, one already overdue.
    for i, fire_at in enumerate((START + 1800, START + 1800, START - 30)):
        await db.execute(
            "INSERT INTO snoozes (kind, user_id, from_delivery_id, fire_at, created_at) "
            "VALUES ('hydration', ?, ?, ?, 0)",
            (USER + i, 100 + i, fire_at),
        )

    groups = await due_plan.schedule_groups(db, START, END)
    found = {(g.kind, g.times, g.zone, g.fires_from): g.count for g in groups}
    ny = next_fire_ts("22:30", "America/New_York", START - 1)
    assert found == {
        ("sleep", "22:30", "America/New_York", ny): 3,
        ("sleep", "22:30", "Europe/Paris", next_fire_ts("22:30", "Europe/Paris", START - 1)): 1,
        ("hydration", "22:30", "America/New_York", ny): 1,
        ("hydration", "08:00,10:00,12:00,14:00", "UTC", resumes): 1,
        ("caffeine", "15:00", "UTC", START): 1,
        ("daily_tip", "09:00", "Asia/Tokyo", next_fire_ts("09:00", "Asia/Tokyo", START - 1)): 1,
    }
    snoozes = await due_plan.snooze_groups(db, START, END)
    assert sorted((s.fire_at, s.count) for s in snoozes) == [(START, 1), (START + 1800, 2)]
    who = await due_plan.population(db, END)
    assert (who.members, who.subscriptions) == (7, 8)

    load = expand(groups, snoozes, END)
    by_kind: dict[str, float] = {}
    for due in load:
        by_kind[due.kind] = by_kind.get(due.kind, 0) + due.count
    # Hydration: 12:00 and 14:00 only (the pause ended at noon), the New York one, and the
    # three snoozes; caffeine once at 15:00.
    assert by_kind == {"sleep": 4, "hydration": 6, "caffeine": 1, "daily_tip": 1}


async def test_a_large_table_is_read_in_ranges_of_ids(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(due_plan, "CHUNK_IDS", 2)
    for i in range(5):
        await _subscribe(db, 10 * i + 1, "sleep", "22:30", "UTC", user=USER + i)
    steps: list[tuple[int, int]] = []
    groups = await due_plan.schedule_groups(db, START, END, progress=lambda *a: steps.append(a))
    assert [g.count for g in groups] == [5]
    assert steps[-1] == (41, 41) and len(steps) == 21


async def test_a_day_with_a_daylight_saving_change_fires_by_the_engines_rules(
    db: Database,
) -> None:
    # New York springs forward at 02:00 on 8 March 2026: 02:30 does not exist that day and
    # fires at 03:00 EDT (07:00 UTC); 08:00 is EDT (12:00 UTC); the day before, EST.
    day = int(datetime(2026, 3, 8, 5, tzinfo=UTC).timestamp())  # 00:00 EST
    await db.execute(
        "INSERT INTO subscriptions (id, kind, user_id, times, zone, next_fire_at, active, "
        "created_at, updated_at) VALUES (1, 'hydration', 1, '02:30,08:00', "
        "'America/New_York', ?, 1, 0, 0)",
        (next_fire_ts("02:30,08:00", "America/New_York", day - 1),),
    )
    plan = await plan_next_day(db, now=day, capacity_per_s=49, hours=24)
    hours = [(at - day) / 3600 for at in plan.minutes]
    assert hours == [2.0, 7.0]  # 07:00 and 12:00 UTC, both that local day
    assert plan.new.all.due == 2 and plan.new.all.skipped == 0
