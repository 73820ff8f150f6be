"""Bot-wide key/value state (``bot_state`` table), e.g. the hash of the last synced commands."""

from __future__ import annotations

from storage.database import Database


async def get(db: Database, key: str) -> str | None:
    value = await db.fetchval("SELECT value FROM bot_state WHERE key = ?", (key,))
    return None if value is None else str(value)


async def put(db: Database, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
