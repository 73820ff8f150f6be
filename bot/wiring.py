"""How the reminder engine is plugged into the bot: what it renders and whom it tells.

Kept apart from the bot class so the same wiring can be built in tests and benchmarks.
"""

from __future__ import annotations

import logging

from bot.reminders.engine import ReminderEngine
from bot.reminders.schedule import ReminderKind, zone_or_utc
from bot.reminders.sender import Occurrence
from bot.reminders.transport import DiscordTransport
from cogs.reminders._render import daily_tip_payload, reminder_payload
from cogs.reminders._views import reminder_buttons
from content import Content
from storage import guild_settings, reminders
from storage.database import Database

log = logging.getLogger(__name__)

CHANNEL_GONE = "channel deleted"


async def tip_day(db: Database, occurrence: Occurrence) -> int:
    """The daily tip's place in the rotation: the local date it is posted on.

    One post a day means consecutive posts fall on consecutive local dates, so stepping
    through the tips by date shows every tip before any repeats, and a resend of the same
    occurrence after a crash picks the same tip. (Counting past posts would stall once old
    ledger rows are pruned.)
    """
    subscription = (
        await reminders.get(db, occurrence.subscription_id) if occurrence.subscription_id else None
    )
    zone = zone_or_utc(subscription.zone if subscription else None)
    return occurrence.scheduled_at.astimezone(zone).date().toordinal()


def make_render(db: Database, content: Content):
    async def render(occurrence: Occurrence) -> dict:
        if occurrence.kind == ReminderKind.DAILY_TIP:
            assert occurrence.guild_id is not None
            return daily_tip_payload(content, await tip_day(db, occurrence), occurrence.guild_id)
        return reminder_payload(content, occurrence, reminder_buttons(occurrence.delivery_id))

    return render


def make_channel_broken_hook(db: Database):
    """A send to a server channel failed for good: clear or flag the setting that named it."""

    async def on_channel_broken(guild_id: int, channel_id: int, reason: str) -> None:
        settings = await guild_settings.get(db, guild_id)
        if settings.reminder_channel_id == channel_id:
            if reason == CHANNEL_GONE:
                await guild_settings.forget_reminder_channel(db, channel_id)
            else:
                await guild_settings.set_reminder_channel_problem(db, guild_id, reason)
        tip = await reminders.for_guild(db, guild_id, ReminderKind.DAILY_TIP.value)
        if tip is not None and tip.channel_id == channel_id:
            # The sender pauses the daily tip; /config show tells the admins why.
            await guild_settings.set_daily_tip_problem(db, guild_id, reason)

    return on_channel_broken


def build_engine(
    db: Database, content: Content, transport: DiscordTransport, **options
) -> ReminderEngine:
    return ReminderEngine(
        db,
        transport,
        make_render(db, content),
        reminder_channel_for=lambda guild_id: guild_settings.reminder_channel(db, guild_id),
        on_channel_broken=make_channel_broken_hook(db),
        **options,
    )
