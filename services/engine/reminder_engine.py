"""The reminder engine: dispatcher + sender + services over the database, started and stopped
as one.

The bot creates it in ``setup_hook`` (after migrations and content) and stops it on
shutdown; cogs only ever talk to ``engine.service`` (a member's reminders) and
``engine.server_config`` (a server's settings). What the sender posts is rendered beside it
(:class:`~services.engine.messages.MessageRenderer`); which server channel it posts to, and
what a broken one means, is decided by :class:`~services.server_config.ServerConfig`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from content import Content
from domain.errors import DatabaseUnavailable
from services.engine.dispatcher import APSchedulerWaker, Dispatcher, Waker
from services.engine.dm_channels import DmChannelOpener
from services.engine.messages import MessageRenderer
from services.engine.sender import Sender, utc_now
from services.engine.transport import DiscordTransport
from services.reminders import ReminderService
from services.server_config import ServerConfig
from storage import ledger
from storage.database import Database

log = logging.getLogger(__name__)


class ReminderEngine:
    def __init__(
        self,
        db: Database,
        content: Content,
        transport: DiscordTransport,
        *,
        clock: Callable[[], datetime] = utc_now,
        waker: Waker | None = None,
        workers: int = 8,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        retry_for: timedelta = timedelta(minutes=30),
        max_backlog: int = 1000,
        clock_jump: timedelta = timedelta(seconds=90),
        lease_s: int = ledger.Claimant.lease_s,
    ) -> None:
        """Tests and benchmarks inject ``clock``, ``waker`` (instead of APScheduler) and
        ``sleep``; the other options are the sender's and dispatcher's tuning (see there),
        and ``lease_s`` how long this process's claims hold unrenewed (``CLAIM_LEASE_S``).
        ``transport`` is already paced: every request it makes goes through the bot's
        request limiter (:mod:`services.ratelimit`)."""
        self.db = db
        self.server_config = ServerConfig(db, clock=clock, on_change=self._poke)
        self.dm_channels = DmChannelOpener(db, transport, clock)
        self.sender = Sender(
            db,
            transport,
            MessageRenderer(db, content),
            self.server_config,
            workers=workers,
            clock=clock,
            sleep=sleep,
            retry_for=retry_for,
            claimant=ledger.Claimant(lease_s=lease_s),
        )
        # Without a waker of its own, the engine runs APScheduler.
        self.scheduler = AsyncIOScheduler(timezone="UTC") if waker is None else None
        self.dispatcher = Dispatcher(
            db, self.sender, clock=clock, max_backlog=max_backlog, clock_jump=clock_jump
        )
        self.dispatcher.waker = waker or APSchedulerWaker(self.scheduler, self.dispatcher.on_wake)
        self.service = ReminderService(
            db,
            clock=clock,
            on_change=self.dispatcher.poke,
            send_now=self.sender.submit,
            reminder_channel_for=self.server_config.reminder_channel,
            claimant=self.sender.claimant,
            open_dm_soon=self.dm_channels.open_soon,
        )

    def _poke(self) -> None:
        self.dispatcher.poke()

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
