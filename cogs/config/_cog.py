"""``/config …``: a server's reminder channel and daily tip (Manage Server only, servers only).

Thin handlers over :class:`services.guild_config.GuildConfig`, which holds the rules (and is
shared with the dashboard). The group is registered with ``default_member_permissions`` =
Manage Server so Discord hides it from other members, and every handler checks again from
the interaction's own permissions, because a server can override the default and a crafted
interaction can arrive anyway.
"""

from __future__ import annotations

from functools import partial

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.autocomplete import zone_autocomplete
from domain.errors import UserFacingError
from services.embeds import STEADY_COLOUR, discord_time
from services.guild_config import (
    POSTABLE_CHANNEL_TYPES,
    ChannelProblem,
    ChannelSetting,
    GuildConfig,
    GuildSettings,
    channel_access,
    check_can_manage,
)


class PostableChannel(app_commands.Transformer):
    """A channel option that offers only text and announcement channels in Discord's picker."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(POSTABLE_CHANNEL_TYPES)

    async def transform(
        self, interaction: Interaction, value: app_commands.AppCommandChannel, /
    ) -> app_commands.AppCommandChannel:
        return value


ChannelOption = app_commands.Transform[app_commands.AppCommandChannel, PostableChannel]


def require_admin(interaction: Interaction) -> discord.Guild:
    """The server the command runs in, or a clear refusal."""
    if interaction.guild_id is None:
        raise UserFacingError("`/config` works in servers only.")
    check_can_manage(interaction.permissions)
    if interaction.guild is None:
        raise UserFacingError("I can't see this server yet; please try again in a moment.")
    return interaction.guild


def describe_channel(setting: ChannelSetting) -> str:
    text = f"<#{setting.channel_id}>"
    match setting.problem:
        case ChannelProblem.GONE:
            text += "\n⚠️ This channel no longer exists; choose another."
        case ChannelProblem.MISSING_PERMISSIONS:
            missing = ", ".join(f"**{m}**" for m in setting.access.missing)
            text += f"\n⚠️ I'm missing {missing} there."
        case ChannelProblem.LAST_POST_FAILED:
            text += f"\n⚠️ The last post there failed: {setting.last_failure}"
    return text


def settings_embed(guild_name: str, settings: GuildSettings) -> discord.Embed:
    embed = discord.Embed(title=f"Steady settings for {guild_name}", colour=STEADY_COLOUR)
    reminder_channel = (
        describe_channel(settings.reminder_channel)
        if settings.reminder_channel is not None
        else "Not set. Set it with `/config reminder-channel`."
    )
    embed.add_field(name="Reminder channel", value=reminder_channel, inline=False)
    tip = settings.daily_tip
    if tip is None:
        tip_text = "Off. Turn it on with `/config daily-tip`."
    else:
        tip_text = f"{tip.time:%H:%M} ({tip.zone}) in {describe_channel(tip.channel)}"
        if tip.next_post is not None:
            tip_text += f"\nNext post {discord_time(tip.next_post, 'R')}."
        elif tip.paused:
            tip_text += "\n⚠️ Paused after a failed post; set it again with `/config daily-tip`."
    embed.add_field(name="Daily tip", value=tip_text, inline=False)
    return embed


@app_commands.guild_only()
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
@app_commands.default_permissions(manage_guild=True)
class Config(
    commands.GroupCog,
    group_name="config",
    group_description="Server settings for Steady (Manage Server)",
):
    def __init__(self, config: GuildConfig) -> None:
        self.config = config

    @app_commands.command(
        name="reminder-channel", description="Where server-delivered reminders and DM fall-backs go"
    )
    @app_commands.describe(channel="A text channel where I can send messages and embed links")
    async def reminder_channel(self, interaction: Interaction, channel: ChannelOption) -> None:
        guild = require_admin(interaction)
        await self.config.set_reminder_channel(guild.id, channel_access(guild, channel.id))
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
        tip = await self.config.set_daily_tip(
            guild.id, channel_access(guild, channel.id), time, timezone
        )
        first = f" First one {discord_time(tip.next_post, 'R')}." if tip.next_post else ""
        await interaction.response.send_message(
            f"💡 A daily tip will be posted in {channel.mention} at {tip.time:%H:%M} ({tip.zone}).{first}",
            ephemeral=True,
        )

    @app_commands.command(name="daily-tip-off", description="Stop the daily tip")
    async def daily_tip_off(self, interaction: Interaction) -> None:
        guild = require_admin(interaction)
        stopped = await self.config.turn_off_daily_tip(guild.id)
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
        settings = await self.config.settings(guild.id, partial(channel_access, guild))
        await interaction.response.send_message(
            embed=settings_embed(guild.name, settings), ephemeral=True
        )
