"""A server's Steady settings: the reminder channel and the daily tip, and what breaks them.

This is what ``/config`` does, as plain methods over ids and values, so the ``/config`` cog
and the web dashboard share one set of rules and wording. Nothing here takes a
``discord.Interaction``:

* who may change settings is :func:`check_can_manage`, over the member's
  ``discord.Permissions`` (an interaction's ``permissions``, or the permissions integer of a
  guild in the OAuth ``guilds`` list);
* whether the bot can post in a channel is a :class:`ChannelAccess`, computed by
  :func:`channel_access` from the bot's own guild cache (``bot.get_guild(id)``) — the same
  for a command and for a web page.

It is also the one place that decides what a broken channel or a removed server means,
whether Discord said so in an event (:meth:`GuildConfig.channel_deleted`,
:meth:`GuildConfig.guild_removed`), in the guild list at start-up
(:meth:`GuildConfig.reconcile`) or in a refused post (:meth:`GuildConfig.post_failed`,
which branches on the transport's exception types):

* a channel that no longer exists (deleted; Discord's "Unknown Channel") is forgotten: the
  reminder-channel setting naming it is cleared and a daily tip posting there is turned off;
* a channel the bot can no longer post in (access or permissions taken away) is kept and
  flagged with the reason, shown by ``/config show``; a daily tip there is paused until an
  admin sets it again; the next post that works there clears the flag;
* a server that removed the bot loses all its settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

import discord

from domain.clock import utc_now
from domain.enums import PauseReason
from domain.errors import UserFacingError, refusing
from domain.kinds import ReminderKind
from domain.schedule import (
    format_times,
    next_fire,
    parse_times,
    stored_instant,
)
from domain.timeparse import parse_time
from domain.zones import resolve_zone
from services.engine.transport import ChannelBroken, UnknownChannel
from storage import guild_settings, reminders
from storage.database import Database
from storage.reminders import Subscription

log = logging.getLogger(__name__)

# What the bot needs in a channel it posts reminders or tips to, in the words Discord's
# client uses for them.
CHANNEL_NEEDS: tuple[tuple[str, str], ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)
# Channel types the bot posts in (text and announcement channels), for Discord's picker.
POSTABLE_CHANNEL_TYPES: tuple[discord.ChannelType, ...] = (
    discord.ChannelType.text,
    discord.ChannelType.news,
)


# --- who may configure, and where the bot can post ----------------------------------------


def can_manage_server(member_permissions: discord.Permissions) -> bool:
    return member_permissions.administrator or member_permissions.manage_guild


def check_can_manage(member_permissions: discord.Permissions) -> None:
    """Refuse (``UserFacingError``) a member without Manage Server or Administrator."""
    if not can_manage_server(member_permissions):
        raise UserFacingError(
            "Only members with the **Manage Server** permission can change Steady's settings."
        )


def missing_channel_permissions(bot_permissions: discord.Permissions) -> list[str]:
    """The names of the permissions the bot lacks in a channel, in Discord's words."""
    if bot_permissions.administrator:
        return []
    return [label for flag, label in CHANNEL_NEEDS if not getattr(bot_permissions, flag)]


def describe_missing(channel_mention: str, missing: Collection[str]) -> str:
    names = ", ".join(f"**{name}**" for name in missing)
    plural = "permission" if len(missing) == 1 else "permissions"
    return (
        f"I can't use {channel_mention}: I'm missing the {names} {plural} there. "
        "Give my role those permissions in that channel (Edit Channel → Permissions), then try again."
    )


@dataclass(frozen=True)
class ChannelAccess:
    """What the bot can do in one channel, as its guild cache says right now.

    ``exists`` is false for a channel the bot cannot see at all (deleted, or hidden from
    it); ``postable`` is false for anything but a text or announcement channel; ``missing``
    names the permissions the bot lacks there, in Discord's words.
    """

    channel_id: int
    exists: bool = True
    postable: bool = True
    missing: tuple[str, ...] = ()

    @property
    def mention(self) -> str:
        return f"<#{self.channel_id}>"

    def check_usable(self) -> None:
        """Refuse (``UserFacingError``, saying what to do) a channel the bot can't post in."""
        if not self.exists:
            raise UserFacingError(f"I can't find {self.mention}; pick another channel.")
        if not self.postable:
            raise UserFacingError("Pick a text channel.")
        if self.missing:
            raise UserFacingError(describe_missing(self.mention, self.missing))


def channel_access(guild: discord.Guild | None, channel_id: int) -> ChannelAccess:
    """The bot's access to ``channel_id`` from its cache of ``guild`` (``None``: not cached)."""
    channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
    if guild is None or channel is None:
        return ChannelAccess(channel_id, exists=False, postable=False)
    # Announcement channels are TextChannels too; threads, voice, forums are not.
    if not isinstance(channel, discord.TextChannel):
        return ChannelAccess(channel_id, postable=False)
    missing = missing_channel_permissions(channel.permissions_for(guild.me))
    return ChannelAccess(channel_id, missing=tuple(missing))


# --- what /config show shows --------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSetting:
    """A channel a setting names, how the bot can use it now, and why its last post failed
    (``None`` once a later post there worked)."""

    access: ChannelAccess
    last_failure: str | None = None

    @property
    def channel_id(self) -> int:
        return self.access.channel_id

    @property
    def problem(self) -> ChannelProblem | None:
        """The one thing an admin should know about this channel now, most urgent first;
        each front-end words it (``/config show`` in markdown, the dashboard in HTML)."""
        if not self.access.exists:
            return ChannelProblem.GONE
        if self.access.missing:
            return ChannelProblem.MISSING_PERMISSIONS  # which: ``access.missing``
        if self.last_failure:
            return ChannelProblem.LAST_POST_FAILED  # why: ``last_failure``
        return None


class ChannelProblem(StrEnum):
    GONE = "gone"
    MISSING_PERMISSIONS = "missing permissions"
    LAST_POST_FAILED = "last post failed"


@dataclass(frozen=True)
class DailyTipSetting:
    channel: ChannelSetting
    time: time  # local wall-clock time in ``zone``
    zone: str
    next_post: datetime | None  # aware, in ``zone``; None while paused
    paused: bool  # stopped after a failed post until an admin sets it again


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    reminder_channel: ChannelSetting | None = None
    daily_tip: DailyTipSetting | None = None


AccessOf = Callable[[int], ChannelAccess]


@dataclass
class GuildConfig:
    """The settings of every server, over the database; ``on_change`` re-plans the reminder
    dispatcher after the daily tip's schedule changed."""

    db: Database
    clock: Callable[[], datetime] = utc_now
    on_change: Callable[[], None] = field(default=lambda: None)

    # --- the reminder channel -------------------------------------------------------------

    async def reminder_channel(self, guild_id: int) -> int | None:
        """Where ``server``-delivered reminders and DM fall-backs of ``guild_id`` go."""
        return await guild_settings.reminder_channel(self.db, guild_id)

    async def set_reminder_channel(self, guild_id: int, access: ChannelAccess) -> None:
        """``/config reminder-channel``; refuses a channel the bot can't post in. Setting it
        (again) clears a flagged failure."""
        with refusing("channel"):
            access.check_usable()
        await guild_settings.set_reminder_channel(self.db, guild_id, access.channel_id)

    async def clear_reminder_channel(self, guild_id: int) -> bool:
        """No reminder channel any more; returns whether one was set."""
        return await guild_settings.clear_reminder_channel(self.db, guild_id)

    # --- the daily tip --------------------------------------------------------------------

    async def set_daily_tip(
        self, guild_id: int, access: ChannelAccess, time_text: str, zone_text: str
    ) -> DailyTipSetting:
        """``/config daily-tip``: one tip a day at a local time, through the reminder engine.

        Everything is checked before anything is written; setting it again moves it and
        clears a pause or a flagged failure.
        """
        with refusing("channel"):
            access.check_usable()
        with refusing("time"):
            at = parse_time(time_text)
        with refusing("zone"):
            zone = resolve_zone(zone_text)
        now = self.clock()
        tip = await reminders.upsert_guild_subscription(
            self.db,
            guild_id=guild_id,
            kind=ReminderKind.DAILY_TIP,
            channel_id=access.channel_id,
            times=format_times([at]),
            zone=zone.key,
            next_fire_at=int(next_fire([at], zone, now).timestamp()),
            now=int(now.timestamp()),
        )
        await guild_settings.set_daily_tip_problem(self.db, guild_id, None)
        self.on_change()
        return self._tip_setting(tip, access, None)

    async def turn_off_daily_tip(self, guild_id: int) -> bool:
        """``/config daily-tip-off``; returns whether a tip was on."""
        removed = await reminders.delete_guild_subscription(
            self.db, guild_id, ReminderKind.DAILY_TIP
        )
        await guild_settings.set_daily_tip_problem(self.db, guild_id, None)
        if removed:
            self.on_change()
        return removed

    # --- /config show ---------------------------------------------------------------------

    async def settings(self, guild_id: int, access_of: AccessOf) -> GuildSettings:
        """Everything set for ``guild_id`` and what is wrong with it now; ``access_of`` gives
        the bot's access to a channel (e.g. ``functools.partial(channel_access, guild)``)."""
        stored = await guild_settings.get(self.db, guild_id)
        tip = await reminders.for_guild(self.db, guild_id, ReminderKind.DAILY_TIP)
        reminder_channel = (
            ChannelSetting(access_of(stored.reminder_channel_id), stored.reminder_channel_problem)
            if stored.reminder_channel_id is not None
            else None
        )
        daily_tip = (
            self._tip_setting(tip, access_of(tip.channel_id), stored.daily_tip_problem)
            if tip is not None and tip.channel_id is not None
            else None
        )
        return GuildSettings(guild_id, reminder_channel, daily_tip)

    @staticmethod
    def _tip_setting(
        tip: Subscription, access: ChannelAccess, last_failure: str | None
    ) -> DailyTipSetting:
        next_post = stored_instant(tip.next_fire_at, tip.zone)
        return DailyTipSetting(
            channel=ChannelSetting(access, last_failure),
            time=parse_times(tip.times)[0],
            zone=tip.zone,
            next_post=next_post,
            paused=not tip.active,
        )

    # --- channels and servers going away --------------------------------------------------

    async def channel_deleted(self, guild_id: int, channel_id: int) -> None:
        """The channel is gone: clear the settings naming it; a tip posting there is off."""
        cleared = bool(await guild_settings.forget_reminder_channel(self.db, channel_id))
        tip = await reminders.for_guild(self.db, guild_id, ReminderKind.DAILY_TIP)
        if tip is not None and tip.channel_id == channel_id:
            cleared = await self.turn_off_daily_tip(guild_id) or cleared
        log.info(
            "channel %s deleted in server %s; %s",
            channel_id,
            guild_id,
            "settings naming it cleared" if cleared else "no setting named it",
        )

    async def guild_removed(self, guild_id: int) -> None:
        """The bot left or was removed from the server: all its settings go."""
        await guild_settings.forget_guild(self.db, guild_id)
        await self.turn_off_daily_tip(guild_id)
        log.info("removed from server %s; its settings cleared", guild_id)

    async def forget_missing_channels(self, guild_id: int, present: Collection[int]) -> None:
        """Clear settings naming channels of ``guild_id`` that are not in ``present`` (the ids
        of its channels now), e.g. deleted while the bot was offline."""
        stored = await guild_settings.get(self.db, guild_id)
        tip = await reminders.for_guild(self.db, guild_id, ReminderKind.DAILY_TIP)
        named = {stored.reminder_channel_id, tip.channel_id if tip else None} - {None}
        for channel_id in named:
            if channel_id is not None and channel_id not in present:
                await self.channel_deleted(guild_id, channel_id)

    async def reconcile(
        self,
        guilds: Mapping[int, Collection[int] | None],
        owns_guild: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        """Catch up with what changed while the bot was offline: Discord sends no event for it.

        ``guilds`` is every server this process sees now (READY lists them all, unavailable
        ones too during an outage), each with the ids of its channels, or ``None`` while it is
        unavailable. A configured server missing from it has removed the bot — if its events
        come to this process at all (``owns_guild``: with shards in several processes, READY
        lists only this process's servers).
        """
        for guild_id in await guild_settings.configured_guilds(self.db):
            if guild_id not in guilds and owns_guild(guild_id):
                log.info("server %s removed the bot while it was offline", guild_id)
                await self.guild_removed(guild_id)
        for guild_id, channels in guilds.items():
            if channels is not None:
                await self.forget_missing_channels(guild_id, channels)

    # --- what the reminder sender reports -------------------------------------------------

    async def post_failed(self, guild_id: int, channel_id: int, error: ChannelBroken) -> None:
        """A post to a server channel was refused for good (the sender gives up on it)."""
        log.warning("channel %s in server %s is unusable: %s", channel_id, guild_id, error.reason)
        if isinstance(error, UnknownChannel):
            await self.channel_deleted(guild_id, channel_id)
            return
        stored = await guild_settings.get(self.db, guild_id)
        if stored.reminder_channel_id == channel_id:
            await guild_settings.set_reminder_channel_problem(self.db, guild_id, error.reason)
        tip = await reminders.for_guild(self.db, guild_id, ReminderKind.DAILY_TIP)
        if tip is not None and tip.channel_id == channel_id:
            # Posting every day into a channel that refuses would only fail every day.
            now = int(self.clock().timestamp())
            await reminders.deactivate(self.db, [tip.id], PauseReason.CHANNEL_BROKEN, now)
            await guild_settings.set_daily_tip_problem(self.db, guild_id, error.reason)

    async def post_succeeded(self, guild_id: int, channel_id: int) -> None:
        """A post to a server channel worked: a failure flagged there is history."""
        stored = await guild_settings.get(self.db, guild_id)
        if stored.reminder_channel_id == channel_id and stored.reminder_channel_problem:
            await guild_settings.set_reminder_channel_problem(self.db, guild_id, None)
