"""Bot-wide key/value state (``bot_state`` table), e.g. the hash of the last synced commands."""

from __future__ import annotations

from storage.database import Database


async def get(db: Database, key: str) -> str | None:
    async with db.conn.execute("SELECT value FROM bot_state WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def put(db: Database, key: str, value: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
