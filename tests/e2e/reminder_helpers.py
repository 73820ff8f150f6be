"""Helpers for the reminder and privacy end-to-end tests: the bot on a faked clock, and
short ways to read what a member sees (their reminder DMs, the buttons on them).

The faked clock is :mod:`testkit.fake_time` (libfaketime, in the bot process only); a test
that uses :func:`start_bot_at` must be marked ``serial`` (the ``start_bot`` fixture refuses
otherwise).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from testkit import fake_time
from testkit.bot_process import BotProcess
from testkit.emulator import Driver, Reply
from testkit.emulator.driver import message_text
from testkit.emulator.state import Message, User
from testkit.fake_time import BotClock, FakeTimeUnavailable
from tests.e2e.conftest import StartBot

DONE, SNOOZE, STOP = "done", "snooze", "stop"


def faketime_env(start: datetime, speed: float) -> dict[str, str]:
    """:func:`testkit.fake_time.faketime_env`, or skip the test when libfaketime is missing."""
    try:
        return fake_time.faketime_env(start, speed)
    except FakeTimeUnavailable as why:
        pytest.skip(str(why))


async def start_bot_at(
    start_bot: StartBot, start: datetime, *, speed: float = 60, **env: str
) -> tuple[BotProcess, BotClock]:
    """Start (or restart, same database) the bot with its clock at ``start``, ``speed``× fast."""
    fake_env = faketime_env(start, speed)
    clock = BotClock(start, speed)  # launched now, just before the process
    process = await start_bot(**fake_env, **env)
    return process, clock


def local_time_ahead(clock: BotClock, zone: str, minutes: int = 2) -> datetime:
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
    "BotClock",
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
