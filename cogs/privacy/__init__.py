"""Privacy: ``/privacy export`` and ``/privacy delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.privacy._cog import Privacy, PrivacyButton

if TYPE_CHECKING:
    from bot.app import SteadyBot


async def setup(bot: SteadyBot) -> None:
    bot.add_dynamic_items(PrivacyButton)
    await bot.add_cog(Privacy(bot))
