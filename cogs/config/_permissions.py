"""Who may configure a server, and whether the bot can post in a channel.

Pure functions over ``discord.Permissions`` so they are tested without Discord. The command
is registered with ``default_member_permissions`` = Manage Server, but a server can override
that default and a crafted interaction can arrive anyway, so the handler checks again here.
"""

from __future__ import annotations

import discord

# What the bot needs in a channel it posts reminders or tips to, in the words Discord's
# client uses for them.
CHANNEL_NEEDS: tuple[tuple[str, str], ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


def can_manage_server(member_permissions: discord.Permissions) -> bool:
    return member_permissions.administrator or member_permissions.manage_guild


def missing_channel_permissions(bot_permissions: discord.Permissions) -> list[str]:
    """The names of the permissions the bot lacks in a channel, in Discord's words."""
    if bot_permissions.administrator:
        return []
    return [label for flag, label in CHANNEL_NEEDS if not getattr(bot_permissions, flag)]


def describe_missing(channel_mention: str, missing: list[str]) -> str:
    names = ", ".join(f"**{name}**" for name in missing)
    plural = "permission" if len(missing) == 1 else "permissions"
    return (
        f"I can't use {channel_mention}: I'm missing the {names} {plural} there. "
        "Give my role those permissions in that channel (Edit Channel → Permissions), then try again."
    )
