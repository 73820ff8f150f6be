"""Reminders: ``/remind …`` and the persistent buttons on each reminder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.reminders._cog import Reminders
from cogs.reminders._views import ReminderButton

if TYPE_CHECKING:
    from bot.app import SteadyBot


async def setup(bot: SteadyBot) -> None:
    bot.add_dynamic_items(ReminderButton)
    await bot.add_cog(Reminders(bot))
