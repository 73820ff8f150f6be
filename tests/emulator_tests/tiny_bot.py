"""A throwaway discord.py bot that exercises the emulator over the real wire.

It is not Steady: it exists so the emulator's own tests run real discord.py code (login,
gateway, sync, interactions, webhooks, rate limits) quickly, in-process.
"""

from __future__ import annotations

import asyncio

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from testkit.emulator import Emulator

FOODS = ["spinach", "pumpkin seeds", "almonds", "banana", "avocado", "sweet potato"]


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Done", custom_id="tiny:done", style=discord.ButtonStyle.success)
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="Marked done ✅", view=None)

    @discord.ui.button(label="Later", custom_id="tiny:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message("Snoozed", ephemeral=True)


class TinyBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.ready_event = asyncio.Event()
        self.sent_ids: list[int] = []
        _register(self)

    async def setup_hook(self) -> None:
        self.add_view(Confirm())

    async def on_ready(self) -> None:
        self.ready_event.set()


def _register(bot: TinyBot) -> None:
    tree = bot.tree

    @tree.command(description="Check the bot answers")
    async def ping(interaction: discord.Interaction) -> None:
        embed = discord.Embed(title="Pong", description="The bot is alive.")
        await interaction.response.send_message(embed=embed)

    @tree.command(description="Look up a food")
    @app_commands.describe(name="A food")
    async def food(interaction: discord.Interaction, name: str) -> None:
        if name not in FOODS:
            await interaction.response.send_message(f"Unknown food {name!r}", ephemeral=True)
            return
        await interaction.response.send_message(embed=discord.Embed(title=name.title()))

    @food.autocomplete("name")
    async def food_names(interaction: discord.Interaction, current: str):
        return [app_commands.Choice(name=f, value=f) for f in FOODS if current.lower() in f][:25]

    @tree.command(description="Think, then answer")
    async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("Done thinking")

    @tree.command(description="Answer twice (a bug)")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        try:
            await interaction.response.send_message("second")
        except discord.InteractionResponded:
            pass
        # Bypass discord.py's own guard to reach Discord's 40060.
        try:
            await discord.webhook.async_.async_context.get().create_interaction_response(
                interaction.id,
                interaction.token,
                session=interaction._session,
                params=discord.webhook.async_.interaction_response_params(
                    type=4, data={"content": "x"}
                ),
            )
        except discord.HTTPException as error:
            bot.last_error = error  # type: ignore[attr-defined]

    @tree.command(description="Answer with buttons")
    async def buttons(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Drink water", view=Confirm())

    @tree.command(description="DM me")
    async def dm(interaction: discord.Interaction, nonce: str = "n-1") -> None:
        await interaction.response.defer(ephemeral=True)
        try:
            message = await interaction.user.send("A reminder", nonce=nonce)
            bot.sent_ids.append(message.id)
            await interaction.followup.send("Sent you a DM", ephemeral=True)
        except discord.Forbidden as error:
            await interaction.followup.send(f"Could not DM you ({error.code})", ephemeral=True)

    @tree.command(description="Post in a channel")
    async def post(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        try:
            await channel.send(embed=discord.Embed(title="Daily tip"))
            await interaction.response.send_message("Posted")
        except discord.Forbidden as error:
            await interaction.response.send_message(f"Forbidden {error.code}", ephemeral=True)

    @tree.command(description="Server settings")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def config(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Settings", ephemeral=True)

    @tree.command(description="Send an over-long message (a bug)")
    async def oversize(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)

    @tree.command(description="Too slow to answer (a bug)")
    async def sleepy(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.3)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as error:
            bot.last_error = error  # type: ignore[attr-defined]

    remind = app_commands.Group(name="remind", description="Reminders")

    @remind.command(name="start", description="Start a reminder")
    @app_commands.choices(
        kind=[app_commands.Choice(name=k, value=k) for k in ("hydration", "sleep")]
    )
    async def remind_start(
        interaction: discord.Interaction,
        kind: app_commands.Choice[str],
        every: app_commands.Range[int, 1, 6] | None = None,
    ) -> None:
        await interaction.response.send_message(f"Started {kind.value} every {every}")

    tree.add_command(remind)


def point_discord_py_at(emulator: Emulator) -> tuple[str, yarl.URL]:
    """Aim discord.py's class-level URLs at the emulator; return the old ones to restore."""
    old = (discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = emulator.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    return old


def restore_discord_py(old: tuple[str, yarl.URL]) -> None:
    discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old
