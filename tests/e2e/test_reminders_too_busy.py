"""More reminders due at once than the bot may send in time: what it cannot send within the
kind's tolerance it skips, says so in ``/remind stats``, and never sends late (issue #21).

The bot is told it may send far fewer requests than it has reminders due
(``SEND_RATE_PER_S``, the capacity its send policy plans against), so a peak of 30
stretching reminders at 09:00 cannot all go out between 08:45 (stretching's ``early``
allowance, 15 min) and 09:20 (its ``late`` tolerance, 20 min).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from testkit.emulator import Driver
from tests.e2e.burst_helpers import MINUTE, seed_subscribers
from tests.e2e.conftest import StartBot
from tests.e2e.reminder_helpers import kind_stats, reminders_for, start_bot_at

# A bot on a faked clock (60× fast): the minutes around the peak are what it asserts.
pytestmark = pytest.mark.serial

MEMBERS = 30
# One request every 100 s of the bot's time: 21 in stretching's 35-minute window, far fewer
# than the 30 due. (Every request of the token is paced by it, the start-up's too.)
SEND_RATE = "0.01"
EARLY, LATE = timedelta(minutes=15), timedelta(minutes=20)


async def test_a_peak_above_capacity_is_partly_skipped_as_too_busy_never_sent_late(
    driver: Driver, start_bot: StartBot, tmp_path: Path
) -> None:
    """30 members have a stretching reminder at 09:00 UTC; the bot may send one request per
    100 s. Each member ends with exactly one outcome: the reminder, sent no earlier than
    08:45 and no later than 09:20, or none — and then ``/remind stats`` tells them it was
    skipped because the bot was too busy (not their miss). The skipped are a minority and
    the rest were sent; Discord never saw the token over its limit."""
    members = [driver.add_user(f"member{i:03d}") for i in range(MEMBERS)]
    await seed_subscribers(f"sqlite:///{tmp_path / 'steady.sqlite3'}", members, driver)
    bot, clock = await start_bot_at(
        start_bot, MINUTE - timedelta(minutes=20), speed=60, SEND_RATE_PER_S=SEND_RATE
    )
    end = MINUTE + LATE + timedelta(minutes=2)
    await driver.emulator.wait_until(
        lambda: clock.now() >= end, within=clock.real_seconds(end - clock.now()) + 30, what="09:22"
    )

    sent = [m for m in members if reminders_for(driver, m)]
    skipped = [m for m in members if not reminders_for(driver, m)]
    assert all(len(reminders_for(driver, m)) == 1 for m in sent), "a reminder went twice"
    assert sent and skipped, f"{len(sent)} sent, {len(skipped)} skipped: the peak was not shed"
    assert len(sent) >= MEMBERS // 3, f"only {len(sent)} sent: capacity left unused"
    # When each reminder reached Discord, on the bot's clock (the emulator stamps real time).
    for at, _channel in driver.stats.sends:
        when = clock.at(at)
        # A minute of slack on the faked clock is a second of the test machine's real time.
        assert (
            MINUTE - EARLY - timedelta(minutes=1) <= when <= MINUTE + LATE + timedelta(minutes=1)
        ), f"a reminder reached Discord at {when:%H:%M:%S}, outside 08:45–09:20"

    for member in skipped[:2]:
        stats = await driver.slash("remind stats", user=member)
        shown = kind_stats(stats, "Stretching")
        assert "Sent 0" in shown and "Skipped: too busy: 1" in shown, shown
        assert "They don't count against you" in stats.text
    stats = await driver.slash("remind stats", user=sent[0])
    assert "Sent 1" in kind_stats(stats, "Stretching")
    assert "too busy" not in stats.text.lower()

    assert await bot.terminate() == 0
    assert "too busy:" in bot.output, "the skips are logged (as one total a minute)"
    assert driver.stats.max_token_requests_per_second() <= 50
    assert driver.stats.token_rate_limited == 0
