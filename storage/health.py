"""The few read-only queries behind ``/healthz`` and ``/metrics`` (bot/health.py)."""

from __future__ import annotations

import logging

from storage.database import Database

log = logging.getLogger(__name__)


async def reachable(db: Database) -> bool:
    """Whether the database answers a trivial query (never raises)."""
    try:
        async with db.conn.execute("SELECT 1") as cursor:
            await cursor.fetchone()
        return True
    except Exception as error:
        log.warning("database health check failed: %s", error.__class__.__name__)
        return False


async def count_due(db: Database, now: int) -> int:
    """Subscriptions and snoozes due at ``now`` and not claimed yet (the dispatcher's backlog)."""
    async with db.conn.execute(
        "SELECT (SELECT COUNT(*) FROM subscriptions WHERE next_fire_at <= ?)"
        " + (SELECT COUNT(*) FROM snoozes WHERE fire_at <= ?)",
        (now, now),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
