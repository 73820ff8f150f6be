"""Helpers for the reminder and privacy end-to-end tests: a faked clock for the bot, and
short ways to read what a member sees (their reminder DMs, the buttons on them).

The bot's clock is faked with Debian's ``faketime`` library (``apt-get install faketime``),
preloaded into the bot process only: the bot believes it is, say, 06:55 on the day New York
springs forward, and its clock (wall *and* monotonic, so asyncio, APScheduler and
discord.py's heartbeats stay consistent) runs ``speed`` times faster than real time. The
emulator and the test keep the real clock, so Discord's 3-second interaction deadline and
its rate limits are still real.
"""

from __future__ import annotations

import glob
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from testkit.bot_process import BotProcess
from testkit.emulator import Driver, Reply
from testkit.emulator.driver import message_text
from testkit.emulator.state import Message, User
from tests.e2e.conftest import StartBot

DONE, SNOOZE, STOP = "done", "snooze", "stop"


def faketime_library() -> str:
    """The path of libfaketime (multi-threaded build), or skip the test with the reason."""
    if shutil.which("faketime") is None:
        pytest.skip("needs Debian's faketime (apt-get install faketime) to fake the bot's clock")
    for pattern in (
        "/usr/lib/*/faketime/libfaketimeMT.so.1",
        "/usr/lib/faketime/libfaketimeMT.so.1",
        "/usr/local/lib/faketime/libfaketimeMT.so.1",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    pytest.skip("faketime is installed but libfaketimeMT.so.1 was not found")


@dataclass
class FakeClock:
    """The bot process's clock: ``start`` (UTC) when it was launched, running ``speed``× fast."""

    start: datetime
    speed: float
    launched: float  # time.monotonic() of the test process when the bot was launched

    def now(self) -> datetime:
        """About what the bot's clock says now (within ~0.1 s × speed of process start-up)."""
        return self.start + timedelta(seconds=(time.monotonic() - self.launched) * self.speed)

    def real_seconds(self, fake: timedelta) -> float:
        """How long ``fake`` lasts in real time on this clock."""
        return fake.total_seconds() / self.speed


def faketime_env(start: datetime, speed: float) -> dict[str, str]:
    """The environment that makes a process start at ``start`` (aware) and run ``speed``× fast."""
    stamp = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    spec = f"@{stamp}" + (f" x{speed:g}" if speed != 1 else "")
    return {
        "LD_PRELOAD": faketime_library(),
        "FAKETIME": spec,
        "FAKETIME_DONT_FAKE_MONOTONIC": "0",  # fake monotonic too: asyncio's timers follow
        "FAKETIME_DONT_RESET": "1",
        "TZ": "UTC",  # the "@" instant is read in the process's local zone
    }


async def start_bot_at(
    start_bot: StartBot, start: datetime, *, speed: float = 60, **env: str
) -> tuple[BotProcess, FakeClock]:
    """Start (or restart, same database) the bot with its clock at ``start``, ``speed``× fast."""
    fake_env = faketime_env(start, speed)
    launched = time.monotonic()
    process = await start_bot(**fake_env, **env)
    return process, FakeClock(start, speed, launched)


def local_time_ahead(clock: FakeClock, zone: str, minutes: int = 2) -> datetime:
    """A whole local minute in ``zone`` at least ``minutes`` ahead of the bot's clock."""
    soon = (clock.now() + timedelta(minutes=minutes, seconds=59)).replace(second=0, microsecond=0)
    return soon.astimezone(ZoneInfo(zone))


def discord_timestamp(moment: datetime) -> str:
    """How the bot writes an instant for Discord to show relative ("in 2 minutes")."""
    return f"<t:{int(moment.timestamp())}:R>"


# --- reading what a member sees -------------------------------------------------------------


def reminders_for(driver: Driver, user: User) -> list[Message]:
    """The reminders in ``user``'s DMs (messages with the Done/Snooze/Stop buttons)."""
    return [m for m in driver.dm_messages(user) if button_ids(m)]


def button_ids(message: Message) -> dict[str, str]:
    """``{"done": custom_id, "snooze": …, "stop": …}`` of a reminder's buttons."""
    out = {}
    for row in message.components:
        for component in row.get("components", []):
            custom_id = component.get("custom_id") or ""
            if custom_id.startswith("steady:r:"):
                out[custom_id.split(":")[2]] = custom_id
    return out


def button_labels(message: Message) -> list[str]:
    return [
        c.get("label") or ""
        for row in message.components
        for c in row.get("components", [])
        if c.get("type") == 2
    ]


def title(message: Message) -> str:
    return (message.embeds[0].get("title") or "") if message.embeds else ""


async def wait_for_reminders(
    driver: Driver, user: User, count: int = 1, *, within: float = 10.0
) -> list[Message]:
    """Wait until ``user`` has ``count`` reminders in their DMs; returns all of them."""
    await driver.wait_for_message(user, lambda m: bool(button_ids(m)), count=count, within=within)
    return reminders_for(driver, user)


def kind_stats(reply: Reply, kind_name: str) -> str:
    """The line ``/remind stats`` shows for one kind, e.g. "Sent 1 · Done 1 · Snoozed 0"."""
    for field in reply.embed.get("fields") or []:
        if field.get("name") == kind_name:
            return field.get("value") or ""
    raise AssertionError(f"/remind stats has no {kind_name!r}: {reply.text}")


__all__ = [
    "DONE",
    "SNOOZE",
    "STOP",
    "FakeClock",
    "button_ids",
    "button_labels",
    "discord_timestamp",
    "faketime_env",
    "kind_stats",
    "local_time_ahead",
    "message_text",
    "reminders_for",
    "start_bot_at",
    "title",
    "wait_for_reminders",
]
