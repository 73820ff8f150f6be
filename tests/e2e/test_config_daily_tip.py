"""The daily tip and scheduled server posts over time (riding the reminder
engine), with the bot's clock under libfaketime (testkit.fake_time) running 60x fast.

The fake clock only runs inside the bot process; the emulator and its 3 s interaction
deadline keep real time. To get from one day to the next the test stops the bot and starts it
again at a later instant on the same database (as a deploy would), instead of letting a day
pass: at 60x a day is 24 real minutes, and a much faster clock trips discord.py's and aiohttp's
own timeouts (60 s without a gateway message is one real second at 60x already).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms
from testkit.emulator.errors import MISSING_PERMISSIONS
from testkit.emulator.state import Channel, Message
from tests.e2e.config_helpers import (
    ClockedBot,
    config,
    record_message_bodies,
    show,
    show_until,
)
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import discord_timestamp

# The bot's clock runs 60x fast: a second spent waiting for a core is a minute of its time.
pytestmark = pytest.mark.serial

TIP_TITLE = "Today's tip"
PAUSED = "Paused after a failed post"


@pytest.fixture
async def clock(emulator: Emulator, start_bot: StartBot) -> AsyncIterator[ClockedBot]:
    fake = ClockedBot(emulator, start_bot, speed=60)  # start_at skips without libfaketime
    yield fake
    await fake.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def tips_in(driver: Driver, channel: Channel) -> list[Message]:
    return [
        m
        for m in driver.messages_in(channel)
        if TIP_TITLE in (m.embeds or [{}])[0].get("title", "")
    ]


def assert_posted_at(clock: ClockedBot, message: Message, due: datetime) -> None:
    """The post came at its time on the bot's clock: not before, and not minutes late."""
    posted = clock.at(message.created_monotonic)
    assert due - timedelta(seconds=2) <= posted <= due + timedelta(minutes=3), (
        f"due {due:%H:%M:%S}, posted {posted:%H:%M:%S} (bot's clock)"
    )


async def test_the_daily_tip_comes_once_a_day_at_its_local_time_even_when_clocks_spring_forward(
    driver: Driver, emulator: Emulator, server: Server, clock: ClockedBot
) -> None:
    """On Saturday 7 March 2026 the owner asks for a tip at 02:30 New York time in #tips.
    Sunday's 02:30 does not exist (clocks jump from 02:00 to 03:00), so the first tip comes
    at 03:00, once; Monday's comes at 02:30, and it is a different tip."""
    sent = record_message_bodies(emulator)
    guild, owner = server.guild, server.owner
    tips = driver.add_channel(guild, "tips")
    sunday_0300_edt = utc("2026-03-08 07:00")  # 02:30 EST does not exist; 03:00 EDT
    monday_0230_edt = utc("2026-03-09 06:30")

    await clock.start_at(utc("2026-03-07 12:00"))  # Saturday, 07:00 in New York
    reply = await config(
        driver,
        "daily-tip",
        user=owner,
        guild=guild,
        channel=tips,
        time="2:30am",
        timezone="America/New_York",
    )
    assert "at 02:30 (America/New_York)" in reply.text
    assert f"First one {discord_timestamp(sunday_0300_edt)}" in reply.text

    # Sunday, a minute and a half before the jump: the bot is restarted with its clock there.
    await clock.start_at(sunday_0300_edt - timedelta(seconds=90))
    [sunday] = await driver.wait_for_message(tips, within=10)
    assert_posted_at(clock, sunday, sunday_0300_edt)
    assert not sunday.content
    assert sent.by_message_id[sunday.id]["allowed_mentions"] == {"parse": []}  # pings nobody
    await clock.let_pass(90)  # three of the dispatcher's wake-ups
    assert tips_in(driver, tips) == [sunday], "one tip on Sunday, not two"
    settings = await show(driver, user=owner, guild=guild)
    assert f"Next post {discord_timestamp(monday_0230_edt)}" in settings["Daily tip"]

    await clock.start_at(monday_0230_edt - timedelta(seconds=60))
    [_, monday] = await driver.wait_for_message(tips, count=2, within=10)
    assert_posted_at(clock, monday, monday_0230_edt)
    assert monday.embeds[0]["description"] != sunday.embeds[0]["description"], "same tip twice"
    await clock.let_pass(90)
    assert tips_in(driver, tips) == [sunday, monday]
    assert driver.messages_in(server.general) == []  # only in the channel the admin chose


@pytest.mark.parametrize("breakage", ["Send Messages taken away", "Discord answers 403 50013"])
async def test_a_tip_that_cannot_be_posted_is_paused_and_show_says_why(
    driver: Driver, server: Server, clock: ClockedBot, breakage: str
) -> None:
    """The owner schedules the tip a couple of minutes ahead; before it is due the bot loses
    Send Messages in #tips (or Discord refuses the post). No tip appears, ``/config show``
    names the problem and says the tip is paused, the bot still answers commands, and setting
    the tip again clears the warning."""
    guild, owner = server.guild, server.owner
    tips = driver.add_channel(guild, "tips")
    await clock.start_at(utc("2026-03-10 16:00"))
    at, due = clock.local_minutes_ahead("Europe/Berlin", 1)
    await config(
        driver,
        "daily-tip",
        user=owner,
        guild=guild,
        channel=tips,
        time=at,
        timezone="Europe/Berlin",
    )

    if breakage == "Send Messages taken away":
        driver.deny_bot(tips, perms.SEND_MESSAGES)
        problem = "I'm missing **Send Messages**"
    else:
        driver.fail_next_with(f"POST /channels/{tips.id}/messages", MISSING_PERMISSIONS)
        problem = "The last post there failed: missing permission"

    settings = await show_until(
        driver, lambda s: PAUSED in s["Daily tip"], user=owner, guild=guild, within=10
    )
    assert problem in settings["Daily tip"], settings
    assert "Next post" not in settings["Daily tip"]
    assert clock.now() >= due - timedelta(seconds=2), "paused before it was even due"
    assert tips_in(driver, tips) == []

    answer = await driver.slash("nutrient", user=server.member, guild=guild, name="magnesium")
    assert "Magnesium" in answer.embed["title"]  # the rest of the bot keeps working

    if breakage == "Send Messages taken away":
        driver.set_overwrite(tips, driver.bot_role(guild))  # an admin gives it back
    await config(
        driver,
        "daily-tip",
        user=owner,
        guild=guild,
        channel=tips,
        time=at,
        timezone="Europe/Berlin",
    )
    settings = await show(driver, user=owner, guild=guild)
    assert "⚠️" not in settings["Daily tip"] and "Next post" in settings["Daily tip"]


async def test_a_scheduled_reminder_for_a_member_with_closed_dms_goes_to_the_reminder_channel(
    driver: Driver, emulator: Emulator, server: Server, clock: ClockedBot
) -> None:
    """Max starts a stretching reminder in the server, then closes his DMs. At its time it
    is posted in #reminders with his mention (pinging only him), and it stays on for
    tomorrow rather than being paused."""
    sent = record_message_bodies(emulator)
    guild, member = server.guild, server.member
    reminders = driver.add_channel(guild, "reminders")
    await clock.start_at(utc("2026-03-10 19:00"))
    await config(driver, "reminder-channel", user=server.owner, guild=guild, channel=reminders)
    at, due = clock.local_minutes_ahead("Europe/Berlin", 1)
    await driver.slash(
        "remind start", user=member, guild=guild, kind="stretching", time=at, zone="berlin"
    )
    driver.close_dms(member)

    [reminder] = await driver.wait_for_message(reminders, within=10)
    assert_posted_at(clock, reminder, due)
    assert reminder.content.startswith(f"<@{member.id}>")
    assert "stretch" in reminder.embeds[0]["title"].lower()
    assert sent.by_message_id[reminder.id]["allowed_mentions"] == {
        "parse": [],
        "users": [str(member.id)],
    }
    assert driver.dm_messages(member) == []
    listing = await driver.slash("remind list", user=member, guild=guild)
    assert "paused" not in listing.text.lower() and "next:" in listing.text
