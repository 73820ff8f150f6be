"""Reminders: ``/remind …`` and the persistent buttons on each reminder."""

from cogs.reminders._cog import Reminders
from cogs.reminders._views import ReminderButton


async def setup(bot) -> None:
    bot.add_dynamic_items(ReminderButton)
    await bot.add_cog(Reminders(bot))
