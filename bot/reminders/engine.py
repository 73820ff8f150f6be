"""The reminder engine: storage + dispatcher + sender + service, started and stopped as one.

The bot creates it in ``setup_hook`` (after migrations and content) and stops it on
shutdown; the cog only ever talks to ``engine.service``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.reminders.dispatcher import APSchedulerWaker, Dispatcher, Waker
from bot.reminders.sender import OnChannelBroken, ReminderChannelFor, Render, Sender, utc_now
from bot.reminders.service import ReminderService
from bot.reminders.transport import DiscordTransport
from storage.database import Database

log = logging.getLogger(__name__)


class ReminderEngine:
    def __init__(
        self,
        db: Database,
        transport: DiscordTransport,
        render: Render,
        *,
        reminder_channel_for: ReminderChannelFor | None = None,
        on_channel_broken: OnChannelBroken | None = None,
        scheduler: AsyncIOScheduler | None = None,
        waker: Waker | None = None,
        clock: Callable[[], datetime] = utc_now,
        rate: float = 45.0,
        workers: int = 8,
        max_backlog: int = 1000,
        sender_options: dict[str, Any] | None = None,
        dispatcher_options: dict[str, Any] | None = None,
    ) -> None:
        self.db = db
        self.sender = Sender(
            db,
            transport,
            render,
            reminder_channel_for=reminder_channel_for,
            on_channel_broken=on_channel_broken,
            rate=rate,
            workers=workers,
            clock=clock,
            **(sender_options or {}),
        )
        self._own_scheduler = scheduler is None and waker is None
        self.scheduler = (
            scheduler
            if scheduler is not None
            else (AsyncIOScheduler(timezone="UTC") if waker is None else None)
        )
        self.dispatcher = Dispatcher(
            db, self.sender, clock=clock, max_backlog=max_backlog, **(dispatcher_options or {})
        )
        self.dispatcher.waker = waker or APSchedulerWaker(self.scheduler, self.dispatcher.on_wake)
        self.service = ReminderService(
            db,
            clock=clock,
            on_change=self.dispatcher.poke,
            send_now=self.sender.submit,
            reminder_channel_for=reminder_channel_for,
        )

    async def start(self) -> None:
        """Start sending, recover what a crash left in flight, and plan the first wake-up."""
        if self._own_scheduler and self.scheduler is not None and not self.scheduler.running:
            self.scheduler.start()
        await self.sender.start()
        await self.dispatcher.start()
        log.info("reminder engine started; next wake-up %s", self.dispatcher.next_wake)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish (up to ``grace_seconds``), stop the scheduler."""
        await self.dispatcher.stop()
        await self.sender.stop(grace_seconds)
        if self._own_scheduler and self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler applies the shutdown on the next loop turn
