"""Reminders: ``/remind …`` and the persistent buttons on each reminder."""

from __future__ import annotations

from discord.ext import commands

from cogs.reminders._cog import Reminders
from cogs.reminders._views import ReminderButton
from cogs.steady import steady


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(ReminderButton)
    await bot.add_cog(Reminders(steady(bot)))
