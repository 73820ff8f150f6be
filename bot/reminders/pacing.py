"""A token bucket shared by every request the reminder sender makes.

Discord allows about 50 requests per second per bot. The bucket hands out ``rate`` tokens a
second with a small ``burst`` (the most any one-second window can see is ``burst + rate``),
serves waiters in arrival order, and can be blocked for a while when Discord says so (a
global 429). It reads a monotonic clock: pacing must not jump when the wall clock does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Wait for one token (first come, first served)."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await self._sleep(self._blocked_until - now)
                    continue
                self._refill(now)
                # The epsilon and the minimum wait keep float rounding from spinning on
                # waits too small for the clock to register.
                if self._tokens >= 1 - 1e-6:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep(max((1 - self._tokens) / self.rate, 1e-3))

    def block_for(self, seconds: float) -> None:
        """Hand out nothing for ``seconds`` (Discord reported a global rate limit)."""
        now = self._clock()
        self._blocked_until = max(self._blocked_until, now + seconds)
        self._tokens = 0.0
        self._updated = max(self._updated, now)
