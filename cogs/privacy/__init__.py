"""Privacy: ``/privacy export`` and ``/privacy delete``."""

from __future__ import annotations

from discord.ext import commands

from cogs.privacy._cog import Privacy, PrivacyButton
from cogs.steady import steady


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(PrivacyButton)
    await bot.add_cog(Privacy(steady(bot)))
