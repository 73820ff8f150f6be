"""Privacy: ``/privacy export`` and ``/privacy delete``."""

from cogs.privacy._cog import Privacy, PrivacyButton


async def setup(bot) -> None:
    bot.add_dynamic_items(PrivacyButton)
    await bot.add_cog(Privacy(bot))
