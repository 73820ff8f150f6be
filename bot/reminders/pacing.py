"""The pacer shared by every request the reminder sender makes.

Discord allows about 50 requests per second per bot, counted (as far as a client can tell)
in fixed one-second windows on Discord's clock, which the bot cannot see. The only schedule
that never puts more than ``rate`` requests into *any* one-second window is one whose
requests are at least ``1/rate`` apart — and the only one that also *sustains* ``rate`` is
one that does not lose time when a waiter wakes up late. So this is a fixed schedule of
slots, not a token bucket refilled from the moment a waiter happened to wake:

* Slots are ``1 / (rate × (1 − margin))`` apart. The small ``margin`` (0.2 % by default)
  absorbs network jitter: 50 slots at 49.9/s span 0.982 s, so the 51st request reaches
  the server 2 ms after a window that opened with the 1st one ended even if the 1st was
  that much slower on the way.
* Drift-free: a waiter that wakes late (event loop busy, timer overshoot) takes its slot
  late, and the next slot stays where the schedule put it, so oversleeping does not lower
  the rate. This was where the rate went: ``asyncio.sleep`` wakes ~0.8 ms late on average,
  and a burst-1 token bucket threw that away on every send (47.8/s instead of 50/s).
* Bounded catch-up: a waiter up to ``burst`` slot intervals behind the schedule stays on
  it (the missed slots are made up back to back: at most ``burst`` extra requests in a
  one-second window); further behind — a long stall, or nobody was waiting — the schedule
  restarts at the present, so an idle pacer never saves slots up for a burst.
* Waiters are served in arrival order, and :meth:`block_for` (a global 429) hands out
  nothing until Discord's window is over and restarts the schedule there.

It reads a monotonic clock: pacing must not jump when the wall clock does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEFAULT_MARGIN = 0.002
# Waits shorter than this count as done: a fake clock with microsecond resolution (tests)
# could otherwise land a hair before the slot and spin.
_EPSILON = 1e-6


class SlotPacer:
    """A drift-free schedule of request slots."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1 or not 0 <= margin < 1:
            raise ValueError("rate must be > 0, burst >= 1 and 0 <= margin < 1")
        self.rate = rate
        self.burst = burst
        self.margin = margin
        self.interval = 1.0 / (rate * (1.0 - margin))
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None  # the next free slot; None: idle, the first goes now
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def paced_rate(self) -> float:
        """Requests per second actually scheduled (``rate`` less the margin)."""
        return 1.0 / self.interval

    async def acquire(self) -> None:
        """Wait for the next slot (first come, first served)."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until - _EPSILON:
                    await self._sleep(self._blocked_until - now)
                    continue
                slot = await self._earliest_slot(now)
                if slot <= now + _EPSILON:
                    self._take(slot)
                    return
                await self._sleep(slot - now)

    async def _earliest_slot(self, now: float) -> float:
        """The next slot this process may use (a subclass may draw it from elsewhere)."""
        slot = self._next
        if slot is None or slot < now - self.burst * self.interval:
            # Idle, or further behind than we may catch up: restart the schedule here
            # rather than send a burst.
            slot = now
        return slot

    def _take(self, slot: float) -> None:
        self._next = slot + self.interval

    def block_for(self, seconds: float) -> None:
        """Hand out nothing for ``seconds`` (Discord reported a global rate limit), then
        resume the schedule from the end of the block."""
        now = self._clock()
        self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))
        self._next = max(self._next or 0.0, self._blocked_until)

    def yield_slot_to_retry(self, seconds: float) -> None:
        """A request was refused with a global 429 that discord.py retries by itself when the
        window ends: hand out nothing until then, and leave that retry a slot of its own, so
        the window it lands in stays within the limit instead of refusing again."""
        self.block_for(seconds)
        self._next = self._blocked_until + self.interval
