"""What cogs and buttons use of the bot, as a type.

Cogs are handed the bot (:class:`~bot.steady_bot.SteadyBot`; strict fakes in the cog tests) and
buttons reach it through ``interaction.client``, which discord.py types as a plain
``discord.Client``. Both see it as :class:`Steady`: the content and the services, nothing of
the bot's internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

import discord

if TYPE_CHECKING:
    from discord import app_commands

    from content import Content
    from services.buttons import ReminderButtons
    from services.guild_config import GuildConfig
    from services.member_settings import MemberSettings
    from services.privacy import Privacy
    from services.stats import ReminderStats
    from services.subscriptions import Subscriptions


class Steady(Protocol):
    @property
    def content(self) -> Content: ...

    @property
    def member_settings(self) -> MemberSettings: ...

    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def reminder_buttons(self) -> ReminderButtons: ...

    @property
    def reminder_stats(self) -> ReminderStats: ...

    @property
    def privacy(self) -> Privacy: ...

    @property
    def guild_config(self) -> GuildConfig: ...

    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...


def dm_channel_of(interaction: discord.Interaction) -> int | None:
    """The member's DM channel with the bot, when the interaction comes from it."""
    channel = interaction.channel
    if interaction.guild_id is None and channel is not None:
        if channel.type is discord.ChannelType.private:
            return channel.id
    return None


def steady(client: discord.Client) -> Steady:
    """``interaction.client`` as the bot the cogs know.

    discord.py types it as the base ``Client``; an interaction only ever reaches Steady's
    cogs and buttons through the bot that loaded them, so this is a statement of fact for
    the type checker, not a conversion.
    """
    return cast(Steady, client)
