"""Discord permission bits and the documented permission algorithm.

Why here: the bot must behave correctly when Discord refuses it (403 50013), and which
requests Discord refuses depends on exactly this computation: the base permissions from
@everyone and the member's roles, ADMINISTRATOR and guild ownership short-circuits, then the
channel overwrites applied in Discord's order (@everyone, all role overwrites combined, the
member's own overwrite). See "Permissions > Permission Overwrites" in Discord's docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testkit.emulator.state import Channel, Guild, Member

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
USE_EXTERNAL_APPS = 1 << 50

#: Every bit Discord currently defines (0..50); what an owner or administrator has.
ALL = (1 << 51) - 1

#: Roughly what Discord gives @everyone in a new server.
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
    | USE_EXTERNAL_APPS
)

#: What Steady's invite link asks for: see, talk, embed, read history.
DEFAULT_BOT = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY

NAMES = {
    VIEW_CHANNEL: "VIEW_CHANNEL",
    SEND_MESSAGES: "SEND_MESSAGES",
    EMBED_LINKS: "EMBED_LINKS",
    MANAGE_GUILD: "MANAGE_GUILD",
    ADMINISTRATOR: "ADMINISTRATOR",
}


def base_permissions(guild: Guild, member: Member) -> int:
    """Server-wide permissions: owner and ADMINISTRATOR get everything."""
    if member.user.id == guild.owner_id:
        return ALL
    perms = guild.roles[guild.id].permissions  # @everyone's role id is the guild id
    for role_id in member.role_ids:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & ADMINISTRATOR:
        return ALL
    return perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Permissions in one channel, with overwrites applied in Discord's documented order."""
    perms = base_permissions(guild, member)
    if perms & ADMINISTRATOR:
        return ALL
    overwrites = channel.overwrites
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.role_ids:
        overwrite = overwrites.get(role_id)
        if overwrite is not None:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = overwrites.get(member.user.id)
    if own is not None:
        perms = (perms & ~own.deny) | own.allow
    # A channel you cannot see grants nothing, whatever else the overwrites say.
    if not perms & VIEW_CHANNEL:
        return 0
    return perms
