"""Where the bot's REST calls and gateway connection go.

When the REST base is not Discord's (a local emulator, a rate-limit proxy), we ask that base
for its gateway URL and point discord.py there too; otherwise a bot aimed at a local endpoint
would still dial Discord's public gateway. discord.py has no options for either, so the
pointing itself is done by bot/discord_internals.py.
"""

from __future__ import annotations

import logging

import discord

from bot import discord_internals
from bot.settings import Settings

log = logging.getLogger(__name__)


def point_rest_at(base: str) -> None:
    discord_internals.set_rest_base(base)


async def resolve_gateway(settings: Settings, http: discord.http.HTTPClient) -> str | None:
    """The gateway URL to use, or ``None`` for discord.py's default (Discord itself)."""
    if settings.discord_gateway_url:
        return settings.discord_gateway_url
    if not settings.api_base_is_custom:
        return None
    _shards, url, _limits = await http.get_bot_gateway()
    return url


def point_gateway_at(url: str) -> None:
    discord_internals.set_default_gateway(url)
    log.info("gateway: %s", url)
