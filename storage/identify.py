"""IDENTIFY slots shared by every bot process on one PostgreSQL (see bot/shards.py).

Discord lets a bot token IDENTIFY once per 5 seconds per rate-limit key
(``shard_id % max_concurrency``), whichever process sends it. A transaction-scoped advisory
lock per key does it without a table: a process takes the key's lock, IDENTIFYs at once and
keeps the lock ``spacing`` seconds before committing, so the next process blocks on the lock
until the spacing has passed. A process that dies releases its lock with its connection: no
slot is lost for longer than the spacing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a bot on SQLite never loads asyncpg
    from storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

# First half of the two-int advisory lock key: "STDY", a namespace no other Steady lock uses
# (the migration lock is a single bigint key, which PostgreSQL keeps apart from these).
IDENTIFY_LOCK_CLASS = 0x53544459


class AdvisoryIdentifySlots:
    """:class:`bot.shards.IdentifySlots` on PostgreSQL advisory locks (PostgreSQL only: a
    SQLite file has one process, whose shards take turns in memory)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        self._holders: set[asyncio.Task[None]] = set()

    async def reserve(self, key: int, spacing: float) -> float:
        acquired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        holder = asyncio.create_task(self._hold(key, spacing, acquired), name="identify-slot")
        self._holders.add(holder)
        holder.add_done_callback(self._holders.discard)
        await acquired  # the holder keeps the lock for `spacing` more seconds in the background
        return time.time()

    async def _hold(self, key: int, spacing: float, acquired: asyncio.Future[None]) -> None:
        try:
            async with self.db.transaction() as tx:
                await tx.fetchval("SELECT pg_advisory_xact_lock(?, ?)", (IDENTIFY_LOCK_CLASS, key))
                acquired.set_result(None)
                await asyncio.sleep(spacing)
        except Exception as error:
            if not acquired.done():
                acquired.set_exception(error)
            else:  # the slot was used; losing the lock early only shortens the spacing
                log.warning("identify slot %d released early: %s", key, error.__class__.__name__)
        except asyncio.CancelledError:
            if not acquired.done():
                acquired.cancel()
            raise

    async def close(self) -> None:
        """Stop holding slots (shutdown): the connections go back to the pool."""
        for holder in list(self._holders):
            holder.cancel()
        await asyncio.gather(*self._holders, return_exceptions=True)
