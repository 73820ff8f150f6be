"""Autocomplete callbacks shared by several commands' options."""

from __future__ import annotations

import discord
from discord import app_commands

from content import limits
from domain.zones import suggest_zones


async def zone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """IANA zone names for what the member typed so far ("berlin" → Europe/Berlin)."""
    query = current[: limits.MAX_QUERY]
    return [
        app_commands.Choice(name=zone, value=zone)
        for zone in suggest_zones(query, limit=limits.AUTOCOMPLETE_CHOICES)
    ]
