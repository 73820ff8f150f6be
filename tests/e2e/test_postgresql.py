"""The real bot on PostgreSQL (DATABASE_URL=postgresql://…) against the Discord emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import (
    DONE,
    button_ids,
    kind_stats,
    local_time_ahead,
    start_bot_at,
    wait_for_reminders,
)
from tests.emulator import Driver

BERLIN = "Europe/Berlin"
A_TUESDAY = datetime(2026, 3, 10, 7, 55, tzinfo=UTC)


async def test_on_postgresql_a_reminder_arrives_and_done_counts(
    driver: Driver, start_bot: StartBot, server: Server, postgres_url: str
) -> None:
    _, clock = await start_bot_at(start_bot, A_TUESDAY, speed=60, DATABASE_URL=postgres_url)
    member = server.member
    await driver.slash("remind timezone", user=member, zone="berlin")
    at = local_time_ahead(clock, BERLIN, minutes=2)
    reply = await driver.slash("remind start", user=member, kind="hydration", time=f"{at:%H:%M}")
    assert "Hydration" in reply.text and f"{at:%H:%M}" in reply.text

    [reminder] = await wait_for_reminders(
        driver, member, within=clock.real_seconds(timedelta(minutes=3)) + 10
    )
    done = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
    assert "Marked as done" in done.text
    stats = await driver.slash("remind stats", user=member)
    assert "Sent 1 · Done 1 · Snoozed 0" in kind_stats(stats, "Hydration")
