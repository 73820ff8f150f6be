"""End-to-end fixtures: the Discord emulator in this process, the real bot as a subprocess.

Every test that uses them fails at teardown if, during the test, Discord would have refused
a request body (400 50035), the bot called a route the emulator does not know, the bot tried
to reach any host but 127.0.0.1, or the bot did not exit cleanly on SIGTERM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit import fake_time
from testkit.bot_process import READY_LINE, BotProcess, bot_environment
from testkit.emulator import Driver, Emulator
from testkit.emulator.state import Channel, Guild, User
from testkit.ports import PortTaken
from tests.e2e.web_helpers import start_web  # noqa: F401  (the dashboard as its own process)

START_TIMEOUT = 20.0


def wire_problems(emulator: Emulator, netguard_log: Path) -> list[str]:
    """Everything that makes an end-to-end test fail even if its own asserts passed."""
    problems = [f"Discord would reject: {r}" for r in emulator.rejections]
    problems += [
        f"route not emulated (add it to testkit/emulator/rest.py): {r}"
        for r in emulator.unknown_routes
    ]
    problems += [
        f"gateway compression not emulated: {c}" for c in emulator.gateway.refused_compression
    ]
    if netguard_log.exists() and netguard_log.read_text().strip():
        problems.append(f"the bot tried to leave loopback:\n{netguard_log.read_text()}")
    return problems


def assert_wire_clean(emulator: Emulator, netguard_log: Path) -> None:
    problems = wire_problems(emulator, netguard_log)
    assert not problems, "\n".join(problems)


@pytest.fixture
def netguard_log(tmp_path: Path) -> Path:
    return tmp_path / "netguard.log"


StartBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def start_bot(
    request: pytest.FixtureRequest,
    emulator: Emulator,
    driver: Driver,
    tmp_path: Path,
    netguard_log: Path,
) -> AsyncIterator[StartBot]:
    """Start ``python -m bot`` on the emulator and wait until it is ready.

    Call it again (e.g. after a kill) to restart on the same database. Extra environment
    variables go in as keyword arguments: ``await start_bot(DEV_GUILD_ID=str(guild.id))``.
    A bot on a faked clock (:mod:`testkit.fake_time`) starts only in a test marked ``serial``.
    """
    processes: list[BotProcess] = []
    database = tmp_path / "steady.sqlite3"

    async def start(*, wait_ready: bool = True, **extra_env: str) -> BotProcess:
        if fake_time.MARK in extra_env and request.node.get_closest_marker("serial") is None:
            pytest.fail(
                f"{request.node.nodeid} runs the bot on a faked clock: mark it "
                "@pytest.mark.serial (at 60x, a second spent waiting for a core is a minute "
                "of the bot's time, so it must not share the cores; see docs/testing.md)",
                pytrace=False,
            )
        env = bot_environment(
            api_base=emulator.api_base,
            token=emulator.world.token,
            database_path=database,
            netguard_log=netguard_log,
            extra=extra_env,
        )
        readies_before = emulator.gateway.ready_sent
        process = await BotProcess(env, on_output=emulator.notify).start()
        processes.append(process)
        if wait_ready:
            await _wait_ready(emulator, process, readies_before)
        return process

    yield start

    exit_codes = []
    for process in processes:
        if process.running:
            exit_codes.append((process, await process.terminate()))
    for process, code in exit_codes:
        assert code == 0, f"the bot exited with {code} on SIGTERM\n{process.output}"
    assert_wire_clean(emulator, netguard_log)


async def _wait_ready(emulator: Emulator, process: BotProcess, readies_before: int) -> None:
    """Ready = the emulator sent READY to a new session *and* the bot logged its ready line."""

    def ready_or_dead() -> bool:
        if not process.running:
            return True
        return emulator.gateway.ready_sent > readies_before and process.logged(READY_LINE)

    try:
        await emulator.wait_until(ready_or_dead, within=START_TIMEOUT, what="the bot to be ready")
    except AssertionError:
        raise AssertionError(
            f"the bot did not get ready in {START_TIMEOUT}s:\n{process.output}"
        ) from None
    if not process.running:
        if process.port_was_taken:  # another process took the port: on_a_free_port_async retries
            raise PortTaken(process.output)
        raise AssertionError(
            f"the bot exited with {process.returncode} during start-up:\n{process.output}"
        )


@dataclass
class Server:
    """A typical community: an owner (admin), a member, and #general."""

    guild: Guild
    general: Channel
    owner: User
    member: User


@pytest.fixture
def server(driver: Driver) -> Server:
    owner = driver.add_user("olivia")
    member = driver.add_user("max")
    guild = driver.add_guild("Twitch Support", owner=owner, members=[member])
    return Server(guild=guild, general=driver.channel(guild, "general"), owner=owner, member=member)


@pytest.fixture
async def bot(start_bot: StartBot, server: Server) -> BotProcess:
    """The bot, started and ready, in a server with members (see :class:`Server`)."""
    return await start_bot()
