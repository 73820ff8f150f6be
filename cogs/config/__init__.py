"""Server configuration: ``/config …``."""

from cogs.config._cog import Config


async def setup(bot) -> None:
    await bot.add_cog(Config(bot.server_config))
