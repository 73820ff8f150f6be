"""Many members due in the same minute, and a crash in the middle of sending them.

Discord allows about 50 requests a second per bot (the emulator enforces 50/s, plus 10 DM
channel creations a second). A burst is queued and sent as fast as the limit
allows, without losing any reminder and without sending any twice, even across a kill -9.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from testkit.emulator import Driver
from tests.e2e.burst_helpers import MINUTE, seed_subscribers
from tests.e2e.conftest import StartBot
from tests.e2e.reminder_helpers import reminders_for, start_bot_at

# A burst paced at the emulator's limit, on a faked clock: request rates are what it asserts.
pytestmark = pytest.mark.serial

MEMBERS = 150


async def test_a_burst_of_reminders_survives_a_kill_9_with_no_duplicates(
    driver: Driver, start_bot: StartBot, tmp_path: Path
) -> None:
    """150 members have a stretching reminder at 09:00 UTC; the bot starts at 08:59:58.

    At 09:00 they are all due at once; the bot is killed (kill -9) while it is sending them
    and restarted on the same database. In the end every member has exactly one reminder in
    their DMs, each cost one request (cached DM channels), the bot never went over the 50/s
    global limit, and fewer than 1% of its requests during the burst got a 429.

    The bot's clock is faked, at real speed, so that 09:00 comes right after it starts.
    """
    members = [driver.add_user(f"member{i:03d}") for i in range(MEMBERS)]
    # start_bot's database
    await seed_subscribers(f"sqlite:///{tmp_path / 'steady.sqlite3'}", members, driver)

    bot, clock = await start_bot_at(start_bot, MINUTE - timedelta(seconds=2), speed=1)
    await driver.emulator.wait_until(
        lambda: len(driver.stats.sends) >= MEMBERS // 3,
        within=20,
        what=f"{MEMBERS // 3} reminders to go out",
    )
    await bot.kill()  # mid-burst: some sends in flight, the rest queued or not yet claimed
    assert sum(1 for m in members if reminders_for(driver, m)) < MEMBERS, "killed too late"

    bot, _ = await start_bot_at(start_bot, clock.now(), speed=1)  # same clock, same database
    await driver.emulator.wait_until(
        lambda: all(reminders_for(driver, m) for m in members),
        within=30,
        what=f"every one of the {MEMBERS} members to get their reminder",
    )
    assert await bot.terminate() == 0  # in-flight sends finish; nothing can arrive after this

    per_member = Counter(m.username for m in members for _ in reminders_for(driver, m))
    wrong = {m.username: per_member[m.username] for m in members if per_member[m.username] != 1}
    assert not wrong, f"members without exactly one reminder: {wrong}"
    assert driver.stats.dm_channel_creates == 0, "a cached DM channel was opened again"
    # Discord's verdict: its fixed one-second windows of the token's requests. (A sliding
    # count of sends at the emulator read 57 once on a loaded machine while nothing was
    # refused: after the restart the emulator's handlers ran late and stamped a bunch.)
    assert driver.stats.max_token_requests_per_second() <= 50
    requests, limited = driver.stats.requests, driver.stats.rate_limited
    assert limited < 0.01 * requests, f"{limited} of {requests} requests got 429"
