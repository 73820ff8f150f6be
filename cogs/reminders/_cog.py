"""``/remind …``: thin handlers over the member services (:mod:`services.member_settings`,
:mod:`services.subscriptions`, :mod:`services.stats`).

Every answer is ephemeral: reminders are personal, and a server channel shouldn't fill up
with members' schedules.
"""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs.autocomplete import zone_autocomplete
from cogs.reminders import _render as render
from cogs.steady import Steady, dm_channel_of
from domain.enums import DeliveryMode
from domain.kinds import MEMBER_KINDS, label_of
from services.embeds import discord_time
from services.member_settings import MemberSettings
from services.reminders import NOT_PAUSED
from services.stats import STATS_DAYS
from services.subscriptions import Subscriptions

KIND_CHOICES = [Choice(name=spec.label, value=spec.name) for spec in MEMBER_KINDS]


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
@app_commands.allowed_installs(guilds=True, users=False)
class Reminders(
    commands.GroupCog, group_name="remind", group_description="Your daily habit reminders"
):
    def __init__(self, bot: Steady) -> None:
        self.bot = bot

    @property
    def member_settings(self) -> MemberSettings:
        return self.bot.member_settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.bot.subscriptions

    @app_commands.command(
        name="timezone", description="Set your time zone, e.g. Europe/Berlin or a city like berlin"
    )
    @app_commands.describe(zone="An IANA time zone (Europe/Berlin) or a city (new york)")
    @app_commands.autocomplete(zone=zone_autocomplete)
    async def timezone(self, interaction: Interaction, zone: str) -> None:
        chosen = await self.member_settings.set_timezone(interaction.user.id, zone)
        await interaction.response.send_message(
            f"🌍 Your time zone is now **{chosen.key}**. Your reminders follow your local clock there.",
            ephemeral=True,
        )

    @app_commands.command(
        name="schedule",
        description="Set your wake-up time and bedtime; default reminder times follow them",
    )
    @app_commands.describe(
        wake="When you get up, e.g. 7:00 or 6:30am", bed="When you go to bed, e.g. 23:00 or 10:30pm"
    )
    async def schedule(self, interaction: Interaction, wake: str, bed: str) -> None:
        views = await self.member_settings.set_schedule(interaction.user.id, wake, bed)
        settings = await self.member_settings.settings(interaction.user.id)
        await interaction.response.send_message(
            f"⏰ Wake-up **{render.clock(settings.wake)}**, bedtime **{render.clock(settings.bed)}**.",
            embed=render.list_embed(settings, views) if views else discord.utils.MISSING,
            ephemeral=True,
        )

    @app_commands.command(name="start", description="Start a daily reminder")
    @app_commands.describe(
        kind="Which habit",
        time="Local time, e.g. 21:30, 9:30pm, 9pm (default: from your /remind schedule)",
        every="Hydration only: hours between reminders, 1 to 6 (default 2)",
        zone="Your time zone, if you haven't set one yet",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(zone=zone_autocomplete)
    async def start(
        self,
        interaction: Interaction,
        kind: str,
        time: str | None = None,
        every: app_commands.Range[int, 1, 6] | None = None,
        zone: str | None = None,
    ) -> None:
        view = await self.subscriptions.start(
            interaction.user.id,
            interaction.guild_id,
            kind,
            time,
            every,
            zone,
            dm_channel_id=dm_channel_of(interaction),
        )
        settings = await self.member_settings.settings(interaction.user.id)
        where = (
            "by DM" if settings.delivery == DeliveryMode.DM else "in your server's reminder channel"
        )
        times = ", ".join(render.clock(t) for t in view.times)
        next_line = f" Next one {discord_time(view.next_fire, 'R')}." if view.next_fire else ""
        if settings.paused_until is not None:
            # Otherwise "next one in 5 days" for a daily reminder reads like a mistake.
            next_line += (
                f" (Your reminders are paused until {discord_time(settings.paused_until, 'R')};"
                " `/remind resume` restarts them sooner.)"
            )
        await interaction.response.send_message(
            f"✅ **{label_of(view.kind)}** reminders on at {times} ({view.zone}), {where}.{next_line}",
            ephemeral=True,
        )

    @app_commands.command(name="stop", description="Stop one kind of reminder, or all of them")
    @app_commands.describe(kind="Which reminder to stop")
    @app_commands.choices(kind=[*KIND_CHOICES, Choice(name="All of them", value="all")])
    async def stop(self, interaction: Interaction, kind: str) -> None:
        stopped = await self.subscriptions.stop(interaction.user.id, kind)
        text = f"🛑 {stopped.answer}" if stopped.kinds else stopped.answer
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="list", description="Your reminders and when each fires next")
    async def list_(self, interaction: Interaction) -> None:
        views = await self.subscriptions.list_subscriptions(interaction.user.id)
        settings = await self.member_settings.settings(interaction.user.id)
        await interaction.response.send_message(
            embed=render.list_embed(settings, views), ephemeral=True
        )

    @app_commands.command(
        name="pause", description="No reminders for a few days; they resume by themselves"
    )
    @app_commands.describe(days="How many days, 1 to 30")
    async def pause(self, interaction: Interaction, days: app_commands.Range[int, 1, 30]) -> None:
        until = await self.member_settings.pause(interaction.user.id, days)
        await interaction.response.send_message(
            f"⏸️ Paused until {until.strftime('%a %d %b %H:%M')} ({discord_time(until, 'R')}); "
            "they resume by themselves. `/remind resume` restarts them sooner.",
            ephemeral=True,
        )

    @app_commands.command(name="resume", description="Resume your reminders now")
    async def resume(self, interaction: Interaction) -> None:
        views = await self.member_settings.resume(interaction.user.id)
        if views is None:
            await interaction.response.send_message(NOT_PAUSED, ephemeral=True)
            return
        settings = await self.member_settings.settings(interaction.user.id)
        await interaction.response.send_message(
            "▶️ Your reminders are back on.",
            embed=render.list_embed(settings, views),
            ephemeral=True,
        )

    @app_commands.command(
        name="delivery", description="Get reminders by DM, or in this server's reminder channel"
    )
    @app_commands.describe(where="DM (default) or this server's reminder channel")
    @app_commands.choices(
        where=[
            Choice(name="Direct message", value=DeliveryMode.DM.value),
            Choice(name="This server's reminder channel", value=DeliveryMode.SERVER.value),
        ]
    )
    async def delivery(self, interaction: Interaction, where: str) -> None:
        choice = await self.member_settings.set_delivery(
            interaction.user.id, where, interaction.guild_id
        )
        text = (
            "📬 Your reminders come by DM."
            if choice == DeliveryMode.DM
            else "📬 Your reminders go to this server's reminder channel, with a mention."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="test", description="Send one reminder now, to check it reaches you")
    @app_commands.describe(kind="Which reminder to try")
    @app_commands.choices(kind=KIND_CHOICES)
    async def test(self, interaction: Interaction, kind: str) -> None:
        # Sending goes through the paced sender and may wait its turn: acknowledge first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.subscriptions.send_test(interaction.user.id, kind, interaction.guild_id)
        settings = await self.member_settings.settings(interaction.user.id)
        text = render.test_result(result, settings.delivery)
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(
        name="stats", description="Done, snoozed and sent counts and streaks, last 30 days"
    )
    async def stats(self, interaction: Interaction) -> None:
        stats = await self.bot.reminder_stats.stats(interaction.user.id, STATS_DAYS)
        await interaction.response.send_message(
            embed=render.stats_embed(stats, STATS_DAYS), ephemeral=True
        )
