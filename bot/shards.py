"""Sharding: which of the bot's shards this process owns, and pacing IDENTIFYs.

Discord splits a bot's guilds (servers) into ``SHARD_COUNT`` shards, one gateway connection
each: guild ``g`` belongs to shard ``(g >> 22) % SHARD_COUNT``, and everything that has no guild
(DM events and clicks on buttons in DMs) goes to shard 0 only. A process owns the shards in
``SHARD_IDS`` (all of them when it is unset). Nothing a command or a button needs lives in a
process's memory (it is in the database and in the button's ``custom_id``), so whichever
process receives an interaction can answer it; what a process must *not* do is act on guilds
it cannot see, e.g. treat a guild of another process's shard as "left while offline"
(:func:`process_owns_guild`).

Discord allows ``max_concurrency`` IDENTIFYs per 5 seconds for the whole token, one per
rate-limit key ``shard_id % max_concurrency``. Several processes starting together must
share that, so the pacing asks :class:`IdentifySlots` for a slot: a process-local table is
enough while one process owns every shard; a database-backed one (a row or an advisory lock
per key) spans processes.

This module is plain logic (no bot class), so settings can use the parser without a cycle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import discord

log = logging.getLogger(__name__)

#: Discord: each rate-limit key may IDENTIFY once every 5 seconds.
IDENTIFY_SPACING_S = 5.0
#: Kept on top: Discord times IDENTIFYs as they arrive, on its clock. Two IDENTIFYs sent
#: exactly 5 s apart by two processes (different clocks, different connections) can arrive a
#: few milliseconds closer than that, and Discord answers an early one with an invalid session.
IDENTIFY_MARGIN_S = 0.25
#: Discord numbers shards with 16-bit-ish ids in practice; this only stops absurd values.
MAX_SHARD_COUNT = 65_536


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends ``guild_id``'s events to."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str, shard_count: int) -> tuple[int, ...]:
    """``"0,1"``, ``"0-3"`` or ``"0-1,4"`` as sorted shard ids, each below ``shard_count``.

    Raises :class:`ValueError` with a message meant for the person who set ``SHARD_IDS``.
    """
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise ValueError(f"{text!r} has an empty item; write e.g. 0,1 or 0-3")
        low, dash, high = part.partition("-")
        try:
            first, last = (int(low), int(high)) if dash else (int(part), int(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a shard number or a range like 0-3") from None
        if first < 0 or last < first:
            raise ValueError(f"{part!r} is not a range of shard numbers (low-high, from 0)")
        if last >= shard_count:
            raise ValueError(
                f"shard {last} is outside SHARD_COUNT={shard_count} "
                f"(shards are numbered 0-{shard_count - 1})"
            )
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def _ranges(ids: tuple[int, ...]) -> str:
    """``(0, 1, 2, 5)`` -> ``"0-2,5"``."""
    parts: list[str] = []
    start = previous = ids[0]
    for shard_id in (*ids[1:], None):
        if shard_id is not None and shard_id == previous + 1:
            previous = shard_id
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if shard_id is not None:
            start = previous = shard_id
    return ",".join(parts)


@dataclass(frozen=True)
class ShardPlan:
    """The shards this process connects: ``ids`` out of ``count``."""

    count: int
    ids: tuple[int, ...]

    @classmethod
    def from_settings(cls, count: int | None, ids: tuple[int, ...] | None) -> ShardPlan | None:
        """``None`` when sharding is off (no ``SHARD_COUNT``): the bot runs as before."""
        if count is None:
            return None
        return cls(count, ids if ids is not None else tuple(range(count)))

    @property
    def owns_every_shard(self) -> bool:
        return len(self.ids) == self.count

    @property
    def owns_dms(self) -> bool:
        """DMs and DM button clicks reach shard 0 only."""
        return 0 in self.ids

    @property
    def label(self) -> str:
        """For logs: ``shards 0-1/4``."""
        return f"shards {_ranges(self.ids)}/{self.count}"


class IdentifySlots(Protocol):
    """Hands out IDENTIFY slots per rate-limit key, for every process of the bot token.

    ``reserve`` must be atomic across everyone sharing it: it takes the next free slot for
    ``key`` (the later of *now* and the previous slot + ``spacing``) and returns its time as
    ``time.time()`` seconds. It does not wait; the caller sleeps until the slot. A database
    implementation is one row (or one advisory lock) per key, updated in one statement.
    """

    async def reserve(self, key: int, spacing: float) -> float: ...

    async def close(self) -> None:
        """Give back whatever holding slots takes (connections, locks) at shutdown."""


class LocalIdentifySlots:
    """Slots kept in this process: right when one process owns every shard."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._next: dict[int, float] = {}

    async def reserve(self, key: int, spacing: float) -> float:
        now = self._clock()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + spacing
        return slot

    async def close(self) -> None:
        return None


class IdentifyPacer:
    """What ``before_identify_hook`` does: wait for this shard's IDENTIFY slot.

    ``max_concurrency`` comes from ``GET /gateway/bot`` (1 unless Discord raised it for a
    large bot); until it is known, 1 is the safe assumption.
    """

    def __init__(
        self,
        slots: IdentifySlots,
        *,
        max_concurrency: int = 1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.slots = slots
        self.max_concurrency = max(1, max_concurrency)
        self._clock = clock
        self._sleep = sleep

    async def wait_turn(self, shard_id: int) -> float:
        """Return once shard ``shard_id`` may IDENTIFY; the seconds waited, for tests and logs."""
        key = shard_id % self.max_concurrency
        started = self._clock()
        # May block on a lock shared by every process of the token.
        slot = await self.slots.reserve(key, IDENTIFY_SPACING_S + IDENTIFY_MARGIN_S)
        delay = slot - self._clock()
        if delay > 0:
            await self._sleep(delay)
        waited = self._clock() - started
        if waited >= 0.5:
            log.info("shard %d waited %.1fs for its IDENTIFY slot", shard_id, waited)
        return waited


def gateway_refusal(code: int | None, plan: ShardPlan | None) -> str:
    """One line for a gateway close that ends the bot, for the shard-related ones in words."""
    if code == 4011:
        now = f"SHARD_COUNT is {plan.count}" if plan else "SHARD_COUNT is not set"
        return (
            f"Discord requires more shards for this many servers (4011 Sharding required; {now}): "
            "set SHARD_COUNT to at least the 'shards' GET /gateway/bot recommends."
        )
    if code == 4010:
        return "Discord refused the shard (4010 Invalid shard): check SHARD_COUNT and SHARD_IDS."
    return f"Discord closed the gateway connection with code {code}."


def process_owns_guild(client: discord.Client, guild_id: int) -> bool:
    """Whether ``guild_id``'s events come to this process (always, when not sharded).

    The one place the rule is applied: it reads the shards the client actually runs, which
    ``ShardPlan`` handed it (bot/sharded_bot.py)."""
    shard_ids = getattr(client, "shard_ids", None)  # only AutoShardedClient has it
    if not client.shard_count or shard_ids is None:
        return True
    return shard_of(guild_id, client.shard_count) in shard_ids
