"""The reminder engine: dispatcher + sender + services over the database, started and stopped
as one.

The bot creates it in ``setup_hook`` (after migrations and content) and stops it on
shutdown; cogs only ever talk to ``engine.service`` (a member's reminders) and
``engine.server_config`` (a server's settings). What the sender posts is rendered beside it
(:class:`~bot.reminders.messages.MessageRenderer`); which server channel it posts to, and
what a broken one means, is decided by :class:`~bot.server_config.ServerConfig`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.reminders.dispatcher import APSchedulerWaker, Dispatcher, Waker
from bot.reminders.messages import MessageRenderer
from bot.reminders.pacing import SlotPacer
from bot.reminders.sender import Sender, utc_now
from bot.reminders.service import ReminderService
from bot.reminders.transport import DiscordTransport
from bot.server_config import ServerConfig
from content import Content
from storage import ledger
from storage.database import Database, DatabaseUnavailable

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
        rate: float = 45.0,
        pacer: SlotPacer | None = None,
        workers: int = 8,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        retry_for: timedelta = timedelta(minutes=30),
        max_backlog: int = 1000,
        clock_jump: timedelta = timedelta(seconds=90),
    ) -> None:
        """Tests and benchmarks inject ``clock``, ``waker`` (instead of APScheduler), ``pacer``
        and ``sleep``; the other options are the sender's and dispatcher's tuning (see there)."""
        self.db = db
        self.server_config = ServerConfig(db, clock=clock, on_change=self._poke)
        self.sender = Sender(
            db,
            transport,
            MessageRenderer(db, content),
            pacer or SlotPacer(rate),
            self.server_config,
            workers=workers,
            clock=clock,
            sleep=sleep,
            retry_for=retry_for,
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
        )

    def _poke(self) -> None:
        self.dispatcher.poke()

    async def start(self) -> None:
        """Start sending, recover what a crash left in flight, and plan the first wake-up."""
        if self.scheduler is not None and not self.scheduler.running:
            self.scheduler.start()
        await self.sender.start()
        await self.dispatcher.start()
        log.info("reminder engine started; next wake-up %s", self.dispatcher.next_wake)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish (up to ``grace_seconds``), stop the scheduler."""
        await self.dispatcher.stop()
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
