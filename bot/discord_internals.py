"""Every place Steady reaches past discord.py's documented API, in one module.

discord.py documents the client, the models and ``app_commands``; ``discord.http`` and
``discord.gateway`` are internal to it. Steady writes three of their class attributes, below,
each with why. tests/unit/test_discord_internals.py checks each one's *effect* on the pinned
discord.py (assigning a class attribute never fails, even when discord.py no longer reads
it), so an upgrade that drops or reinterprets one fails there, not in production.

A new hook goes here, with its reason and its test, or not at all. docs/architecture.md
("discord.py internals") lists these and the ones Steady chose to do without.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route


def set_rest_base(base: str) -> None:
    """Send every REST request (webhooks and interaction answers included) to ``base``.

    Why: a local emulator or a rate-limit proxy in front of Discord. discord.py has no option
    for it; it builds each request's URL from ``Route.BASE`` when the route is made."""
    Route.BASE = base


def set_default_gateway(url: str) -> None:
    """Dial ``url`` wherever discord.py would dial Discord's public gateway.

    Why: a non-sharded client never asks ``GET /gateway/bot``; it connects, and reconnects
    after an invalid session, to ``DiscordWebSocket.DEFAULT_GATEWAY``. There is no option to
    pass a gateway URL, so a bot aimed at a local REST base would otherwise leak to the
    internet (bot/gateway.py decides when)."""
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


_prune_every_new_bucket = HTTPClient._try_clear_expired_ratelimits


def _prune_when_doubled(http: HTTPClient) -> None:
    """discord.py's own pruning of idle buckets, once the count has doubled since it last ran."""
    if len(http._buckets) < http.__dict__.get("_steady_prune_at", 0):
        return
    _prune_every_new_bucket(http)
    http.__dict__["_steady_prune_at"] = 2 * len(http._buckets)


def prune_buckets_when_doubled() -> None:
    """Prune discord.py's per-route rate-limit buckets at amortised cost, not at every new one.

    Why: discord.py keeps a bucket per route and channel, and each new bucket makes it scan
    every bucket for one idle 5 minutes (``_try_clear_expired_ratelimits``). Every reminder
    goes to a channel of its own, so a burst of 10,000 scanned 5,000 buckets a send on
    average, 50 million checks: the bot process used 58 s of CPU for the burst, 31–35 s
    without them (docs/benchmarks.md); a bot sending 50 a second for 5 minutes holds 15,000
    buckets. Scanning when the count has doubled since the last scan does the same pruning
    at a constant cost a bucket, and holds at most twice the live buckets."""
    HTTPClient._try_clear_expired_ratelimits = _prune_when_doubled  # type: ignore[method-assign, assignment]
