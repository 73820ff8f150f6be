"""Tombstones of privacy deletions (``deleted_members``): member ids and when, nothing else.

A backup taken before a member's ``/privacy delete`` still holds their data. ``python -m bot
restore`` deletes it again for every tombstone newer than the backup's moment
(:mod:`storage.backup`), and the scheduled backups prune tombstones older than the oldest
backup they keep, since no kept backup can bring those members back.
"""

from __future__ import annotations

import time

from storage.database import Database, Queries

#: What a member deletion removes, children first (the same list the privacy delete runs).
MEMBER_TABLES = ("snoozes", "deliveries", "subscriptions", "members")


async def record(tx: Queries, user_id: int, at: int | None = None) -> None:
    """Remember that ``user_id`` deleted their data (inside the deletion's transaction)."""
    await tx.execute(
        "INSERT INTO deleted_members (user_id, deleted_at) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET deleted_at = excluded.deleted_at",
        (user_id, int(time.time()) if at is None else at),
    )


async def since(db: Database, moment: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM deleted_members WHERE deleted_at >= ? ORDER BY user_id", (moment,)
    )
    return [int(row["user_id"]) for row in rows]


async def prune(db: Database, before: int) -> int:
    """Forget deletions older than ``before`` (the oldest kept backup's moment)."""
    return await db.execute("DELETE FROM deleted_members WHERE deleted_at < ?", (before,))
