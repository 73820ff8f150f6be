"""Where the bot's REST calls and gateway connection go.

discord.py builds every REST URL (webhooks included) from ``discord.http.Route.BASE``. A
non-sharded client never asks ``GET /gateway/bot``: it always dials Discord's public gateway
(``DiscordWebSocket.DEFAULT_GATEWAY``). So when the REST base is not Discord's (a local
emulator, a rate-limit proxy), we ask that base for its gateway URL and point discord.py there;
otherwise a bot aimed at a local endpoint would leak to the internet.
"""

from __future__ import annotations

import logging

import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.settings import Settings

log = logging.getLogger(__name__)


def point_rest_at(base: str) -> None:
    discord.http.Route.BASE = base


async def resolve_gateway(settings: Settings, http: discord.http.HTTPClient) -> str | None:
    """The gateway URL to use, or ``None`` for discord.py's default (Discord itself)."""
    if settings.discord_gateway_url:
        return settings.discord_gateway_url
    if not settings.api_base_is_custom:
        return None
    _shards, url, _limits = await http.get_bot_gateway()
    return url


def point_gateway_at(url: str) -> None:
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    log.info("gateway: %s", url)
