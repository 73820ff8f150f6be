"""Server configuration: ``/config …``."""

from __future__ import annotations

from discord.ext import commands

from cogs.config._cog import Config
from cogs.steady import steady


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Config(steady(bot).guild_config))
