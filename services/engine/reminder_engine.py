"""The reminder engine: the dispatcher, the sender and the DM-channel opener, started and
stopped as one.

The composition root (:mod:`bot.compose`) builds the parts and hands them in; this only runs
them in order. What the sender posts is rendered beside it
(:class:`~services.engine.messages.MessageRenderer`); which server channel it posts to, and
what a broken one means, is decided by :class:`~services.guild_config.GuildConfig`.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.errors import DatabaseUnavailable
from services.engine.dispatcher import Dispatcher
from services.engine.dm_channels import DmChannelOpener
from services.engine.sender import Sender
from storage import ledger
from storage.database import Database

log = logging.getLogger(__name__)


class ReminderEngine:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        dispatcher: Dispatcher,
        dm_channels: DmChannelOpener,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        """``scheduler``: the APScheduler the dispatcher's waker uses, if it is one (tests and
        benchmarks wake the dispatcher themselves)."""
        self.db = db
        self.sender = sender
        self.dispatcher = dispatcher
        self.dm_channels = dm_channels
        self.scheduler = scheduler

    async def start(self) -> None:
        """Start sending, recover what a crash left in flight, and plan the first wake-up."""
        if self.scheduler is not None and not self.scheduler.running:
            self.scheduler.start()
        await self.sender.start()
        await self.dm_channels.start()
        await self.dispatcher.start()
        log.info("reminder engine started; next wake-up %s", self.dispatcher.next_wake)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish (up to ``grace_seconds``), stop the scheduler."""
        await self.dispatcher.stop()
        await self.dm_channels.stop()
        await self.sender.stop(grace_seconds)
        try:
            # What is still queued here goes to the other processes now, not after the lease.
            released = await ledger.release(self.db, self.sender.claimant)
        except DatabaseUnavailable:
            released = 0
        if released:
            log.info("released %d queued reminder occurrences to the other processes", released)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler applies the shutdown on the next loop turn
