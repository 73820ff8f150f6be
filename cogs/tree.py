"""The command tree: every app-command error is handled here, once.

Expected problems (bad input, missing permission, wrong place) become a short ephemeral
answer. Anything else is a bug: it is logged with the command, the user and the place, and
the user gets a polite apology instead of a trace.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from domain.errors import DatabaseUnavailable, UserFacingError

log = logging.getLogger(__name__)

DATABASE_AWAY = (
    "I can't reach my database right now, so I can't do that this second. "
    "Please try again in a moment."
)
APOLOGY = (
    "Sorry, something went wrong on our side while answering that. "
    "It has been logged; please try again in a moment."
)


def user_message_for(error: app_commands.AppCommandError) -> str | None:
    """The short answer for an expected error, or ``None`` when the error is a bug."""
    original = getattr(error, "original", None)
    if isinstance(original, UserFacingError):
        return str(original)
    if isinstance(original, DatabaseUnavailable):
        return DATABASE_AWAY
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in servers only, not in DMs."
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(
            p.replace("_", " ").replace("guild", "server").title()
            for p in error.missing_permissions
        )
        return f"You need the **{names}** permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I am missing the **{names}** permission here."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand {str(error.value)[:80]!r} for that option."
    if isinstance(error, app_commands.CommandNotFound):
        return "That command is no longer available; Discord may still be updating its list."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


class SteadyTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        await answer_error(interaction, error, f"command /{command}")


async def answer_error(interaction: discord.Interaction, error: Exception, where: str) -> None:
    """Answer any interaction's error: user errors briefly, bugs with an apology and a log entry.

    Used by the command tree and by the persistent buttons, whose errors do not pass through
    the tree.
    """
    if isinstance(error, UserFacingError):
        message: str | None = str(error)
    elif isinstance(error, DatabaseUnavailable):
        message = DATABASE_AWAY
    elif isinstance(error, app_commands.AppCommandError):
        message = user_message_for(error)
    else:
        message = None
    if message is None:
        original = getattr(error, "original", error)
        data: dict[str, Any] = dict(interaction.data or {})
        log.error(
            "%s failed for user %s in guild %s channel %s (data %s)",
            where,
            interaction.user.id if interaction.user else None,
            interaction.guild_id,
            interaction.channel_id,
            data.get("options") or data.get("custom_id"),
            exc_info=original,
        )
        message = APOLOGY
    else:
        log.info("%s refused for user %s: %s", where, interaction.user.id, message)
    await send_ephemeral(interaction, message)


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer ephemerally, whether or not the interaction was already acknowledged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException as error:
        # The interaction may have expired (10062) or been answered elsewhere; nothing
        # more can reach the user, so record it and move on.
        log.warning("could not send an error answer: %s", error)
