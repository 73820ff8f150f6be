"""The real bot, ``python -m bot``, as a child process of the test.

Its stderr (the log) is collected line by line so a test can wait for a line and a failure
can show what the bot said. Signals are sent by pid to this process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

REPO_ROOT = Path(__file__).resolve().parents[1]
NETGUARD_DIR = Path(__file__).resolve().parent / "emulator" / "netguard"
#: What the bot logs once its shards are connected and its servers have streamed in.
READY_LINE = "Steady is ready"


class BotProcess:
    #: What follows ``python -m bot`` (a subcommand, e.g. ``dashboard``).
    subcommand: tuple[str, ...] = ()

    def __init__(
        self, env: dict[str, str], *, on_output: Callable[[], None] = lambda: None
    ) -> None:
        self.env = env
        self.lines: list[str] = []
        self._on_output = on_output
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.subcommand,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self._process.stdout)),
            asyncio.create_task(self._read(self._process.stderr)),
        ]
        return self

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._on_output()
        self._on_output()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def logged(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    @property
    def port_was_taken(self) -> bool:
        """It stopped because ``HEALTH_PORT`` or ``DASHBOARD_PORT`` was in use (see
        :mod:`testkit.ports`: the caller may try again on another port)."""
        return any("cannot listen on" in line and "in use" in line for line in self.lines)

    @contextlib.contextmanager
    def log_on_failure(self) -> Iterator[None]:
        """A failed assertion inside carries the bot's log: a flake seen once in CI says why."""
        try:
            yield
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- the bot's log ---\n{self.output}") from error

    async def wait(self, within: float = 15.0) -> int:
        assert self._process is not None
        code = await asyncio.wait_for(self._process.wait(), timeout=within)
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code

    async def terminate(self, within: float = 15.0) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.running:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return await self.wait(within)
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"the bot did not exit within {within}s of SIGTERM\n{self.output}"
            ) from None

    async def kill(self) -> int:
        """SIGKILL: a crash or an OOM kill, no chance to clean up."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)
        return await self.wait()


def bot_environment(
    *,
    api_base: str,
    token: str,
    database_path: Path,
    netguard_log: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The bot's environment: the emulator for Discord, a private DB, the network guard."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "DEV_GUILD", "DATABASE_URL", "CONTENT_DIR"))
    }
    python_path = [str(NETGUARD_DIR), str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    env.update(
        DISCORD_TOKEN=token,
        DISCORD_API_BASE=api_base,
        DATABASE_URL=f"sqlite:///{database_path}",
        LOG_LEVEL="INFO",
        PYTHONPATH=os.pathsep.join(python_path),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        STEADY_TEST_NETGUARD_LOG=str(netguard_log),
    )
    env.update(extra or {})
    return env
