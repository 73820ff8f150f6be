"""The few read-only queries behind ``/healthz`` and ``/metrics`` (bot/health.py)."""

from __future__ import annotations

import logging

from storage.database import Database

log = logging.getLogger(__name__)


async def reachable(db: Database) -> bool:
    """Whether the database answers a trivial query (never raises)."""
    try:
        return await db.fetchval("SELECT 1") == 1
    except Exception as error:
        log.warning("database health check failed: %s", error.__class__.__name__)
        return False


async def count_due(db: Database, now: int) -> int:
    """Subscriptions and snoozes due at ``now`` and not claimed yet (the dispatcher's backlog)."""
    due = await db.fetchval(
        "SELECT (SELECT COUNT(*) FROM subscriptions WHERE next_fire_at <= ?)"
        " + (SELECT COUNT(*) FROM snoozes WHERE fire_at <= ?)",
        (now, now),
    )
    return int(due or 0)
