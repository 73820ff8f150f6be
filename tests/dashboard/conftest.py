"""Fixtures for the dashboard's route tests (see rig.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot.compose import Services, build_services
from dashboard.app import Dashboard
from testkit.emulator import Driver, Emulator
from testkit.fake_time import FakeClock
from tests.dashboard.rig import client_for, make_dashboard
from tests.reminder_rig import T0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def database_url(tmp_path) -> str:
    """The route tests need one backend: a SQLite file (``db`` in tests/conftest.py opens it)."""
    return f"sqlite:///{tmp_path}/t.sqlite3"


@pytest.fixture
def services(db, clock: FakeClock) -> Services:
    """The services the pages are handed, built as the bot builds them (without an engine)."""
    return build_services(db, clock=clock)


@pytest.fixture
def guild_config(services: Services):
    return services.guild_config


@pytest.fixture
def dashboard(emulator: Emulator, services: Services, clock: FakeClock) -> Dashboard:
    return make_dashboard(emulator, services, clock)


NewClient = Callable[[], Awaitable[TestClient]]


@pytest.fixture
async def new_client(dashboard: Dashboard) -> AsyncIterator[NewClient]:
    """A new browser (its own cookie jar) on the same dashboard."""
    clients: list[TestClient] = []

    async def make() -> TestClient:
        client = await client_for(dashboard)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(new_client: NewClient) -> TestClient:
    return await new_client()


@pytest.fixture
def alice(driver: Driver):
    return driver.add_user("alice")


@pytest.fixture
def bob(driver: Driver):
    return driver.add_user("bob")
