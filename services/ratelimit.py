"""One limiter for every REST request the bot makes, hooked into discord.py's HTTP client.

Discord allows about 50 requests per second per bot token, all REST requests counted,
except interaction callbacks and follow-ups (the interaction's own webhook). So the limiter
is not something each feature remembers to call: :func:`limiter_trace` is an aiohttp trace
on discord.py's HTTP session, and every request that session sends — reminder posts, DM
channel opens, command sync, channel look-ups, anything added later, each retry discord.py
makes on its own — waits for a slot before it goes out. Interaction callbacks and follow-ups
pass straight through, as they do at Discord, so a member waiting on a slash command never
queues behind a burst of reminders. A global 429 (from a request the limiter did not know
about: another process on the token, a clock that disagrees with Discord's) blocks every
slot until Discord's window is over.

:class:`RequestLimiter` is the whole interface — acquire a slot, report a global 429 — so a
limiter shared by several processes of the token (in PostgreSQL) can replace the
process-local :class:`SlotPacer` without touching anything else.

The pacer: Discord counts (as far as a client can tell) in fixed one-second windows on
Discord's clock, which the bot cannot see. The only schedule that never puts more than
``rate`` requests into *any* one-second window is one whose requests are at least ``1/rate``
apart — and the only one that also *sustains* ``rate`` is one that does not lose time when a
waiter wakes up late. So this is a fixed schedule of slots, not a token bucket refilled from
the moment a waiter happened to wake:

* Slots are ``1 / (rate × (1 − margin))`` apart. The small ``margin`` (0.2 % by default)
  absorbs network jitter: 50 slots at 49.9/s span 0.982 s, so the 51st request reaches
  the server 2 ms after a window that opened with the 1st one ended even if the 1st was
  that much slower on the way.
* Drift-free: a waiter that wakes late (event loop busy, timer overshoot) takes its slot
  late, and the next slot stays where the schedule put it, so oversleeping does not lower
  the rate (``asyncio.sleep`` wakes ~0.8 ms late on average; a burst-1 token bucket loses
  that on every request: 47.8/s instead of 50/s).
* Bounded catch-up: a waiter up to ``burst`` slot intervals behind the schedule stays on
  it (the missed slots are made up back to back: at most ``burst`` extra requests in a
  one-second window); further behind — a long stall, or nobody was waiting — the schedule
  restarts at the present, so an idle pacer never saves slots up for a burst. (Making up
  more is no use: a sliding second can hold only ``rate`` requests, so lost slots come
  back only at the margin's pace, 0.1 a second — the last point below holds them.)
* Waiters are served in arrival order, and :meth:`SlotPacer.block_for` (a global 429) hands
  out nothing until Discord's window is over and restarts the schedule there.
* Spaced by when requests really left, too. The schedule alone does not see that a request
  went out late (the event loop was busy when its slot came) or that missed slots were made
  up back to back, so the request ``⌊rate⌋`` grants later could leave less than a second
  after it — and if the late one opened one of Discord's windows, that window gets a 51st
  request (a 429, and a slot lost). So the pacer remembers when its last ``⌊rate⌋`` grants
  really went out and holds the next one until a second (``⌊rate⌋/rate``) and half the
  margin have passed since the oldest. That holds only the request a second after an
  unusually late one, by less than its lateness; the usual wake-up lateness (under a
  millisecond) never reaches it, so the schedule stays drift-free. (On a 10,000 burst a
  third of the 429s were this: docs/benchmarks.md.)

It reads a monotonic clock: pacing must not jump when the wall clock does.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from types import SimpleNamespace
from typing import Protocol

import aiohttp
import yarl

log = logging.getLogger(__name__)

DEFAULT_MARGIN = 0.002
# Waits shorter than this count as done: a fake clock with microsecond resolution (tests)
# could otherwise land a hair before the slot and spin.
_EPSILON = 1e-6
# Interaction callbacks (/interactions/{id}/{token}/callback) and the interaction's webhook
# (follow-ups, edits of the original answer: /webhooks/{application_id}/{token}/…) are not
# bound to the global limit.
_EXEMPT_PATH = re.compile(r"/(interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+)(/|$)")


class RequestLimiter(Protocol):
    """What every REST request of the bot's token goes through."""

    async def acquire(self) -> None:
        """Wait until one more request may go out under the token's global limit."""
        ...

    async def global_limited(self, retry_after: float) -> None:
        """Discord refused a request with a global 429: nothing goes out for ``retry_after``."""
        ...


def is_exempt(url: str | yarl.URL) -> bool:
    """Requests that do not count against the global limit (and the gateway's websocket).

    Only the path decides: discord.py asks for an interaction callback with a query
    (``?with_response=1``)."""
    parsed = yarl.URL(url) if isinstance(url, str) else url
    return parsed.scheme in ("ws", "wss") or _EXEMPT_PATH.search(parsed.path) is not None


def limit_scope(headers: Mapping[str, str]) -> str:
    """Which limit a 429 hit: ``global`` (the token's, every request counted), ``user`` (one
    route's bucket) or ``shared`` (a resource's), as Discord's ``X-RateLimit-Scope`` says.

    The one rule for "is this a global 429", used by the limiter below, the transport's error
    mapping and the 429 counter: Discord marks a global one with ``X-RateLimit-Global: true``
    (an answer may carry that without a scope), and a 429 saying neither is a route's."""
    if str(headers.get("X-RateLimit-Global", "")).lower() == "true":
        return "global"
    return headers.get("X-RateLimit-Scope") or "user"


def is_global_limit(headers: Mapping[str, str]) -> bool:
    """Whether a 429 with these headers stops every request of the token."""
    return limit_scope(headers) == "global"


def limiter_trace(
    limiter: RequestLimiter, trace: aiohttp.TraceConfig | None = None
) -> aiohttp.TraceConfig:
    """An aiohttp trace that puts every counted request of a session through ``limiter``.

    aiohttp awaits ``on_request_start`` before it opens the connection, once per attempt, so
    discord.py's own retries wait for a slot too.
    """
    trace = trace or aiohttp.TraceConfig()

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if not is_exempt(params.url):
            await limiter.acquire()

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        if response.status != 429 or not is_global_limit(response.headers):
            return
        try:
            retry_after = float((await response.json())["retry_after"])
        except Exception:  # a body without it: fall back on the whole-second header
            retry_after = float(response.headers.get("Retry-After", 1))
        log.warning("global rate limit: nothing goes out for %.2fs", retry_after)
        await limiter.global_limited(retry_after)

    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_request_end)
    return trace


class SlotPacer:
    """The process-local :class:`RequestLimiter`: a drift-free schedule of request slots."""

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
        # When the last ⌊rate⌋ grants really went out, and how far apart the first and the
        # next must be: a second at an integer rate, plus half the margin (see above).
        per_second = max(1, math.floor(rate))
        self._granted: deque[float] = deque(maxlen=per_second)
        self._granted_span = per_second / rate * (1.0 + margin / 2)

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
                ready = max(slot, self._spaced_after())
                if ready <= now + _EPSILON:
                    self._take(slot)
                    self._granted.append(now)
                    return
                await self._sleep(ready - now)

    def _spaced_after(self) -> float:
        """The earliest the next request may leave given when the last ``⌊rate⌋`` left."""
        if len(self._granted) < (self._granted.maxlen or 0):
            return float("-inf")
        return self._granted[0] + self._granted_span

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

    async def global_limited(self, retry_after: float) -> None:
        """Discord's retry (discord.py makes it by itself) waits for a slot like any request."""
        self.block_for(retry_after)
