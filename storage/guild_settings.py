"""Per-server settings (``guild_settings`` table): the reminder channel and channel problems.

The daily tip's channel, time and zone live on its subscription row (``storage.reminders``);
this table only remembers whether its last post failed.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass

from storage.database import Database, record


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    reminder_channel_id: int | None = None
    reminder_channel_problem: str | None = None
    daily_tip_problem: str | None = None


def _now() -> int:
    return int(_time.time())


async def get(db: Database, guild_id: int) -> GuildSettings:
    row = await db.fetchone(
        "SELECT guild_id, reminder_channel_id, reminder_channel_problem, daily_tip_problem "
        "FROM guild_settings WHERE guild_id = ?",
        (guild_id,),
    )
    return record(GuildSettings, row) if row else GuildSettings(guild_id=guild_id)


async def configured_guilds(db: Database) -> list[int]:
    """Every server with a setting or a daily tip stored."""
    rows = await db.fetchall(
        "SELECT guild_id FROM guild_settings UNION "
        "SELECT guild_id FROM subscriptions WHERE user_id IS NULL AND guild_id IS NOT NULL"
    )
    return [row["guild_id"] for row in rows]


async def reminder_channel(db: Database, guild_id: int) -> int | None:
    value = await db.fetchval(
        "SELECT reminder_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
    )
    return None if value is None else int(value)


async def set_reminder_channel(db: Database, guild_id: int, channel_id: int) -> None:
    await db.execute(
        "INSERT INTO guild_settings (guild_id, reminder_channel_id, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET reminder_channel_id = excluded.reminder_channel_id, "
        "reminder_channel_problem = NULL, updated_at = excluded.updated_at",
        (guild_id, channel_id, _now()),
    )


async def clear_reminder_channel(db: Database, guild_id: int) -> bool:
    """No reminder channel for the server any more; returns whether one was set."""
    changed = await db.execute(
        "UPDATE guild_settings SET reminder_channel_id = NULL, reminder_channel_problem = NULL, "
        "updated_at = ? WHERE guild_id = ? AND reminder_channel_id IS NOT NULL",
        (_now(), guild_id),
    )
    return changed > 0


async def set_daily_tip_problem(db: Database, guild_id: int, problem: str | None) -> None:
    await db.execute(
        "INSERT INTO guild_settings (guild_id, daily_tip_problem, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET daily_tip_problem = excluded.daily_tip_problem, "
        "updated_at = excluded.updated_at",
        (guild_id, problem, _now()),
    )


async def set_reminder_channel_problem(db: Database, guild_id: int, problem: str | None) -> None:
    await db.execute(
        "UPDATE guild_settings SET reminder_channel_problem = ?, updated_at = ? WHERE guild_id = ?",
        (problem, _now(), guild_id),
    )


async def forget_reminder_channel(db: Database, channel_id: int) -> list[int]:
    """A channel was deleted: clear the reminder-channel settings naming it; returns the servers."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT guild_id FROM guild_settings WHERE reminder_channel_id = ?", (channel_id,)
        )
        guilds = [row["guild_id"] for row in rows]
        await tx.execute(
            "UPDATE guild_settings SET reminder_channel_id = NULL, reminder_channel_problem = NULL, "
            "updated_at = ? WHERE reminder_channel_id = ?",
            (_now(), channel_id),
        )
    return guilds


async def forget_guild(db: Database, guild_id: int) -> None:
    """The bot was removed from the server: its settings go."""
    await db.execute("DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,))
