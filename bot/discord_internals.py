"""Every place Steady reaches past discord.py's documented API, in one module.

discord.py documents the client, the models and ``app_commands``; ``discord.http`` and
``discord.gateway`` are internal to it. Steady writes two of their class attributes, below,
each with why. tests/unit/test_discord_internals.py checks each one's *effect* on the pinned
discord.py (assigning a class attribute never fails, even when discord.py no longer reads
it), so an upgrade that drops or reinterprets one fails there, not in production.

A new hook goes here, with its reason and its test, or not at all. docs/architecture.md
("discord.py internals") lists these and the ones Steady chose to do without.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


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
