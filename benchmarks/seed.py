"""Fast, realistic seeding of the reminder tables.

Rows are what ``/remind`` would have written: a member per two subscriptions, one of 50 IANA
zones, a wake-up time between 05:00 and 09:30 and a bedtime between 21:00 and 01:00 (15-minute
steps), and the kinds' default times derived from them (``default_times``), so ``next_fire_at``
is spread over the whole day. The schema comes from the real migrations; the rows go in with
one ``executemany`` per table in one transaction.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from datetime import time as wall_time
from pathlib import Path

from domain.schedule import default_times, format_times, next_fire_ts, zone_named
from storage.database import Database
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase
from storage.transfer import TABLES, copy_sqlite_to_postgres

# 50 IANA zones across every offset people live in, with and without daylight saving.
ZONES: tuple[str, ...] = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Phoenix", "America/Toronto",
    "America/Vancouver", "America/Mexico_City", "America/Bogota", "America/Lima",
    "America/Sao_Paulo", "America/Argentina/Buenos_Aires", "America/Santiago",
    "America/Halifax", "America/St_Johns", "Atlantic/Azores", "Europe/London",
    "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
    "Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens",
    "Europe/Helsinki", "Europe/Kyiv", "Europe/Istanbul", "Europe/Moscow", "Africa/Cairo",
    "Africa/Lagos", "Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Tehran",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok",
    "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Australia/Adelaide",
    "Pacific/Auckland",
)  # fmt: skip
assert len(ZONES) == 50 and len(set(ZONES)) == 50

# Each member has two of the four kinds (so every kind is a quarter of the rows).
KIND_PAIRS = (("hydration", "sleep"), ("stretching", "caffeine"))
USER_BASE = 400_000_000_000_000_000  # snowflake-sized ids

Progress = Callable[[int, int], None]

_SUB_SQL = (
    "INSERT INTO subscriptions (kind, user_id, guild_id, channel_id, times, custom_time, "
    "every_hours, zone, next_fire_at, active, paused_reason, created_at, updated_at) "
    "VALUES (?, ?, NULL, NULL, ?, NULL, NULL, ?, ?, 1, NULL, ?, ?)"
)
_MEMBER_SQL = (
    "INSERT INTO members (user_id, timezone, wake, bed, delivery, dm_channel_id, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, 'dm', ?, ?, ?)"
)


async def _migrate(path: Path) -> None:
    db = await Database.open(f"sqlite:///{path}")
    try:
        await db.migrate()
    finally:
        await db.close()


def create_schema(path: Path) -> None:
    """A fresh database at ``path`` with every migration applied (as the bot does)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # In a thread of its own: callers may be inside a running event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _migrate(path)).result()


def _member_profile(rng: random.Random) -> tuple[str, wall_time, wall_time]:
    zone = ZONES[rng.randrange(len(ZONES))]
    wake_min = 5 * 60 + 15 * rng.randrange(19)  # 05:00 .. 09:30
    bed_min = (21 * 60 + 15 * rng.randrange(17)) % (24 * 60)  # 21:00 .. 01:00
    return (
        zone,
        wall_time(wake_min // 60, wake_min % 60),
        wall_time(bed_min // 60, bed_min % 60),
    )


def generate(n: int, now_ts: int, seed: int = 6) -> Iterator[tuple[tuple, list[tuple]]]:
    """``(member row, [subscription rows])`` for ``n`` subscriptions in total."""
    rng = random.Random(seed)
    times_cache: dict[tuple[str, wall_time, wall_time], str] = {}
    made = 0
    member = 0
    while made < n:
        zone, wake, bed = _member_profile(rng)
        user_id = USER_BASE + member
        member_row = (
            user_id,
            zone,
            wake.strftime("%H:%M"),
            bed.strftime("%H:%M"),
            user_id + 1,  # the cached DM channel id
            now_ts,
            now_ts,
        )
        subs = []
        for kind in KIND_PAIRS[member % 2]:
            if made >= n:
                break
            key = (kind, wake, bed)
            times = times_cache.get(key)
            if times is None:
                times = times_cache[key] = format_times(default_times(kind, wake, bed))
            subs.append(
                (kind, user_id, times, zone, next_fire_ts(times, zone, now_ts), now_ts, now_ts)
            )
            made += 1
        member += 1
        yield member_row, subs


def fill(path: Path, n: int, now_ts: int, progress: Progress | None = None) -> None:
    """Create ``n`` subscriptions (and their members) in a fresh database at ``path``."""
    create_schema(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        chunk = 50_000
        members: list[tuple] = []
        subs: list[tuple] = []
        done = 0
        for member_row, sub_rows in generate(n, now_ts):
            members.append(member_row)
            subs.extend(sub_rows)
            if len(subs) >= chunk:
                conn.executemany(_MEMBER_SQL, members)
                conn.executemany(_SUB_SQL, subs)
                done += len(subs)
                members, subs = [], []
                if progress:
                    progress(done, n)
        conn.executemany(_MEMBER_SQL, members)
        conn.executemany(_SUB_SQL, subs)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        if progress:
            progress(n, n)
    finally:
        conn.close()


def fill_due(
    path: Path,
    members: Sequence[tuple[int, int]],
    due_ts: int,
    now_ts: int,
    seed: int = 7,
) -> None:
    """One subscription per ``(user_id, dm_channel_id)``, all due at the instant ``due_ts``.

    Times are the local wall-clock minute of ``due_ts`` in each member's zone, as if every
    member had picked that minute; ``next_fire_at`` is ``due_ts`` itself.
    """
    create_schema(path)
    rng = random.Random(seed)
    due = datetime.fromtimestamp(due_ts, UTC)
    kinds = ("hydration", "stretching", "sleep", "caffeine")
    member_rows, sub_rows = [], []
    for i, (user_id, channel_id) in enumerate(members):
        zone = ZONES[rng.randrange(len(ZONES))]
        local = due.astimezone(zone_named(zone))
        times = local.strftime("%H:%M")
        member_rows.append((user_id, zone, "07:00", "23:00", channel_id, now_ts, now_ts))
        sub_rows.append((kinds[i % 4], user_id, times, zone, due_ts, now_ts, now_ts))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_MEMBER_SQL, member_rows)
        conn.executemany(_SUB_SQL, sub_rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def load_into_postgres(url: str, sqlite_path: Path) -> None:
    """A PostgreSQL database (the one ``--database`` names, or a throwaway one) migrated,
    emptied and filled with the rows of the SQLite file at ``sqlite_path``, by
    ``migrate-db``'s own copy."""
    source = await SqliteDatabase.connect(f"sqlite:///{sqlite_path}")
    target = await Database.open(url)
    assert isinstance(target, PostgresDatabase)
    try:
        await target.migrate()
        await target.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        await copy_sqlite_to_postgres(source, target)
    finally:
        await source.close()
        await target.close()
