"""One send rate for every process of the bot token, shared through PostgreSQL.

Discord's global limit (about 50 requests/s) is per bot token, not per process. Splitting
``SEND_RATE_PER_S`` into fixed 1/N shares would waste the share of a process that has
nothing to send — or that died. Instead every process takes its slots from one schedule in
the database (storage/send_rate.py, a GCRA "theoretical arrival time" row): slots are
``1/rate`` apart whoever uses them, so the token's combined requests follow the same
drift-free schedule one process would (bot/ratelimit.py), and a process that stops
asking simply stops taking slots.

Slots are reserved in small blocks (``block_s`` = 0.1 s of slots, 4-5 at 45/s), so a busy
process costs the database about ten tiny UPDATEs a second, and at most one block is
wasted when a process stops in the middle of one (or dies: its slots lapse 0.1 s later).

If the database cannot be reached, the process keeps pacing on its own at the full rate for
that block: the other processes cannot claim or record sends without it either, so they
are not sending meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from bot.ratelimit import DEFAULT_MARGIN, SlotPacer
from storage import send_rate
from storage.database import Database

log = logging.getLogger(__name__)

Reserve = Callable[[Database, int, float], Awaitable[tuple[float, float]]]
Hold = Callable[[Database, float], Awaitable[None]]


class SharedSlotPacer(SlotPacer):
    """A :class:`SlotPacer` whose schedule is the one row all processes share."""

    def __init__(
        self,
        db: Database,
        rate: float,
        *,
        block_s: float = 0.1,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        reserve: Reserve = send_rate.reserve,
        hold: Hold = send_rate.hold_until,
    ) -> None:
        super().__init__(rate, 1.0, margin=margin, clock=clock, sleep=sleep)
        self.db = db
        self.block = max(1, round(self.paced_rate * block_s))
        self._reserve = reserve
        self._hold = hold
        self._slots: deque[float] = deque()  # reserved slots on this process's clock
        self._holds: set[asyncio.Task[None]] = set()
        self._degraded = False
        self._last_given = float("-inf")

    async def _earliest_slot(self, now: float) -> float:
        while self._slots and self._slots[0] < now - self.interval:
            # Missed by more than one interval (a stall): using it now would crowd the next
            # process's slot. Let it lapse.
            self._slots.popleft()
        if not self._slots:
            await self._refill()
        return self._slots[0]

    def _take(self, slot: float) -> None:
        self._last_given = self._slots.popleft()

    async def _refill(self) -> None:
        before = self._clock()
        try:
            first, db_now = await self._reserve(self.db, self.block, self.interval)
        except Exception as error:
            if not self._degraded:
                log.warning(
                    "shared send rate unavailable (%s); pacing this process alone",
                    error.__class__.__name__,
                )
                self._degraded = True
            start = max(self._clock(), self._last_given + self.interval)
        else:
            if self._degraded:
                log.info("shared send rate available again")
                self._degraded = False
            # The database's "now" is about the middle of the round trip on our clock.
            start = (before + self._clock()) / 2 + (first - db_now)
        self._slots.extend(start + i * self.interval for i in range(self.block))

    def block_for(self, seconds: float) -> None:
        """Discord refused with a global 429: nobody — in any process — sends until it ends."""
        seconds = max(0.0, seconds)
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._slots.clear()
        task = asyncio.get_running_loop().create_task(self._hold_shared(seconds))
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

    async def _hold_shared(self, seconds: float) -> None:
        try:
            await self._hold(self.db, seconds)
        except Exception as error:
            log.warning("could not pause the shared send rate: %s", error.__class__.__name__)


def pacer_for(db: Database, rate: float) -> SlotPacer:
    """The shared schedule when several processes may share the database, else a local one."""
    return SharedSlotPacer(db, rate) if db.shared else SlotPacer(rate)
