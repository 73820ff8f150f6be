"""Fixtures shared by every layer: the Discord emulator and the throwaway PostgreSQL (both from
:mod:`testkit`).

``scripts/test`` runs the suite in two passes: most tests on two pytest-xdist workers at once,
then the tests marked ``serial`` alone. A test is ``serial`` only by its marker
(``@pytest.mark.serial``, or ``pytestmark`` for a module): one whose assertions are about timing
(request rates, lateness, a bot on a faked clock). The ``start_bot`` fixture
(``tests/e2e/conftest.py``) refuses to start a bot on a faked clock in a test without it. Each
worker is its own process, so session fixtures (the PostgreSQL cluster) exist once per worker.
"""

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from storage.database import Database
from testkit.emulator import Driver, Emulator
from testkit.pg_server import PostgresServer, start_or_skip_reason


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole run (see testkit/pg_server.py)."""
    server, reason = start_or_skip_reason()
    if server is None:
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.remove()


_databases = iter(range(1, 1_000_000))


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database on the throwaway server; dropped after the test."""
    name = f"t{next(_databases)}"
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    yield postgres_server.url(name)
    try:
        admin = await asyncpg.connect(postgres_server.url())
    except (OSError, asyncpg.PostgresError):
        return  # a test stopped the server for good; it is removed at the end anyway
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The same test on both backends: a SQLite file, or a fresh PostgreSQL database.

    A module or folder whose tests need only one backend overrides this fixture with its own
    ``database_url`` (e.g. a SQLite file in ``tmp_path``); :func:`db` follows it.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/steady.sqlite3"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The migrated database at ``database_url``, as the bot opens it; closed after the test."""
    database = await Database.open(database_url)
    await database.migrate()
    yield database
    await database.close()
