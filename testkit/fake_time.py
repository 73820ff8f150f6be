"""Faked time, one helper for each place a test fakes it.

**Inside the test's process**, code takes its clock as an argument (the services, the engine,
the pacers take a ``Clock``, a ``sleep``, a ``monotonic``): give it a :class:`FakeClock`, which
moves only when the test (or a ``sleep``) moves it.

**A bot process** (``python -m bot``) is faked from the outside with Debian's libfaketime,
preloaded into that process only (:func:`faketime_env`; read it with :class:`BotClock`).

**A whole event loop** whose idle waits take no time (the simulated day runs the real engine
over 24 hours this way) is :class:`testkit.virtual_clock.VirtualClockLoop`.

There the bot believes it is, say, 06:55 on the day New York springs forward, and its clock (wall
*and* monotonic, so asyncio, APScheduler and discord.py's heartbeats stay consistent) runs
``speed`` times faster than real time. The emulator and the test keep the real clock, so
Discord's 3-second interaction deadline and its rate limits are still real.

One library for every such test: the multi-threaded build (``libfaketimeMT.so.1``), because
the bot has threads (discord.py's heartbeat, aiosqlite's connection, asyncio's executor).

A test that runs the bot on this clock must be marked ``serial`` (at 60×, a second spent
waiting for a core is a minute of the bot's time); ``tests/e2e/conftest.py`` refuses to start
it otherwise.
"""

from __future__ import annotations

import asyncio
import glob
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LIBRARY_PATTERNS = (
    "/usr/lib/*/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
    "/usr/local/lib/faketime/libfaketimeMT.so.1",
)
#: Set in a process whose clock this module fakes; how the tests recognise one.
MARK = "FAKETIME"


class FakeClock:
    """Wall clock and monotonic clock in one; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self.now += timedelta(seconds=seconds, **kwargs)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


# --- a bot process: libfaketime --------------------------------------------------------------


class FakeTimeUnavailable(RuntimeError):
    """libfaketime is not installed here; the message says how to get it (tests skip)."""


def library() -> str:
    """The path of libfaketime (multi-threaded build); :class:`FakeTimeUnavailable` without it."""
    if shutil.which("faketime") is None:
        raise FakeTimeUnavailable(
            "needs Debian's faketime (apt-get install faketime) to fake the bot's clock"
        )
    for pattern in LIBRARY_PATTERNS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise FakeTimeUnavailable("faketime is installed but libfaketimeMT.so.1 was not found")


def faketime_env(start: datetime, speed: float) -> dict[str, str]:
    """The environment that makes a process start at ``start`` (aware) and run ``speed``× fast."""
    stamp = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    spec = f"@{stamp}" + (f" x{speed:g}" if speed != 1 else "")
    return {
        "LD_PRELOAD": library(),
        MARK: spec,
        "FAKETIME_DONT_FAKE_MONOTONIC": "0",  # fake monotonic too: asyncio's timers follow
        "FAKETIME_DONT_RESET": "1",
        "TZ": "UTC",  # the "@" instant is read in the process's local zone
    }


@dataclass
class BotClock:
    """What a bot process's faked clock says: ``start`` (UTC) when it was launched, running
    ``speed``× fast. Read it from the test's real clock."""

    start: datetime
    speed: float
    launched: float = field(default_factory=time.monotonic)  # the test's monotonic at launch

    def at(self, real_monotonic: float) -> datetime:
        """The bot's time at a real instant (within ~0.1 s × speed of the process's start-up)."""
        return self.start + timedelta(seconds=(real_monotonic - self.launched) * self.speed)

    def now(self) -> datetime:
        """About what the bot's clock says now."""
        return self.at(time.monotonic())

    def real_seconds(self, fake: timedelta) -> float:
        """How long ``fake`` lasts in real time on this clock."""
        return fake.total_seconds() / self.speed

    def local_minutes_ahead(self, zone: str, minutes: float) -> tuple[str, datetime]:
        """A ``HH:MM`` at least ``minutes`` ahead on the bot's clock in ``zone``, and its instant."""
        local = (self.now() + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))
        local = (local + timedelta(minutes=1)).replace(second=0, microsecond=0)
        return local.strftime("%H:%M"), local.astimezone(UTC)
