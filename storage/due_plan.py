"""What the capacity planner reads: the schedules that will fire in a window, grouped.

A million subscriptions are a few thousand distinct schedules: most members keep the default
times, pick round ones, and live in a few dozen zones. So the planner never reads rows one by
one: the database groups identical schedules (``GROUP BY`` kind, ``times``, ``zone`` and where
the schedule starts firing) and counts them, and the planner expands each distinct schedule
once and multiplies by its count (``services.capacity``).

Which rows fire, as the engine would fire them:

* A subscription fires from its stored ``times`` and ``zone`` — the engine's own inputs (the
  dispatcher's ``next_fire_ts(sub.times, sub.zone, …)``). A member's wake-up time, bedtime,
  explicit time and ``every`` were turned into ``times`` when they were set, so grouping by
  ``times`` is grouping by all of them, with fewer groups.
* It fires at its stored ``next_fire_at`` and at every fire of its times after that. A
  paused member's ``next_fire_at`` is past the pause and an inactive subscription (DMs
  closed, broken channel) has none, so both count only from when the engine would fire them
  again — or not at all.
* A ``next_fire_at`` already past at the window's start is an occurrence being claimed right
  now or one the bot missed while down (the downtime grace decides it, not the capacity):
  it is not planned, and the schedule counts from the window's start.
* A server's daily tip is a subscription like the others (kind ``daily_tip``, its time and
  zone on its row), so it is in the same groups.
* A pending snooze is one occurrence at its ``fire_at`` (grouped by kind and instant).

The read goes in ranges of ids, so that a caller can show progress on a large database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database

#: Subscriptions read per statement (a range of ids): a progress step on a large database.
CHUNK_IDS = 100_000


@dataclass(frozen=True)
class ScheduleGroup:
    """``count`` subscriptions of ``kind`` firing at the local ``times`` in ``zone``, from
    ``fires_from`` on (their stored ``next_fire_at``, or the window's start if earlier)."""

    kind: str
    times: str
    zone: str
    fires_from: int
    count: int


@dataclass(frozen=True)
class SnoozeGroup:
    kind: str
    fire_at: int
    count: int


@dataclass(frozen=True)
class Population:
    """Who the window's load belongs to: members with a subscription that fires, and the
    subscriptions that do."""

    members: int
    subscriptions: int


Progress = Callable[[int, int], None]  # (ids read so far, ids in all)


async def schedule_groups(
    db: Database, start: int, end: int, *, progress: Progress | None = None
) -> list[ScheduleGroup]:
    """The distinct schedules of the subscriptions that fire in ``[start, end)``, counted."""
    bounds = await db.fetchone("SELECT min(id) AS low, max(id) AS high FROM subscriptions")
    if bounds is None or bounds["low"] is None:
        return []
    low, high = int(bounds["low"]), int(bounds["high"])
    merged: dict[tuple[str, str, str, int], int] = {}
    for first in range(low, high + 1, CHUNK_IDS):
        last = min(first + CHUNK_IDS - 1, high)
        rows = await db.fetchall(
            "SELECT kind, times, zone, "
            "CASE WHEN next_fire_at < ?1 THEN ?1 ELSE next_fire_at END AS fires_from, "
            "count(*) AS n FROM subscriptions "
            "WHERE id BETWEEN ?3 AND ?4 AND active = 1 AND next_fire_at < ?2 "
            "GROUP BY kind, times, zone, fires_from",
            (start, end, first, last),
        )
        for row in rows:
            key = (row["kind"], row["times"], row["zone"], int(row["fires_from"]))
            merged[key] = merged.get(key, 0) + int(row["n"])
        if progress is not None:
            progress(last - low + 1, high - low + 1)
    return [ScheduleGroup(*key, count=n) for key, n in merged.items()]


async def snooze_groups(db: Database, start: int, end: int) -> list[SnoozeGroup]:
    """Pending snoozes due before ``end`` (one already due counts at ``start``: the engine
    sends it at once)."""
    rows = await db.fetchall(
        "SELECT kind, CASE WHEN fire_at < ?1 THEN ?1 ELSE fire_at END AS due_at, count(*) AS n "
        "FROM snoozes WHERE fire_at < ?2 GROUP BY kind, due_at",
        (start, end),
    )
    return [SnoozeGroup(row["kind"], int(row["due_at"]), int(row["n"])) for row in rows]


async def population(db: Database, end: int) -> Population:
    """Members and subscriptions whose reminders fire before ``end`` (a server's daily tip is
    a subscription with no member)."""
    row = await db.fetchone(
        "SELECT count(DISTINCT user_id) AS members, count(*) AS subscriptions "
        "FROM subscriptions WHERE active = 1 AND next_fire_at < ?",
        (end,),
    )
    assert row is not None
    return Population(int(row["members"]), int(row["subscriptions"]))
