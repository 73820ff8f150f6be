"""Fact commands: /nutrient, /foods, /food, /compare, /causes, /tips, /see-a-doctor, /about, /help."""

from __future__ import annotations

from discord.ext import commands

from cogs.facts._cog import Facts
from cogs.facts._views import PageButton
from cogs.steady import steady


async def setup(bot: commands.Bot) -> None:
    # Page buttons of answers posted before a restart are matched by their custom_id.
    bot.add_dynamic_items(PageButton)
    await bot.add_cog(Facts(steady(bot)))


__all__ = ["Facts", "PageButton", "setup"]
