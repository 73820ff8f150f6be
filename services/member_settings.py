"""A member's own settings: time zone, wake-up time and bedtime, delivery, a pause — what
``/remind timezone|schedule|delivery|pause|resume`` and the dashboard's settings forms do.

Changing one of them moves the fire times of all the member's reminders
(:mod:`services.fire_times`), so each ends with ``on_change``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.clock import Clock, utc_now
from domain.enums import DeliveryMode, PauseReason
from domain.errors import FieldError, UserFacingError, refusing
from domain.schedule import format_times, parse_times, wall_time_to_utc, zone_or_utc
from domain.timeparse import parse_days, parse_time
from domain.zones import resolve_zone
from services.fire_times import next_fire_at, replan, reschedule_member, ts
from services.reminders import (
    MemberView,
    SubscriptionView,
    know_dm_channel,
    subscription_view,
    subscription_views,
)
from storage import members, reminders
from storage.database import Database


def _parse_named_time(field: str, what: str, text: str) -> time:
    """``parse_time``, saying which of two times was not understood."""
    try:
        return parse_time(text)
    except UserFacingError as error:
        message = str(error)
        raise FieldError(field, f"Your {what}: {message[:1].lower()}{message[1:]}") from None


def _parse_schedule(wake_text: str, bed_text: str) -> tuple[time, time]:
    wake = _parse_named_time("wake", "wake-up time", wake_text)
    bed = _parse_named_time("bed", "bedtime", bed_text)
    if wake == bed:
        raise FieldError("bed", "Wake-up time and bedtime must be different.")
    return wake, bed


class NoReminderChannel(UserFacingError):
    """Server delivery asked for a server without a reminder channel. ``str()`` says it in
    Discord's terms (the command to use); a web page says it in its own."""

    def __init__(self, message: str, guild_id: int) -> None:
        super().__init__(message)
        self.guild_id = guild_id


class MemberSettings:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        on_change: Callable[[], None] = lambda: None,
        reminder_channel_for: Callable[[int], Awaitable[int | None]] | None = None,
        open_dm_soon: Callable[[int], None] = lambda user_id: None,
    ) -> None:
        """``reminder_channel_for``: a server's reminder channel (the ``/config`` service's);
        ``open_dm_soon``: open a member's DM channel in the background (the engine's)."""
        self.db = db
        self.clock = clock
        self.on_change = on_change
        self.reminder_channel_for = reminder_channel_for
        self.open_dm_soon = open_dm_soon

    async def settings(self, user_id: int) -> MemberView:
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        paused = (
            datetime.fromtimestamp(member.paused_until, UTC).astimezone(zone)
            if member.paused_until is not None and member.paused_until > ts(self.clock())
            else None
        )
        channel = None
        if (
            member.delivery == DeliveryMode.SERVER
            and member.home_guild_id is not None
            and self.reminder_channel_for is not None
        ):
            channel = await self.reminder_channel_for(member.home_guild_id)
        return MemberView(
            member.timezone,
            member.wake,
            member.bed,
            member.delivery,
            member.home_guild_id,
            paused,
            channel,
        )

    async def set_timezone(self, user_id: int, zone_text: str) -> ZoneInfo:
        """``/remind timezone``: every subscription now fires at its local times in this zone."""
        with refusing("zone"):
            zone = resolve_zone(zone_text)
        now = self.clock()
        await members.update(self.db, user_id, ts(now), timezone=zone.key)
        member = await members.get_or_default(self.db, user_id)
        await reschedule_member(self.db, member, now, zone.key)
        self.on_change()
        return zone

    async def set_schedule(
        self, user_id: int, wake_text: str, bed_text: str
    ) -> list[SubscriptionView]:
        """``/remind schedule``: derived times follow the new wake/bed; custom times stay."""
        wake, bed = _parse_schedule(wake_text, bed_text)
        now = self.clock()
        await members.update(self.db, user_id, ts(now), wake=wake, bed=bed)
        member = await members.get_or_default(self.db, user_id)
        await reschedule_member(self.db, member, now)
        self.on_change()
        return await subscription_views(self.db, user_id)

    async def preview_schedule(
        self, user_id: int, wake_text: str, bed_text: str
    ) -> list[SubscriptionView]:
        """What :meth:`set_schedule` would make of the reminders, without changing anything."""
        wake, bed = _parse_schedule(wake_text, bed_text)
        member = replace(await members.get_or_default(self.db, user_id), wake=wake, bed=bed)
        subs = await reminders.for_member(self.db, user_id)
        return [
            subscription_view(
                replace(p.subscription, times=format_times(p.times), next_fire_at=p.next_fire_at)
            )
            for p in replan(subs, member, self.clock())
        ]

    async def pause(self, user_id: int, days: int | str) -> datetime:
        """``/remind pause days``: nothing until the same local time ``days`` later."""
        with refusing("days"):
            days = parse_days(days)
        now = self.clock()
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        local = now.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
        until = wall_time_to_utc(local, zone)
        await members.update(self.db, user_id, ts(now), paused_until=ts(until))
        paused = replace(member, paused_until=ts(until))
        moves = [
            (sub.id, next_fire_at(parse_times(sub.times), sub.zone, paused, now))
            for sub in await reminders.for_member(self.db, user_id)
            if sub.active
        ]
        await reminders.set_next_fire(self.db, moves, ts(now))
        self.on_change()
        return until.astimezone(zone)

    async def resume(self, user_id: int) -> list[SubscriptionView] | None:
        """``/remind resume``: end a pause, and re-enable reminders paused by closed DMs.

        ``None`` when nothing was paused: then nothing changes.
        """
        now = self.clock()
        member = await members.get_or_default(self.db, user_id)
        subscriptions = await reminders.for_member(self.db, user_id)
        pause_ended = member.paused_until is None or member.paused_until <= ts(now)
        if pause_ended and all(sub.active for sub in subscriptions):
            return None
        await members.update(self.db, user_id, ts(now), paused_until=None)
        resumed = replace(member, paused_until=None)
        moves: list[tuple[int, int]] = []
        reactivate: list[tuple[int, int]] = []
        for sub in subscriptions:
            nxt = next_fire_at(parse_times(sub.times), sub.zone, resumed, now)
            (moves if sub.active else reactivate).append((sub.id, nxt))
        await reminders.set_next_fire(self.db, moves, ts(now))
        await reminders.reactivate(self.db, reactivate, ts(now))
        self.on_change()
        return await subscription_views(self.db, user_id)

    async def set_delivery(self, user_id: int, where: str, guild_id: int | None) -> str:
        """``/remind delivery dm|server``; server = the reminder channel of ``guild_id``."""
        choice = (where or "").strip().lower()
        if choice not in set(DeliveryMode):
            raise FieldError("where", "Delivery is `dm` or `server`.")
        member = await members.get_or_default(self.db, user_id)
        home = guild_id or member.home_guild_id
        if choice == DeliveryMode.SERVER:
            if home is None:
                raise UserFacingError(
                    "Use `/remind delivery server` inside the server whose reminder channel "
                    "should get your reminders."
                )
            if (
                self.reminder_channel_for is not None
                and await self.reminder_channel_for(home) is None
            ):
                # From a DM, "this server" would be the DM: say which server is meant.
                which = (
                    "This server has" if guild_id is not None else "The server you set up in has"
                )
                raise NoReminderChannel(
                    f"{which} no reminder channel yet: an admin can set one with "
                    "`/config reminder-channel`.",
                    home,
                )
        now = self.clock()
        fields: dict[str, object] = {"delivery": choice}
        if guild_id is not None:
            fields["home_guild_id"] = guild_id
        await members.update(self.db, user_id, ts(now), **fields)
        # A member who changes where reminders go has acted on a "DMs closed" pause.
        member = await members.get_or_default(self.db, user_id)
        await know_dm_channel(self.db, member, None, ts(now), self.open_dm_soon)
        reactivate = [
            (sub.id, next_fire_at(parse_times(sub.times), sub.zone, member, now))
            for sub in await reminders.for_member(self.db, user_id)
            if not sub.active and sub.paused_reason == PauseReason.DMS_CLOSED
        ]
        await reminders.reactivate(self.db, reactivate, ts(now))
        self.on_change()
        return choice

    async def learn_dm_channel(self, user_id: int, channel_id: int) -> None:
        """The member used a command or a button in their DM with the bot: that channel is
        where their DM reminders go (no request needed to open it). Only for members the bot
        keeps data about already: nothing is stored for someone who only asked for facts."""
        member = await members.get(self.db, user_id)
        if member is not None and member.dm_channel_id != channel_id:
            await members.set_dm_channel(self.db, user_id, channel_id, ts(self.clock()))

    async def pop_notice(self, user_id: int) -> str | None:
        """A one-time notice for the member's next command (e.g. "your DMs are closed")."""
        return await members.pop_notice(self.db, user_id)
