"""``/privacy export`` and ``/privacy delete``: everything Steady stores about a member.

Steady stores Discord ids, settings, subscriptions and delivery records — no message content.
Deleting asks first, with a button that carries the member's id, so a stale or forwarded
confirmation can't delete someone else's data and it still works after a restart.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.steady import Steady, steady
from cogs.tree import answer_error
from domain.errors import UserFacingError


def export_file(data: dict, user_id: int) -> discord.File:
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    return discord.File(io.BytesIO(body), filename=f"steady-data-{user_id}.json")


class PrivacyButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"steady:privacy:(?P<action>delete|keep):(?P<user>[0-9]{1,20})",
):
    def __init__(self, action: str, user_id: int) -> None:
        label, style = (
            ("Delete everything", discord.ButtonStyle.danger)
            if action == "delete"
            else ("Keep my data", discord.ButtonStyle.secondary)
        )
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"steady:privacy:{action}:{user_id}"
            )
        )
        self.action = action
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PrivacyButton:
        return cls(match["action"], int(match["user"]))

    async def callback(self, interaction: Interaction) -> None:
        try:
            if interaction.user.id != self.user_id:
                raise UserFacingError("This button belongs to someone else's request.")
            if self.action == "delete":
                await steady(interaction.client).privacy.delete_all(self.user_id)
                text = (
                    "🗑️ Done: everything Steady stored about you is deleted, "
                    "and any web dashboard login of yours has ended."
                )
            else:
                text = "Nothing was deleted."
            # Replace the question, so its buttons can't be pressed again.
            await interaction.response.edit_message(content=text, view=None)
        except Exception as error:
            await answer_error(interaction, error, f"privacy button {self.action}")


def confirm_view(user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PrivacyButton("delete", user_id))
    view.add_item(PrivacyButton("keep", user_id))
    return view


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
@app_commands.allowed_installs(guilds=True, users=False)
class Privacy(
    commands.GroupCog,
    group_name="privacy",
    group_description="See or delete what Steady stores about you",
):
    def __init__(self, bot: Steady) -> None:
        self.bot = bot

    @app_commands.command(
        name="export", description="Get a JSON file of everything Steady stores about you"
    )
    async def export(self, interaction: Interaction) -> None:
        data = await self.bot.privacy.export(interaction.user.id)
        await interaction.response.send_message(
            "📦 Here is everything Steady stores about you.",
            file=export_file(data, interaction.user.id),
            ephemeral=True,
        )

    @app_commands.command(
        name="delete", description="Delete everything Steady stores about you (asks first)"
    )
    async def delete(self, interaction: Interaction) -> None:
        await interaction.response.send_message(
            "This deletes your reminders, settings, stats and delivery records, and logs you "
            "out of the web dashboard if you use it. Backups taken "
            "before now still hold them until they rotate out (the bot's operator keeps the "
            "newest few, BACKUP_KEEP); restoring one deletes them again. "
            "It can't be undone. Delete everything?",
            view=confirm_view(interaction.user.id),
            ephemeral=True,
        )
