"""Fixtures shared by the emulator's own tests and the end-to-end tests."""

from collections.abc import AsyncIterator

import pytest

from tests.emulator import Driver, Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await Emulator().start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def driver(emulator: Emulator) -> Driver:
    return Driver(emulator)
