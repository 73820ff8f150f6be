"""The real bot on PostgreSQL (DATABASE_URL=postgresql://…) against the Discord emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from testkit.emulator import Driver
from testkit.pg_server import PostgresServer
from tests.e2e.burst_helpers import MINUTE as BURST_MINUTE
from tests.e2e.burst_helpers import seed_subscribers
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import (
    DONE,
    button_ids,
    kind_stats,
    reminders_for,
    start_bot_at,
    wait_for_reminders,
)

# Every test here runs the bot on a faked clock (testkit.fake_time): timing is what they assert.
pytestmark = pytest.mark.serial

NINE_IN_BERLIN = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # a Tuesday


# postgres_url comes first in each test's arguments: fixtures are torn down in reverse, so
# the bot (start_bot) stops before its database is dropped.


async def test_on_postgresql_a_reminder_arrives_and_done_counts(
    postgres_url: str, driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """A member in Berlin subscribes to hydration at 09:00 shortly before; it arrives, Done
    counts.

    The bot's clock runs only 4× fast, starting 40 s (10 real seconds) before 09:00: its
    timeouts run fast with it, and at 60× its 10-second PostgreSQL connect timeout was 0.17
    real seconds, which a loaded machine missed while the bot opened its pool at start-up.
    """
    bot, clock = await start_bot_at(
        start_bot, NINE_IN_BERLIN - timedelta(seconds=40), speed=4, DATABASE_URL=postgres_url
    )
    member = server.member
    with bot.log_on_failure():
        await driver.slash("remind timezone", user=member, zone="berlin")
        reply = await driver.slash("remind start", user=member, kind="hydration", time="09:00")
        assert "Hydration" in reply.text and "09:00" in reply.text
        assert clock.now() < NINE_IN_BERLIN, "the set-up took too long to test"

        [reminder] = await wait_for_reminders(
            driver, member, within=clock.real_seconds(NINE_IN_BERLIN - clock.now()) + 10
        )
        done = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
        assert "Marked as done" in done.text
        stats = await driver.slash("remind stats", user=member)
        assert "Sent 1 · Done 1 · Snoozed 0" in kind_stats(stats, "Hydration")


async def test_postgresql_restarting_mid_burst_loses_nothing_and_doubles_nothing(
    postgres_url: str, postgres_server: PostgresServer, driver: Driver, start_bot: StartBot
) -> None:
    """60 members are due at 09:00; PostgreSQL is restarted while the bot sends them.

    While it is down, a fact command still answers and a reminder command says to try again
    in a moment. When it is back, the rest go out: every member gets exactly one reminder.
    """
    members = [driver.add_user(f"member{i:02d}") for i in range(60)]
    await seed_subscribers(postgres_url, members, driver)
    guild = driver.add_guild("Twitch Support", members=members[:1])
    asker = members[0]
    bot, _ = await start_bot_at(
        start_bot,
        BURST_MINUTE - timedelta(seconds=2),
        speed=1,
        DATABASE_URL=postgres_url,
        SEND_RATE_PER_S="10",
    )
    with bot.log_on_failure():
        await driver.emulator.wait_until(
            lambda: len(driver.stats.sends) >= 10, within=20, what="10 reminders to go out"
        )
        await asyncio.to_thread(postgres_server.stop)
        try:
            about = await driver.slash("about", user=asker, guild=guild)
            assert "Steady" in about.text or about.embeds, "a fact command stopped answering"
            listing = await driver.slash("remind list", user=asker, guild=guild)
            assert listing.ephemeral and "try again in a moment" in listing.text
            assert sum(1 for m in members if reminders_for(driver, m)) < len(members)
        finally:
            await asyncio.to_thread(postgres_server.start)

        await driver.emulator.wait_until(
            lambda: all(reminders_for(driver, m) for m in members),
            within=30,
            what="every member to get their reminder after the restart",
        )
        assert await bot.terminate() == 0
        per_member = Counter(len(reminders_for(driver, m)) for m in members)
        assert per_member == {1: len(members)}, "a reminder was lost or sent twice"
        assert bot.logged("database unavailable") and "Traceback" not in bot.output
