"""``/config …``: a server's reminder channel and daily tip (Manage Server only, servers only).

The group is registered with ``default_member_permissions`` = Manage Server so Discord hides it
from other members, and every handler checks again from the interaction's own permissions,
because a server can override the default and a crafted interaction can arrive anyway.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from bot.autocomplete import zone_autocomplete
from bot.embeds import STEADY_COLOUR, discord_time
from bot.errors import UserFacingError
from bot.reminders.schedule import ReminderKind
from bot.shards import process_owns_guild
from cogs.config._permissions import (
    can_manage_server,
    describe_missing,
    missing_channel_permissions,
)
from storage import guild_settings, reminders

log = logging.getLogger(__name__)

TEXT_CHANNELS = [discord.ChannelType.text, discord.ChannelType.news]


class PostableChannel(app_commands.Transformer):
    """A channel option that offers only text and announcement channels in Discord's picker."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return TEXT_CHANNELS

    async def transform(self, interaction: Interaction, value: app_commands.AppCommandChannel, /):
        return value


ChannelOption = app_commands.Transform[app_commands.AppCommandChannel, PostableChannel]


def require_admin(interaction: Interaction) -> discord.Guild:
    """The server the command runs in, or a clear refusal."""
    if interaction.guild_id is None:
        raise UserFacingError("`/config` works in servers only.")
    if not can_manage_server(interaction.permissions):
        raise UserFacingError(
            "Only members with the **Manage Server** permission can change Steady's settings."
        )
    if interaction.guild is None:
        raise UserFacingError("I can't see this server yet; please try again in a moment.")
    return interaction.guild


def bot_channel_problem(guild: discord.Guild, channel_id: int) -> list[str] | None:
    """Missing permissions of the bot in a channel (``[]`` = fine), or ``None`` if it is gone."""
    channel = guild.get_channel(channel_id)
    if channel is None:
        return None
    return missing_channel_permissions(channel.permissions_for(guild.me))


def check_channel(guild: discord.Guild, channel: app_commands.AppCommandChannel) -> None:
    missing = bot_channel_problem(guild, channel.id)
    if missing is None:
        raise UserFacingError(f"I can't find {channel.mention}; pick another channel.")
    if missing:
        raise UserFacingError(describe_missing(channel.mention, missing))


@app_commands.guild_only()
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
@app_commands.default_permissions(manage_guild=True)
class Config(
    commands.GroupCog,
    group_name="config",
    group_description="Server settings for Steady (Manage Server)",
):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def db(self):
        return self.bot.db  # type: ignore[attr-defined]

    @property
    def service(self):
        return self.bot.reminder_service  # type: ignore[attr-defined]

    @app_commands.command(
        name="reminder-channel", description="Where server-delivered reminders and DM fall-backs go"
    )
    @app_commands.describe(channel="A text channel where I can send messages and embed links")
    async def reminder_channel(self, interaction: Interaction, channel: ChannelOption) -> None:
        guild = require_admin(interaction)
        if channel.type not in TEXT_CHANNELS:
            raise UserFacingError("Pick a text channel.")
        check_channel(guild, channel)
        await guild_settings.set_reminder_channel(self.db, guild.id, channel.id)
        await interaction.response.send_message(
            f"✅ Reminder channel set to {channel.mention}. Members who choose `/remind delivery server`, "
            "or whose DMs are closed, are reminded there with a mention.",
            ephemeral=True,
        )

    @app_commands.command(
        name="daily-tip", description="Post one tip a day in a channel at a local time"
    )
    @app_commands.describe(
        channel="A text channel where I can send messages and embed links",
        time="Local time, e.g. 9:00, 9am, 18:30",
        timezone="The time zone of that time, e.g. Europe/Berlin or a city like berlin",
    )
    @app_commands.autocomplete(timezone=zone_autocomplete)
    async def daily_tip(
        self,
        interaction: Interaction,
        channel: ChannelOption,
        time: str,
        timezone: str,
    ) -> None:
        guild = require_admin(interaction)
        if channel.type not in TEXT_CHANNELS:
            raise UserFacingError("Pick a text channel.")
        check_channel(guild, channel)
        view = await self.service.set_daily_tip(guild.id, channel.id, time, timezone)
        await guild_settings.set_daily_tip_problem(self.db, guild.id, None)
        when = view.times[0].strftime("%H:%M")
        next_post = f" First one {discord_time(view.next_fire, 'R')}." if view.next_fire else ""
        await interaction.response.send_message(
            f"💡 A daily tip will be posted in {channel.mention} at {when} ({view.zone}).{next_post}",
            ephemeral=True,
        )

    @app_commands.command(name="daily-tip-off", description="Stop the daily tip")
    async def daily_tip_off(self, interaction: Interaction) -> None:
        guild = require_admin(interaction)
        stopped = await self.service.stop_daily_tip(guild.id)
        await guild_settings.set_daily_tip_problem(self.db, guild.id, None)
        text = (
            "🛑 The daily tip is off."
            if stopped
            else "The daily tip was not on, so nothing changed."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(
        name="show", description="Show this server's Steady settings and anything broken"
    )
    async def show(self, interaction: Interaction) -> None:
        guild = require_admin(interaction)
        settings = await guild_settings.get(self.db, guild.id)
        tip = await reminders.for_guild(self.db, guild.id, ReminderKind.DAILY_TIP.value)
        embed = discord.Embed(title=f"Steady settings for {guild.name}", colour=STEADY_COLOUR)
        embed.add_field(
            name="Reminder channel",
            value=describe_channel_setting(
                guild, settings.reminder_channel_id, settings.reminder_channel_problem
            ),
            inline=False,
        )
        if tip is None:
            tip_text = "Off. Turn it on with `/config daily-tip`."
        else:
            tip_text = f"{tip.times} ({tip.zone}) in " + describe_channel_setting(
                guild, tip.channel_id, settings.daily_tip_problem
            )
            if tip.next_fire_at:
                next_post = datetime.fromtimestamp(tip.next_fire_at, UTC)
                tip_text += f"\nNext post {discord_time(next_post, 'R')}."
            elif not tip.active:
                tip_text += "\n⚠️ Paused after a failed post; set it again with `/config daily-tip`."
        embed.add_field(name="Daily tip", value=tip_text, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # --- things that change under the bot ------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.forget_channel(channel.guild.id, channel.id)
        log.info(
            "channel %s deleted in server %s; settings naming it cleared",
            channel.id,
            channel.guild.id,
        )

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.forget_server(guild.id)
        log.info("removed from server %s; its settings cleared", guild.id)

    # Channels deleted and servers that removed the bot while it was offline send no event
    # when it comes back: compare what is stored with what Discord says exists now.

    async def reconcile(self) -> None:
        """Called by the bot on READY, before it says it is ready."""
        # READY lists every server the bot is in (unavailable ones too, during an outage), so
        # a configured server missing from it has removed the bot.
        # With shards in several processes, READY only lists this process's servers.
        present = {guild.id for guild in self.bot.guilds}
        for guild_id in await guild_settings.configured_guilds(self.db):
            if guild_id not in present and process_owns_guild(self.bot, guild_id):
                await self.forget_server(guild_id)
                log.info(
                    "server %s removed the bot while it was offline; its settings cleared", guild_id
                )
        for guild in self.bot.guilds:
            if not guild.unavailable:
                await self.forget_missing_channels(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.forget_missing_channels(guild)

    async def forget_missing_channels(self, guild: discord.Guild) -> None:
        settings = await guild_settings.get(self.db, guild.id)
        tip = await reminders.for_guild(self.db, guild.id, ReminderKind.DAILY_TIP.value)
        for channel_id in {settings.reminder_channel_id, tip.channel_id if tip else None} - {None}:
            if guild.get_channel(channel_id) is None:
                await self.forget_channel(guild.id, channel_id)
                log.info(
                    "channel %s in server %s is gone; settings naming it cleared",
                    channel_id,
                    guild.id,
                )

    async def forget_channel(self, guild_id: int, channel_id: int) -> None:
        await guild_settings.forget_reminder_channel(self.db, channel_id)
        tip = await reminders.for_guild(self.db, guild_id, ReminderKind.DAILY_TIP.value)
        if tip is not None and tip.channel_id == channel_id:
            await self.service.stop_daily_tip(guild_id)
            await guild_settings.set_daily_tip_problem(self.db, guild_id, None)

    async def forget_server(self, guild_id: int) -> None:
        await guild_settings.forget_guild(self.db, guild_id)
        await self.service.stop_daily_tip(guild_id)


def describe_channel_setting(
    guild: discord.Guild, channel_id: int | None, problem: str | None
) -> str:
    if channel_id is None:
        return "Not set. Set it with `/config reminder-channel`."
    text = f"<#{channel_id}>"
    missing = bot_channel_problem(guild, channel_id)
    if missing is None:
        text += "\n⚠️ This channel no longer exists; choose another."
    elif missing:
        text += "\n⚠️ I'm missing " + ", ".join(f"**{m}**" for m in missing) + " there."
    elif problem:
        text += f"\n⚠️ The last post there failed: {problem}"
    return text
