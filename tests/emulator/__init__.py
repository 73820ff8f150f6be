"""A local emulation of the parts of Discord's REST API v10 and Gateway v10 Steady uses.

Start an :class:`~tests.emulator.server.Emulator`, point a discord.py bot at its
``api_base`` (and ``gateway_url``), and drive it with :class:`~tests.emulator.driver.Driver`.
See ``tests/emulator/README.md``.
"""

from tests.emulator.driver import Driver, InteractionFailed, Reply
from tests.emulator.interactions import ClientRefused
from tests.emulator.server import Emulator

__all__ = ["ClientRefused", "Driver", "Emulator", "InteractionFailed", "Reply"]
