"""One send rate for every process of the bot token, shared through PostgreSQL.

Discord's global limit (about 50 requests/s) is per bot token, not per process. Splitting
``SEND_RATE_PER_S`` into fixed 1/N shares would waste the share of a process that has
nothing to send — or that died. Instead every process takes its slots from one schedule in
the database (storage/send_rate.py, a GCRA "theoretical arrival time" row): slots are
``1/rate`` apart whoever uses them, so the token's combined requests follow the same
drift-free schedule one process would (services/ratelimit.py), and a process that stops
asking simply stops taking slots.

Slots are reserved in small blocks (``block_s`` = 0.1 s of slots, 4-5 at 45/s), so a busy
process costs the database about ten tiny UPDATEs a second, and at most one block is
wasted when a process stops in the middle of one (or dies: its slots lapse 0.1 s later).

If the database cannot be reached, the process keeps pacing on its own at the full rate for
that block: the other processes cannot claim or record sends without it either, so they
are not sending meanwhile.

Two things keep the processes' requests from bunching at Discord, where a one-second window
holding one request too many answers 429 (measured with three processes at the limit:
0.8 % of requests refused, each refusal wasting the rest of a block; after these: none):

* **The database's clock, read well.** Slots are times on the database's clock; each
  process maps them onto its own by an offset. Taking each round trip's midpoint as
  "the database's now" errs by up to half the round trip, and round trips vary (the row is
  locked by another process's UPDATE, the event loop is busy): slots of two processes
  would land a few milliseconds too close. Like NTP, the offset comes from the fastest
  round trip seen lately (a sample ages by ``OFFSET_AGING`` per second, so a stepped
  database clock is followed within a minute).
* **A wider margin than one process needs** (``SHARED_MARGIN``, 0.75 %, against 0.2 % for
  one process): requests of different processes reach Discord with independent jitter of
  a few milliseconds, and 0.75 % of a second (7.5 ms) absorbs it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from services.ratelimit import SlotPacer
from storage import send_rate
from storage.database import Database, is_postgres

if TYPE_CHECKING:  # only for the types: a bot on SQLite never loads asyncpg
    from storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

Reserve = Callable[["PostgresDatabase", int, float], Awaitable[tuple[float, float]]]
Hold = Callable[["PostgresDatabase", float], Awaitable[None]]

#: The schedule runs this much under ``SEND_RATE_PER_S`` (one process alone: 0.2 %).
SHARED_MARGIN = 0.0075
#: How fast a clock sample's error may grow: 100 µs per second of age, far above the
#: drift of real clocks, so a fresh but slower round trip soon replaces an old fast one.
OFFSET_AGING = 1e-4


class SharedSlotPacer(SlotPacer):
    """A :class:`SlotPacer` whose schedule is the one row all processes share."""

    def __init__(
        self,
        db: PostgresDatabase,
        rate: float,
        *,
        block_s: float = 0.1,
        margin: float = SHARED_MARGIN,
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
        # The database's clock minus ours, from the fastest recent round trip (see above).
        self._offset: float | None = None
        self._offset_error = float("inf")  # half that round trip, when it was taken
        self._offset_taken = 0.0

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
            start = first - self._database_offset(before, self._clock(), db_now)
        self._slots.extend(start + i * self.interval for i in range(self.block))

    def _database_offset(self, before: float, after: float, db_now: float) -> float:
        """The database's clock minus ours: from this round trip, or a faster recent one.

        The database read its clock somewhere between ``before`` and ``after``, so taking the
        midpoint errs by at most half the round trip."""
        error = (after - before) / 2
        aged = self._offset_error + (after - self._offset_taken) * OFFSET_AGING
        if self._offset is None or error <= aged:
            self._offset = db_now - (before + after) / 2
            self._offset_error, self._offset_taken = error, after
        return self._offset

    def block_for(self, seconds: float) -> None:
        """Discord refused with a global 429: nobody — in any process — sends until it ends.

        The slots already reserved are kept: they are ours in the shared schedule, and those
        that fall inside the pause are simply taken late (or lapse after a long one)."""
        seconds = max(0.0, seconds)
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        task = asyncio.get_running_loop().create_task(self._hold_shared(seconds))
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

    async def _hold_shared(self, seconds: float) -> None:
        try:
            await self._hold(self.db, seconds)
        except Exception as error:
            log.warning("could not pause the shared send rate: %s", error.__class__.__name__)


def pacer_for(db: Database, rate: float) -> SlotPacer:
    """The shared schedule when several processes may share the database (PostgreSQL), else
    a local one."""
    return SharedSlotPacer(db, rate) if is_postgres(db) else SlotPacer(rate)
