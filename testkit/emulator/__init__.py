"""A local emulation of the parts of Discord's REST API v10 and Gateway v10 Steady uses.

Start an :class:`~testkit.emulator.server.Emulator`, point a discord.py bot at its
``api_base`` (and ``gateway_url``), and drive it with :class:`~testkit.emulator.driver.Driver`.
See ``testkit/emulator/README.md``.
"""

from testkit.emulator.driver import Driver, InteractionFailed, Reply
from testkit.emulator.interactions import ClientRefused
from testkit.emulator.server import Emulator

__all__ = ["ClientRefused", "Driver", "Emulator", "InteractionFailed", "Reply"]
