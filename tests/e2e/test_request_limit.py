"""Every request the bot makes counts against Discord's global limit, and the bot stays under it.

The emulator records every request authorised by the bot's token (reminder posts, DM channel
opens, command sync, anything: all but interaction callbacks and follow-ups, as at Discord)
and these tests count them per second as Discord does (fixed one-second windows). The bot
runs at its default ``SEND_RATE_PER_S``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testkit.emulator import Driver
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import reminders_for, start_bot_at

# Requests counted per second at the emulator, on a faked clock: rates are what it asserts.
pytestmark = pytest.mark.serial

LIMIT = 50  # Discord's global limit per bot token, which the emulator enforces
MEMBERS = 120  # half subscribe in their DMs with the bot, half in the server
MINUTE = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # when all of them are due


async def test_new_members_reminders_cost_one_request_each_and_no_second_goes_over_the_limit(
    driver: Driver, start_bot: StartBot, server: Server, tmp_path: Path
) -> None:
    """120 new members subscribe to a stretching reminder at 09:00 UTC with ``/remind start``,
    half in their DMs with the bot and half in the server; the bot has never messaged any of
    them. At 09:00 all 120 are due at once, while members keep running ``/remind list``.

    Before 09:00 the bot knows every DM channel (from the DM interactions, or opened right
    after a subscription from the server), so the burst is exactly one request per reminder;
    no second of the whole run has more than 50 requests of the token, none is refused, and
    every member gets exactly one reminder.
    """
    members = [driver.add_user(f"member{i:03d}") for i in range(MEMBERS)]
    in_server = members[: MEMBERS // 2]
    for member in in_server:
        driver.add_member(server.guild, member)
    # The set-up below takes ~7 s (the 60 DM channel opens alone take 6 s at Discord's 10/s):
    # 25 s leaves room for a loaded machine without idling until 09:00.
    bot, clock = await start_bot_at(start_bot, MINUTE - timedelta(seconds=25), speed=1)
    assert driver.stats.dm_channel_creates == 0

    async def subscribe(member) -> None:
        where = {"guild": server.guild} if member in in_server else {}
        reply = await driver.slash(
            "remind start", user=member, kind="stretching", time="9:00", zone="UTC", **where
        )
        assert reply.text.startswith("✅"), reply.text + "\n" + bot.output[-6000:]

    for start in range(0, MEMBERS, 10):  # ten at a time, as busy members do
        await asyncio.gather(*(subscribe(member) for member in members[start : start + 10]))
    await driver.emulator.wait_until(
        lambda: driver.stats.dm_channel_creates >= len(in_server),
        within=20,
        what="the DM channels of the members who subscribed in the server to be opened",
    )
    assert clock.now() < MINUTE - timedelta(seconds=2), "the set-up took too long to test"
    opened_ahead = driver.stats.dm_channel_creates
    before_burst = len(driver.stats.token_requests)

    # The burst, with members using slash commands meanwhile (not counted by Discord).
    # The asker stops when told (not by cancel, which a wait inside it may absorb) and its
    # own failure, e.g. an unanswered /remind list, fails the test.
    burst_over = asyncio.Event()

    async def keep_asking() -> None:
        while not burst_over.is_set():
            await driver.slash("remind list", user=members[0])
            await asyncio.sleep(0.2)

    asker = asyncio.create_task(keep_asking())
    try:
        await driver.emulator.wait_until(
            lambda: all(reminders_for(driver, m) for m in members) or asker.done(),
            within=60,
            what=f"every one of the {MEMBERS} members to get their reminder",
        )
    finally:
        burst_over.set()
        async with asyncio.timeout(15):
            await asyncio.gather(asker, return_exceptions=True)
    await asker  # re-raises what went wrong in it, if anything
    assert all(reminders_for(driver, m) for m in members)
    assert await bot.terminate() == 0

    per_member = Counter(m.username for m in members for _ in reminders_for(driver, m))
    assert all(per_member[m.username] == 1 for m in members), per_member
    burst = driver.stats.token_requests[before_burst:]
    assert driver.stats.dm_channel_creates == opened_ahead == len(in_server)
    assert len(burst) == MEMBERS, "a due reminder costs one request"
    assert driver.stats.max_token_requests_per_second() <= LIMIT
    assert driver.stats.token_rate_limited == 0, "Discord refused none of the bot's requests"
