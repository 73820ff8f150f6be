"""Server configuration: ``/config …``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.config._cog import Config

if TYPE_CHECKING:
    from bot.app import SteadyBot


async def setup(bot: SteadyBot) -> None:
    await bot.add_cog(Config(bot.server_config))
