"""Fixtures for the emulator's own tests: an emulator, and a tiny discord.py bot on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from testkit.emulator import Driver, Emulator
from tests.emulator_tests.tiny_bot import TinyBot, point_discord_py_at, restore_discord_py


@pytest.fixture
async def tiny(emulator: Emulator, driver: Driver) -> AsyncIterator[TinyBot]:
    """The tiny bot, logged in, connected, its commands synced globally."""
    old = point_discord_py_at(emulator)
    bot = TinyBot()
    try:
        await bot.login(emulator.world.token)
        await bot.tree.sync()
        task = asyncio.create_task(bot.connect(reconnect=True))
        await asyncio.wait_for(bot.ready_event.wait(), timeout=10)
        yield bot
        await bot.close()
        await asyncio.wait_for(task, timeout=10)
    finally:
        if not bot.is_closed():
            await bot.close()
        restore_discord_py(old)
