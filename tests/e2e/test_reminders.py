"""Reminders as a member sees them: ``/remind …`` and the buttons on a reminder.

Tests that need a reminder to come due run the bot on a faked clock (see
``reminder_helpers``): it starts at a fixed instant and runs 60–300× fast, so "in two
minutes" or "snooze 30 min" take a second or a few in real time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from testkit.bot_process import BotProcess
from testkit.emulator import Driver
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import (
    DONE,
    SNOOZE,
    STOP,
    button_ids,
    button_labels,
    discord_timestamp,
    kind_stats,
    local_time_ahead,
    reminders_for,
    start_bot_at,
    title,
    wait_for_reminders,
)

BERLIN = "Europe/Berlin"
A_TUESDAY = datetime(2026, 3, 10, 7, 55, tzinfo=UTC)  # 08:55 in Berlin (CET, UTC+1)
NO_REMINDERS = "You have no reminders yet"


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_a_reminder_arrives_at_its_local_time_with_three_buttons_and_done_counts(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """The member sets their zone with "berlin" and starts hydration two minutes from now.

    The bot confirms the time and zone; at that Berlin time a DM arrives: a water reminder with
    Done, Snooze 30 min and Stop. Done answers privately and `/remind stats` counts it.
    """
    _, clock = await start_bot_at(start_bot, A_TUESDAY, speed=60)
    member = server.member

    reply = await driver.slash("remind timezone", user=member, zone="berlin")
    assert reply.ephemeral and BERLIN in reply.text
    at = local_time_ahead(clock, BERLIN, minutes=2)
    reply = await driver.slash("remind start", user=member, kind="hydration", time=f"{at:%H:%M}")
    assert reply.ephemeral
    assert "Hydration" in reply.text and BERLIN in reply.text and f"{at:%H:%M}" in reply.text
    assert discord_timestamp(at) in reply.text, "the next reminder is at that Berlin time"
    assert reminders_for(driver, member) == []

    [reminder] = await wait_for_reminders(
        driver, member, within=clock.real_seconds(timedelta(minutes=3)) + 10
    )
    assert clock.now() >= at - timedelta(seconds=30), "it came early"
    assert title(reminder) == "💧 Time for a glass of water"
    assert reminder.embeds[0]["fields"][0]["name"] == "Tip"
    assert button_labels(reminder) == ["Done", "Snooze 30 min", "Stop"]

    done = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
    assert done.ephemeral and "Marked as done" in done.text
    again = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
    assert "already marked as done" in again.text

    stats = await driver.slash("remind stats", user=member)
    assert stats.ephemeral
    assert "Sent 1 · Done 1 · Snoozed 0" in kind_stats(stats, "Hydration")
    assert "Streak: 1 day" in kind_stats(stats, "Hydration")


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_snooze_brings_one_more_reminder_half_an_hour_later_and_stop_unsubscribes(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """The member gets a stretching reminder and presses Snooze 30 min.

    The bot says when it will remind them again; 30 minutes later exactly one more reminder,
    marked "(snoozed)", arrives (through the already known DM channel: one request). Stop on
    it ends stretching reminders: `/remind list` no longer shows them.
    """
    _, clock = await start_bot_at(start_bot, A_TUESDAY, speed=300)
    member = server.member
    at = local_time_ahead(clock, BERLIN, minutes=3)
    await driver.slash(
        "remind start", user=member, kind="stretching", time=f"{at:%H:%M}", zone="berlin"
    )
    [reminder] = await wait_for_reminders(
        driver, member, within=clock.real_seconds(timedelta(minutes=4)) + 10
    )
    assert title(reminder) == "🧘 Time to stretch before bed"

    snoozed_at = clock.now()
    snooze = await driver.click(reminder, button_ids(reminder)[SNOOZE], user=member)
    assert snooze.ephemeral and "Snoozed" in snooze.text
    said = re.search(r"once more at (\d\d:\d\d)", snooze.text)
    assert said, snooze.text
    local_click = snoozed_at.astimezone(ZoneInfo(BERLIN))
    promised = datetime.combine(local_click.date(), datetime.strptime(said[1], "%H:%M").time())
    minutes = (promised - local_click.replace(tzinfo=None)).total_seconds() / 60
    assert 27 <= minutes <= 33, f"snoozed for {minutes:.1f} min: {snooze.text}"

    first, second = await wait_for_reminders(
        driver, member, count=2, within=clock.real_seconds(timedelta(minutes=32)) + 10
    )
    assert first is reminder
    assert clock.now() - snoozed_at >= timedelta(minutes=29), "the snooze came back early"
    assert title(second) == "🧘 Time to stretch before bed (snoozed)"
    assert button_labels(second) == ["Done", "Snooze 30 min", "Stop"]
    # Subscribed in their DM with the bot: the channel was known, no request opened it.
    assert driver.stats.dm_channel_creates == 0, "the DM channel is known from the DM itself"
    stats = await driver.slash("remind stats", user=member)
    assert "Snoozed 1" in kind_stats(stats, "Stretching")

    stop = await driver.click(second, button_ids(second)[STOP], user=member)
    assert stop.ephemeral and "Stopped: Stretching." in stop.text
    listing = await driver.slash("remind list", user=member)
    assert "Stretching" not in listing.text and NO_REMINDERS in listing.text
    assert len(reminders_for(driver, member)) == 2


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_buttons_on_an_old_reminder_work_after_a_kill_9_and_restart(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """A reminder arrives; the bot crashes (kill -9) and is restarted on the same database.

    The member presses Done on the reminder they got before the crash: it works, counts in
    `/remind stats`, and the restart did not send the reminder a second time.
    """
    bot, clock = await start_bot_at(start_bot, A_TUESDAY, speed=60)
    member = server.member
    at = local_time_ahead(clock, BERLIN, minutes=2)
    await driver.slash("remind start", user=member, kind="sleep", time=f"{at:%H:%M}", zone="berlin")
    [reminder] = await wait_for_reminders(
        driver, member, within=clock.real_seconds(timedelta(minutes=3)) + 10
    )

    await bot.kill()
    assert bot.returncode == -9
    await start_bot_at(start_bot, clock.now(), speed=60)

    done = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
    assert done.ephemeral and "Marked as done" in done.text
    stats = await driver.slash("remind stats", user=member)
    assert "Sent 1 · Done 1" in kind_stats(stats, "Sleep wind-down")
    assert reminders_for(driver, member) == [reminder]


async def test_bad_input_gets_a_private_answer_saying_what_works_and_changes_nothing(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """In #general the member has a stretching reminder at 21:30 in Berlin, then types
    nonsense: a time of 25:99, the zone Mars/Olympus, `every` for sleep, and hostile text.

    Each gets a short answer only they see, saying what is accepted, never echoing the text;
    nothing appears in #general and `/remind list` is exactly as before.
    """
    member, guild = server.member, server.guild
    await driver.slash("remind timezone", user=member, guild=guild, zone="berlin")
    await driver.slash("remind start", user=member, guild=guild, kind="stretching", time="21:30")
    before = (await driver.slash("remind list", user=member, guild=guild)).text
    assert "21:30 (Europe/Berlin)" in before

    attempts = [
        ("remind start", {"kind": "stretching", "time": "25:99"}, "21:30, 9:30pm, 9pm"),
        ("remind timezone", {"zone": "Mars/Olympus"}, "Europe/Berlin"),
        ("remind start", {"kind": "sleep", "every": 2}, "only for hydration"),
        ("remind start", {"kind": "sleep", "time": "@everyone 9pm"}, "21:30, 9:30pm, 9pm"),
        ("remind start", {"kind": "hydration", "time": "'; DROP TABLE x;--"}, "21:30, 9:30pm"),
        ("remind timezone", {"zone": "<@&1> **Mars** @here"}, "America/New_York"),
        ("remind schedule", {"wake": "7:00", "bed": "7am"}, "must be different"),
    ]
    for command, options, accepted in attempts:
        reply = await driver.slash(command, user=member, guild=guild, **options)
        shown = f"/{command} {options} -> {reply.text!r}"
        assert reply.ephemeral, shown
        assert accepted in reply.text, shown
        assert "@everyone" not in reply.text and "@here" not in reply.text, shown
        assert "DROP TABLE" not in reply.text and "**Mars**" not in reply.text, shown
        assert "Sorry, something went wrong" not in reply.text, shown

    assert driver.messages_in(server.general) == [], "nothing public"
    assert (await driver.slash("remind list", user=member, guild=guild)).text == before


async def test_start_without_a_time_zone_asks_for_one(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """A member who never set a zone types `/remind start hydration`: the bot asks for a zone
    (the option or `/remind timezone`) and subscribes nothing; with `zone:berlin` it works."""
    member = server.member
    reply = await driver.slash("remind start", user=member, kind="hydration")
    assert reply.ephemeral and "time zone" in reply.text and "/remind timezone" in reply.text
    listing = await driver.slash("remind list", user=member)
    assert NO_REMINDERS in listing.text and "not set" in listing.text

    reply = await driver.slash("remind start", user=member, kind="hydration", zone="berlin")
    assert "Hydration" in reply.text and BERLIN in reply.text
    listing = await driver.slash("remind list", user=member)
    assert "08:00, 10:00, 12:00, 14:00, 16:00, 18:00, 20:00, 22:00" in listing.text


async def test_zone_autocomplete_finds_cities(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """Typing "berlin" or "new york" into the zone option offers the IANA zone first."""
    member = server.member
    berlin = await driver.autocomplete("remind timezone", "zone", "berlin", user=member)
    assert berlin[0] == {"name": BERLIN, "value": BERLIN}
    new_york = await driver.autocomplete(
        "remind start", "zone", "new york", user=member, guild=server.guild, kind="hydration"
    )
    assert new_york[0]["value"] == "America/New_York"
    assert 1 <= len(new_york) <= 25


async def test_remind_test_sends_one_reminder_now(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """`/remind test caffeine` in #general: the bot says it sent a test by DM, and the member's
    DMs have a caffeine reminder marked "(test)" with the three buttons."""
    member = server.member
    reply = await driver.slash("remind test", user=member, guild=server.guild, kind="caffeine")
    assert reply.ephemeral and "Sent a test reminder by DM" in reply.text
    [reminder] = reminders_for(driver, member)
    assert title(reminder) == "☕ Caffeine cut-off time (test)"
    assert button_labels(reminder) == ["Done", "Snooze 30 min", "Stop"]
    assert driver.messages_in(server.general) == []

    # DMs closed, and the server has no reminder channel: said in words, with what to do.
    driver.close_dms(member)
    reply = await driver.slash("remind test", user=member, guild=server.guild, kind="sleep")
    assert reply.ephemeral and "your DMs are closed to me" in reply.text
    assert "`/config reminder-channel`" in reply.text and "dms_closed" not in reply.text


async def test_a_discord_outage_delays_the_reminder_but_sends_it_once(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """Discord answers 503 to the first two sends. The member still gets exactly one test
    reminder a few seconds later, and the bot tells them it was sent."""
    member = server.member
    outage = driver.fail_next("POST /channels/*/messages", status=503, count=2)
    reply = await driver.slash("remind test", user=member, guild=server.guild, kind="hydration")
    await reply.wait_for_followups(1)
    assert outage.hits == 2  # both refusals really happened
    assert "Sent a test reminder by DM" in reply.text
    [reminder] = reminders_for(driver, member)
    assert title(reminder) == "💧 Time for a glass of water (test)"


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_closed_dms_pause_the_reminder_and_the_member_is_told_once(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """The member subscribed in the server, which has no reminder channel, then closed their
    DMs. When the reminder is due nothing reaches them, so it is paused; at their next command
    they are told once, privately, why and what to do. `/remind list` shows it paused, and
    `/remind resume` with DMs open again turns it back on.
    """
    _, clock = await start_bot_at(start_bot, A_TUESDAY, speed=60)
    member, guild = server.member, server.guild
    at = local_time_ahead(clock, BERLIN, minutes=2)
    await driver.slash(
        "remind start", user=member, guild=guild, kind="sleep", time=f"{at:%H:%M}", zone="berlin"
    )
    driver.close_dms(member)
    sends = "POST /channels/{channel_id}/messages"
    await driver.emulator.wait_until(
        lambda: driver.stats.by_route[sends] >= 1,
        within=clock.real_seconds(timedelta(minutes=3)) + 10,
        what="the bot to try the DM",
    )
    assert driver.dm_messages(member) == []

    # The member's next commands (the bot records the failure a moment after Discord's 403).
    replies = []
    for _ in range(20):
        replies.append(await driver.slash("remind list", user=member, guild=guild))
        if "paused: your DMs were closed" in replies[-1].text:
            break
    assert "paused: your DMs were closed" in replies[-1].text, replies[-1].text
    replies.append(await driver.slash("remind stats", user=member, guild=guild))
    notices = await driver.emulator.wait_until(
        lambda: [m for r in replies for m in r.followups], what="the notice"
    )
    replies.append(await driver.slash("remind list", user=member, guild=guild))
    notices = [m for r in replies for m in r.followups]
    assert len(notices) == 1, [m.content for m in notices]
    assert notices[0].ephemeral and "DMs are closed" in notices[0].content
    assert "/remind resume" in notices[0].content
    assert driver.messages_in(server.general) == [], "no reminder or notice in public"

    driver.open_dms(member)
    resumed = await driver.slash("remind resume", user=member, guild=guild)
    assert "back on" in resumed.text and "next:" in resumed.text
    assert not resumed.followups
