"""The bot names exactly the permissions it lacks; only Manage Server (or Administrator) configures."""

import discord

from services.guild_config import (
    can_manage_server,
    describe_missing,
    missing_channel_permissions,
)


def perms(**flags: bool) -> discord.Permissions:
    return discord.Permissions(**flags)


def test_all_three_present_means_nothing_missing():
    assert (
        missing_channel_permissions(perms(view_channel=True, send_messages=True, embed_links=True))
        == []
    )


def test_each_missing_permission_is_named():
    assert missing_channel_permissions(perms(view_channel=True, send_messages=True)) == [
        "Embed Links"
    ]
    assert missing_channel_permissions(perms(view_channel=True, embed_links=True)) == [
        "Send Messages"
    ]
    assert missing_channel_permissions(perms()) == ["View Channel", "Send Messages", "Embed Links"]


def test_administrator_needs_nothing_else():
    assert missing_channel_permissions(perms(administrator=True)) == []


def test_manage_server_or_administrator_may_configure():
    assert can_manage_server(perms(manage_guild=True))
    assert can_manage_server(perms(administrator=True))
    assert not can_manage_server(
        perms(manage_channels=True, manage_messages=True, kick_members=True)
    )
    assert not can_manage_server(perms())


def test_refusal_message_names_channel_and_permissions():
    text = describe_missing("<#5>", ["Send Messages", "Embed Links"])
    assert "<#5>" in text and "**Send Messages**, **Embed Links** permissions" in text
    assert "**Embed Links** permission " in describe_missing("<#5>", ["Embed Links"])
