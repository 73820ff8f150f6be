"""Many members due in the same minute: set up through the bot's own service code, shared by
the burst, PostgreSQL and several-processes tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.subscriptions import Subscriptions
from storage.database import Database
from storage.members import set_dm_channel
from testkit.emulator import Driver
from testkit.emulator.state import User

MINUTE = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # when all of them are due


async def seed_subscribers(database_url: str, members: list[User], driver: Driver) -> None:
    """Set-up through the bot's own service code, before it starts (150 slash commands would
    take ~8 s): each member subscribed to stretching at 09:00 UTC in DMs an hour ago, and,
    having had reminders before, their DM channel is known (cached), as on any ordinary day.
    """
    db = await Database.open(database_url)
    try:
        await db.migrate()
        an_hour_ago = MINUTE - timedelta(hours=1)
        subscriptions = Subscriptions(db, clock=lambda: an_hour_ago)
        for member in members:
            await subscriptions.start(member.id, None, "stretching", "9:00", None, "UTC")
            dm = driver.dm_channel(member)
            await set_dm_channel(db, member.id, dm.id, int(an_hour_ago.timestamp()))
    finally:
        await db.close()
