"""When reminders fire: across daylight-saving changes and after downtime.

The bot runs on a faked clock (see ``reminder_helpers``): for the daylight-saving changes at
real speed from a few seconds before the instant under test (then restarted just before the
instant that must pass quietly), for downtime fast; the emulator and the test keep real time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from testkit.bot_process import BotProcess
from testkit.emulator import Driver
from testkit.emulator.state import User
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import (
    BotClock,
    discord_timestamp,
    kind_stats,
    reminders_for,
    start_bot_at,
    title,
    wait_for_reminders,
)

# Every test here runs the bot on a faked clock (testkit.fake_time): timing is what they assert.
pytestmark = pytest.mark.serial

STRETCH = "🧘 Time to stretch before bed"
# The DST tests run the bot at real speed, started this long before the instant under test:
# start-up and one command, on a loaded machine. A sped-up clock shrinks the bot's own
# timeouts with it (at 600x discord.py's 60 s gateway wait is 0.1 real seconds) and turns
# a slow start-up into an hour of its time: such runs failed their start-up under load.
LEAD = timedelta(seconds=12)


async def let_fake_time_pass_until(clock: BotClock, moment: datetime) -> None:
    """Nothing to wait for but the bot's clock: sleep until it reads ``moment``."""
    await asyncio.sleep(max(0.0, clock.real_seconds(moment - clock.now())))


async def subscribe_before(
    driver: Driver, clock: BotClock, member: User, at: datetime, **options: str
) -> str:
    """``/remind start`` stretching; the reply names ``at``, still ahead on the bot's clock."""
    reply = await driver.slash("remind start", user=member, kind="stretching", **options)
    assert discord_timestamp(at) in reply.text, reply.text
    assert clock.now() < at, "the set-up took too long to test"
    return reply.text


async def assert_fires_once_at(driver: Driver, member: User, clock: BotClock, at: datetime) -> None:
    """Exactly one reminder, at ``at``."""
    [reminder] = await wait_for_reminders(
        driver, member, within=clock.real_seconds(at - clock.now()) + 10
    )
    arrived = clock.now()
    assert at - timedelta(seconds=30) <= arrived <= at + timedelta(minutes=10), arrived
    assert title(reminder) == STRETCH


async def assert_nothing_more_at(
    start_bot: StartBot, driver: Driver, bot: BotProcess, member: User, moment: datetime
) -> None:
    """The bot is restarted (same database) just before ``moment`` and watches it pass:
    nothing more arrives. Were the reminder (wrongly) due then, a restart that came up late
    would still send it, as a catch-up."""
    before = reminders_for(driver, member)
    assert await bot.terminate() == 0
    _, clock = await start_bot_at(start_bot, moment - timedelta(seconds=2), speed=1)
    # 3 s past the moment, and past the start-up (a late one sends a catch-up right away).
    await let_fake_time_pass_until(clock, max(moment, clock.now()) + timedelta(seconds=3))
    assert reminders_for(driver, member) == before, "it fired again"


async def test_a_time_skipped_by_spring_forward_fires_once_when_the_clocks_jump(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """New York, Sunday 8 March 2026: at 02:00 EST the clocks jump to 03:00 EDT, so 02:30
    does not exist. A member with a stretching reminder at 2:30am gets it once, at 03:00 EDT
    (07:00 UTC), and nothing more that morning (not at 03:30 EDT, say); the next is Monday's.
    """
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    bot, clock = await start_bot_at(start_bot, jump - LEAD, speed=1)
    member = server.member
    reply = await subscribe_before(driver, clock, member, jump, time="2:30am", zone="new york")
    assert "America/New_York" in reply

    await assert_fires_once_at(driver, member, clock, jump)
    listing = await driver.slash("remind list", user=member)
    assert "next: Mon 09 Mar 02:30" in listing.text, listing.text
    await assert_nothing_more_at(start_bot, driver, bot, member, jump + timedelta(minutes=30))


async def test_a_time_repeated_by_fall_back_fires_once(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """New York, Sunday 1 November 2026: at 02:00 EDT the clocks go back to 01:00 EST, so
    01:30 happens twice (05:30 and 06:30 UTC). A member with a stretching reminder at 1:30am
    gets exactly one, at the first 01:30, and not a second an hour later.
    """
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    bot, clock = await start_bot_at(start_bot, first - LEAD, speed=1)
    member = server.member
    await subscribe_before(driver, clock, member, first, time="1:30am", zone="America/New_York")

    await assert_fires_once_at(driver, member, clock, first)
    listing = await driver.slash("remind list", user=member)
    assert "next: Mon 02 Nov 01:30" in listing.text, listing.text
    await assert_nothing_more_at(start_bot, driver, bot, member, first + timedelta(hours=1))


async def test_downtime_catch_up_within_grace_once_and_older_ones_skipped(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """A member in Berlin has hourly hydration (08:00 … 22:00), stretching at 21:00 and the
    caffeine cut-off at 21:30. The bot is down from 19:45 to 22:20 Berlin time.

    When it comes back the member gets exactly two reminders: one hydration catch-up for
    22:00 (20 min late, within the 30 min grace; the missed 20:00 and 21:00 are not sent)
    and the caffeine cut-off (50 min late, within caffeine's 60 min grace). Stretching, 80 min
    late, is skipped. `/remind list` shows all three again for tomorrow.
    """
    evening = datetime(2026, 3, 10, 18, 45, tzinfo=UTC)  # 19:45 in Berlin
    bot, _ = await start_bot_at(start_bot, evening, speed=60)
    member = server.member
    await driver.slash("remind timezone", user=member, zone="berlin")
    await driver.slash("remind start", user=member, kind="hydration", time="8:00", every=1)
    await driver.slash("remind start", user=member, kind="stretching", time="21:00")
    await driver.slash("remind start", user=member, kind="caffeine", time="21:30")
    assert await bot.terminate() == 0  # within the first fake minute: nothing was due yet
    assert reminders_for(driver, member) == []

    back = datetime(2026, 3, 10, 21, 20, tzinfo=UTC)  # 22:20 in Berlin
    _, clock = await start_bot_at(start_bot, back, speed=60)
    await wait_for_reminders(driver, member, count=2, within=10)
    await let_fake_time_pass_until(clock, back + timedelta(minutes=2))
    caught_up = reminders_for(driver, member)
    assert sorted(title(m) for m in caught_up) == [
        "☕ Caffeine cut-off time",
        "💧 Time for a glass of water",
    ]

    listing = await driver.slash("remind list", user=member)
    for line in ("next: Wed 11 Mar 08:00", "next: Wed 11 Mar 21:00", "next: Wed 11 Mar 21:30"):
        assert line in listing.text, listing.text
    stats = await driver.slash("remind stats", user=member)
    assert "Sent 0" in kind_stats(stats, "Stretching")
    assert "Sent 1" in kind_stats(stats, "Hydration") and "Sent 1" in kind_stats(
        stats, "Caffeine cut-off"
    )
