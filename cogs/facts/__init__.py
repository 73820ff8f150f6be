"""Fact commands: /nutrient, /foods, /food, /compare, /causes, /tips, /see-a-doctor, /about, /help."""

from __future__ import annotations

from discord.ext import commands

from cogs.facts._cog import Facts


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Facts(bot))


__all__ = ["Facts", "setup"]
