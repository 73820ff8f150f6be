"""Members' DM channels, known before their first reminder is due, so it costs one request.

A reminder by DM is one ``POST /channels/{dm}/messages`` only when the bot already knows the
id of the member's DM channel; otherwise it first has to open it (``POST
/users/@me/channels``), and a thousand new members due in the same minute would cost two
thousand requests at the worst moment. So the id is learnt early:

* from any interaction in the member's DM with the bot: its payload carries the channel
  (``MemberSettings.learn_dm_channel`` and ``Subscriptions.start(dm_channel_id=…)``), no request at all;
* for a member who subscribes from a server, by opening the channel right then, in the
  background: :class:`DmChannelOpener`, one at a time, each open paced by the request
  limiter like any request, long before the reminder is due;
* for a member who subscribes (or chooses DMs) on the web dashboard, the same way, by the
  opener of the process that served the page: the bot's own for the dashboard inside the
  bot, and in the web process (``python -m bot dashboard``) one of its own over plain REST
  (:class:`~services.engine.rest_dms.RestDms`), paced by the token's shared schedule like
  the web's other requests. Why there and not in the bot processes that hear the web's
  ``NOTIFY``: a page is served by exactly one process, so the channel is opened exactly
  once with nothing to coordinate; every bot process hears the ``NOTIFY``, which names no
  member, and electing one of them per member would take a payload and a claim in the
  database;
* for members who subscribed before channel ids were stored (or whose open ahead failed),
  by the bot's opener at start-up, the soonest reminder first, once the bot is running —
  in one process of a deployment only, the one with shard 0 (``sweep_at_start``; not the
  web process): two processes sweeping the same database in the same order would open
  each channel twice. With that process down, the others still open these channels, when
  the reminder is due.

If that open fails (Discord down, the member's account gone) nothing is lost: the sender
opens the channel when the reminder is due, as it does when Discord says a known channel is
gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from domain.errors import DatabaseUnavailable
from services.engine.transport import OpensDms, TransportError
from storage import members
from storage.database import Database

log = logging.getLogger(__name__)


class DmChannelOpener:
    def __init__(
        self,
        db: Database,
        transport: OpensDms,
        clock: Callable[[], datetime],
        *,
        sweep_at_start: bool = True,
    ) -> None:
        """``sweep_at_start``: when started, look for every subscribed DM member whose channel
        is unknown (:meth:`queue_unknown`) — the bot processes' job, not the web's."""
        self.db = db
        self.transport = transport
        self.clock = clock
        self.sweep_at_start = sweep_at_start
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def open_soon(self, user_id: int) -> None:
        """Open the member's DM channel in the background (once, however often asked)."""
        if user_id not in self._queued:
            self._queued.add(user_id)
            self._queue.put_nowait(user_id)

    async def start(self) -> None:
        """Run in the background; start-up does not wait for the query or any open."""
        self._task = asyncio.create_task(self._run(), name="dm-channel-opener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run_pending(self) -> None:
        """Open every queued channel now, in this task (tests and tools)."""
        while not self._queue.empty():
            await self._open(self._queue.get_nowait())

    async def queue_unknown(self) -> int:
        """Queue every subscribed DM member whose channel is not known; returns how many."""
        try:
            user_ids = await members.dm_channels_unknown(self.db)
        except DatabaseUnavailable as error:
            # Each is opened when their reminder is due instead (two requests then).
            log.info("could not look for DM channels to open ahead: %r", error)
            return 0
        for user_id in user_ids:
            self.open_soon(user_id)
        if user_ids:
            log.info("opening %d members' DM channels ahead of their reminders", len(user_ids))
        return len(user_ids)

    async def _run(self) -> None:
        if self.sweep_at_start:
            await self.queue_unknown()
        while True:
            await self._open(await self._queue.get())

    async def _open(self, user_id: int) -> None:
        self._queued.discard(user_id)
        try:
            member = await members.get(self.db, user_id)
            if member is None or member.dm_channel_id is not None:
                return  # erased meanwhile, or learnt from a DM interaction
            channel_id = await self.transport.open_dm(user_id)
            await members.remember_dm_channel(
                self.db, user_id, channel_id, int(self.clock().timestamp())
            )
        except (TransportError, DatabaseUnavailable) as error:
            # The sender opens it when the reminder is due instead.
            log.info("could not open the DM channel of %s ahead: %r", user_id, error)
