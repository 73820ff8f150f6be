"""The ``members`` table: a member's reminder settings and caches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from domain.enums import DeliveryMode
from domain.kinds import DEFAULT_BED, DEFAULT_WAKE
from storage.database import Database, Queries, Row

_COLUMNS = (
    "user_id, timezone, wake, bed, delivery, home_guild_id, paused_until, dm_channel_id, "
    "notice, created_at, updated_at"
)
_COLUMN_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))
_SETTABLE = {"timezone", "wake", "bed", "delivery", "home_guild_id", "paused_until"}


@dataclass(frozen=True)
class Member:
    user_id: int
    timezone: str | None = None
    wake: time = DEFAULT_WAKE
    bed: time = DEFAULT_BED
    delivery: str = DeliveryMode.DM
    home_guild_id: int | None = None
    paused_until: int | None = None
    dm_channel_id: int | None = None
    notice: str | None = None
    created_at: int | None = None
    updated_at: int | None = None


def _member(row: Row) -> Member:
    return Member(
        user_id=row["user_id"],
        timezone=row["timezone"],
        wake=time.fromisoformat(row["wake"]),
        bed=time.fromisoformat(row["bed"]),
        delivery=row["delivery"],
        home_guild_id=row["home_guild_id"],
        paused_until=row["paused_until"],
        dm_channel_id=row["dm_channel_id"],
        notice=row["notice"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get(db: Database, user_id: int) -> Member | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM members WHERE user_id = ?", (user_id,))
    return _member(row) if row else None


async def get_or_default(db: Database, user_id: int) -> Member:
    return await get(db, user_id) or Member(user_id=user_id)


def _sql_value(value: object) -> object:
    return value.strftime("%H:%M") if isinstance(value, time) else value


async def update(db: Database, user_id: int, now: int, **fields: object) -> None:
    """Create the member if new and set the given settings (names from ``_SETTABLE``)."""
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"unknown member fields: {sorted(unknown)}")
    names = sorted(fields)
    values = [_sql_value(fields[name]) for name in names]
    insert_cols = ", ".join(["user_id", "created_at", "updated_at", *names])
    placeholders = ", ".join("?" for _ in range(3 + len(names)))
    updates = ", ".join(
        [*(f"{name} = excluded.{name}" for name in names), "updated_at = excluded.updated_at"]
    )
    await db.execute(
        f"INSERT INTO members ({insert_cols}) VALUES ({placeholders}) "
        f"ON CONFLICT (user_id) DO UPDATE SET {updates}",
        (user_id, now, now, *values),
    )


async def insert_rows(tx: Queries, rows: Sequence[Member]) -> None:
    """Write whole members as they are: a population written straight into storage
    (``testkit.population``, the simulated day). Every column a read returns is written, from
    the field of its name, so a column added here reaches that writer too."""
    placeholders = ", ".join("?" for _ in _COLUMN_NAMES)
    await tx.executemany(
        f"INSERT INTO members ({_COLUMNS}) VALUES ({placeholders})",
        [tuple(_sql_value(getattr(member, name)) for name in _COLUMN_NAMES) for member in rows],
    )


async def set_dm_channel(db: Database, user_id: int, channel_id: int | None, now: int) -> None:
    """Cache (or forget) the member's DM channel id so a reminder costs one request."""
    await db.execute(
        "INSERT INTO members (user_id, dm_channel_id, created_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET dm_channel_id = excluded.dm_channel_id",
        (user_id, channel_id, now, now),
    )


async def remember_dm_channel(db: Database, user_id: int, channel_id: int | None, now: int) -> None:
    """Cache (or forget) the DM channel of a member who still has a row, and only then.

    For the engine (the opener ahead, the sender), whose Discord request was under way while
    the member may have run ``/privacy delete``: an upsert would bring a row back for them.
    """
    await db.execute(
        "UPDATE members SET dm_channel_id = ?, updated_at = ? WHERE user_id = ?",
        (channel_id, now, user_id),
    )


async def dm_channels_unknown(db: Database) -> list[int]:
    """Members subscribed by DM whose DM channel is not known, the soonest reminder first.

    They subscribed before channel ids were stored, or opening theirs ahead failed. The
    literal ``'dm'`` lets the partial index ``members_dm_channel_unknown`` answer this.
    """
    rows = await db.fetchall(
        "SELECT m.user_id FROM members m JOIN subscriptions s ON s.user_id = m.user_id "
        f"WHERE m.dm_channel_id IS NULL AND m.delivery = '{DeliveryMode.DM.value}' "
        "AND s.active = 1 "
        "GROUP BY m.user_id ORDER BY MIN(s.next_fire_at), m.user_id"
    )
    return [row["user_id"] for row in rows]


async def set_notice(db: Database, user_id: int, notice: str, now: int) -> None:
    await db.execute(
        "INSERT INTO members (user_id, notice, created_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET notice = excluded.notice",
        (user_id, notice, now, now),
    )


async def pop_notice(db: Database, user_id: int) -> str | None:
    """The pending one-time notice, cleared as it is read (so it is shown once).

    The clearing UPDATE only counts if it still found the notice: of two processes reading
    it at once, the second one's UPDATE waits for the first to commit and then changes nothing.
    """
    async with db.transaction() as tx:
        notice = await tx.fetchval("SELECT notice FROM members WHERE user_id = ?", (user_id,))
        if notice is None:
            return None
        cleared = await tx.execute(
            "UPDATE members SET notice = NULL WHERE user_id = ? AND notice IS NOT NULL", (user_id,)
        )
        return str(notice) if cleared else None


def as_export(member: Member) -> dict[str, object]:
    return {
        "user_id": str(member.user_id),
        "timezone": member.timezone,
        "wake": member.wake.strftime("%H:%M"),
        "bed": member.bed.strftime("%H:%M"),
        "delivery": member.delivery,
        "home_guild_id": str(member.home_guild_id) if member.home_guild_id else None,
        "paused_until": member.paused_until,
        "dm_channel_id": str(member.dm_channel_id) if member.dm_channel_id else None,
        "pending_notice": member.notice,
    }
