"""A simulated Discord for the simulated day, in-process, at the engine's
:class:`~services.engine.transport.DiscordTransport` protocol.

:class:`SimDiscord` is Discord's side: it holds every request for a one-way network delay,
counts it in Discord's **fixed one-second windows** (on Discord's clock, which is offset from
the bot's by a random fraction of a second) and refuses one over the token's limit with a
global 429 whose ``retry_after`` runs to the end of the window. It creates one message per
nonce (``enforce_nonce``: a repeated nonce returns the first message) and records when each
arrived. DM channels: ``open_dm`` answers a channel id (the member's id + 1, as the
population caches it).

:class:`PacedTransport` is the bot's side: every request waits for a slot of the real limiter
(:class:`services.ratelimit.SlotPacer`, on the virtual clock) before it goes out, and a
global 429 blocks the limiter until Discord's window is over — what ``limiter_trace`` does to
discord.py's HTTP session in the running bot. The sender then sends the refused request
again, with the same nonce, through the limiter.

Both read the loop's clock, so on :class:`~testkit.virtual_clock.VirtualClockLoop` a round
trip costs virtual time only.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.engine.transport import DiscordTransport, RateLimited
from services.ratelimit import RequestLimiter


@dataclass
class Arrival:
    """A message Discord created: when the request reached it (unix seconds on the engine's
    clock) and where."""

    at: float
    left_at: float  # when the request left the bot (after its limiter slot)
    channel_id: int
    message_id: int


@dataclass
class SimDiscord:
    limit: int = 50  # requests per one-second window, the token's global limit
    one_way_s: float = 0.025  # network delay each way
    jitter_s: float = 0.001  # uniform extra delay each way, 0..jitter_s
    seed: int = 21
    requests: int = 0  # every request that reached Discord, refused ones included
    rate_limited: int = 0  # refused with a global 429
    opened_dms: int = 0
    posts: int = 0  # message POSTs accepted (a repeated nonce included)
    repeated_nonces: int = 0  # POSTs whose nonce had been seen: answered with the first message
    messages: dict[str, Arrival] = field(default_factory=dict)  # nonce -> the message
    windows: Counter[int] = field(default_factory=Counter)  # accepted requests per window
    # The engine's clock in unix seconds (default: the loop's clock).
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        # Discord's clock runs this far ahead of the loop's: windows start mid-second for us.
        self.phase = self._rng.random()
        self._next_id = 1_000_000

    def _now(self) -> float:
        return self.clock() if self.clock is not None else asyncio.get_running_loop().time()

    async def _travel(self) -> None:
        delay = self.one_way_s + (self._rng.random() * self.jitter_s if self.jitter_s else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    def _admit(self) -> float:
        """Count one request arriving now in its window; a global 429 if the window is full."""
        now = self._now()
        self.requests += 1
        discord_now = now + self.phase
        window = math.floor(discord_now)
        if self.windows[window] >= self.limit:
            self.rate_limited += 1
            raise RateLimited(window + 1 - discord_now, is_global=True)
        self.windows[window] += 1
        return now

    async def open_dm(self, user_id: int) -> int:
        await self._travel()
        try:
            self._admit()
            self.opened_dms += 1
        finally:
            await self._travel()
        return user_id + 1

    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        left_at = self._now()
        await self._travel()
        try:
            arrived = self._admit()
            self.posts += 1
            first = self.messages.get(nonce)
            if first is not None:
                self.repeated_nonces += 1
                message_id = first.message_id
            else:
                self._next_id += 1
                message_id = self._next_id
                self.messages[nonce] = Arrival(arrived, left_at, channel_id, message_id)
        finally:
            await self._travel()
        return message_id

    @property
    def busiest_window(self) -> int:
        """The most requests Discord accepted in any one of its one-second windows."""
        return max(self.windows.values(), default=0)


class PacedTransport:
    """The engine's transport: every request through ``limiter`` first, as in the bot."""

    def __init__(self, discord: DiscordTransport, limiter: RequestLimiter) -> None:
        self.discord = discord
        self.limiter = limiter

    async def _paced(self, request: Any) -> int:
        await self.limiter.acquire()
        try:
            result: int = await request()
        except RateLimited as error:
            if error.is_global:
                await self.limiter.global_limited(error.retry_after)
            raise
        return result

    async def open_dm(self, user_id: int) -> int:
        return await self._paced(lambda: self.discord.open_dm(user_id))

    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        return await self._paced(lambda: self.discord.send_message(channel_id, payload, nonce))
