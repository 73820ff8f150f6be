"""Fact commands: /nutrient, /foods, /food, /compare, /causes, /tips, /see-a-doctor, /about, /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.facts._cog import Facts
from cogs.facts._views import PageButton

if TYPE_CHECKING:
    from bot.app import SteadyBot


async def setup(bot: SteadyBot) -> None:
    # Page buttons of answers posted before a restart are matched by their custom_id.
    bot.add_dynamic_items(PageButton)
    await bot.add_cog(Facts(bot))


__all__ = ["Facts", "PageButton", "setup"]
