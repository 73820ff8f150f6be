"""The emulated Discord world: users, guilds, roles, members, channels, messages.

Objects here hold plain data and render themselves as the JSON Discord sends
(``to_payload``). Only the REST routes and the driver mutate them, always on the emulator's
event loop, so no locking is needed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from testkit.emulator import permissions as perms

DISCORD_EPOCH_MS = 1_420_070_400_000
_increment = itertools.count()


def snowflake(*, shard: tuple[int, int] | None = None) -> int:
    """A new, unique, time-ordered Discord id (timestamp << 22 | increment).

    ``shard=(shard_id, shard_count)``: a server id whose events go to that shard (its
    timestamp moved up to count-1 ms ahead, since ``(id >> 22) % count`` picks the shard).
    """
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    if shard is not None:
        shard_id, shard_count = shard
        ms += (shard_id - ms) % shard_count
    return (ms << 22) | (next(_increment) & 0xFFF)


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True  # False: the bot gets 403 50007 when it messages them

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class Member:
    user: User
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)
    nick: str | None = None

    def to_payload(self, *, with_user: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user.to_payload()
        return payload


GUILD_TEXT = 0
DM = 1


@dataclass
class Channel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    recipient: User | None = None  # DM channels only
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    position: int = 0
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    def to_payload(self) -> dict[str, Any]:
        if self.is_dm:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": _str_or_none(self.last_message_id),
                "flags": 0,
                "recipients": [self.recipient.to_payload()],
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_payload() for o in self.overwrites.values()],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "last_message_id": _str_or_none(self.last_message_id),
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    bot_member: bool = True  # False once the bot was removed (GUILD_DELETE)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def to_payload(self, bot: User) -> dict[str, Any]:
        """The GUILD_CREATE payload a bot without privileged intents receives."""
        bot_member = self.members.get(bot.id)
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": [r.to_payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "soundboard_sounds": [],
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "joined_at": bot_member.joined_at if bot_member else iso_now(),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            # Without GUILD_MEMBERS / GUILD_PRESENCES Discord only sends the bot's own member.
            "members": [bot_member.to_payload()] if bot_member else [],
            "channels": [c.to_payload() for c in self.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "embedded_activities": [],
            "lazy": True,
        }


@dataclass
class Attachment:
    """A file uploaded with a message (multipart ``files[n]``), kept so tests can read it."""

    id: int
    filename: str
    content_type: str | None
    data: bytes

    def to_payload(self, message_id: int) -> dict[str, Any]:
        url = f"https://cdn.discordapp.com/attachments/{message_id}/{self.id}/{self.filename}"
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
        }
        if self.content_type:
            payload["content_type"] = self.content_type
        return payload


@dataclass
class Message:
    """A message as stored; ``ephemeral`` messages are only seen by ``visible_to``."""

    id: int
    channel_id: int
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    guild_id: int | None = None
    nonce: str | int | None = None
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    visible_to: int | None = None
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    created_monotonic: float = field(default_factory=time.monotonic)
    deleted: bool = False
    attachments: list[Attachment] = field(default_factory=list)

    EPHEMERAL = 1 << 6
    LOADING = 1 << 7

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & self.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while the user sees "<bot> is thinking…" (a deferred, unanswered reply)."""
        return bool(self.flags & self.LOADING)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "channel_id": str(self.channel_id),
            "author": self.author.to_payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [a.to_payload(self.id) for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "reactions": [],
            "pinned": False,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.nonce is not None:
            payload["nonce"] = self.nonce
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            payload["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        return payload


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


class World:
    """Everything Discord knows about: the bot application and the users, guilds, channels."""

    def __init__(self, *, token: str, bot_name: str = "Steady") -> None:
        self.token = token
        self.bot = User(id=snowflake(), username=bot_name, bot=True)
        self.application_id = self.bot.id  # Discord gives a bot the same id as its app
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.dm_channel_by_user: dict[int, int] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        #: Privileged intents enabled in the (emulated) developer portal.
        self.privileged_intents_enabled = 0

    # --- creation -------------------------------------------------------------------------

    def add_user(self, username: str, *, global_name: str | None = None) -> User:
        user = User(id=snowflake(), username=username, global_name=global_name)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User,
        everyone_permissions: int = perms.DEFAULT_EVERYONE,
        bot_permissions: int = perms.DEFAULT_BOT,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        guild = Guild(id=snowflake(shard=shard), name=name, owner_id=owner.id)
        guild.roles[guild.id] = Role(
            id=guild.id, name="@everyone", permissions=everyone_permissions
        )
        bot_role = Role(
            id=snowflake(),
            name=self.bot.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(user=owner)
        guild.members[self.bot.id] = Member(user=self.bot, role_ids=[bot_role.id])
        self.guilds[guild.id] = guild
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = Role(id=snowflake(), name=name, permissions=permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = Member(user=user, role_ids=[r.id for r in roles or []])
        guild.members[user.id] = member
        return member

    def add_text_channel(self, guild: Guild, name: str) -> Channel:
        channel = Channel(
            id=snowflake(),
            type=GUILD_TEXT,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between the bot and ``user``, created on first use like Discord."""
        channel_id = self.dm_channel_by_user.get(user.id)
        if channel_id is not None:
            return self.channels[channel_id]
        channel = Channel(id=snowflake(), type=DM, recipient=user)
        self.channels[channel.id] = channel
        self.dm_channel_by_user[user.id] = channel.id
        return channel

    # --- look-ups -------------------------------------------------------------------------

    def guild_of(self, channel: Channel) -> Guild | None:
        return None if channel.guild_id is None else self.guilds.get(channel.guild_id)

    def permissions_of(self, user: User, channel: Channel) -> int:
        """What ``user`` may do in ``channel`` (everything, in their own DM with the bot)."""
        if channel.is_dm:
            return perms.ALL & ~perms.ADMINISTRATOR & ~perms.MANAGE_GUILD
        guild = self.guild_of(channel)
        if guild is None or user.id not in guild.members:
            return 0
        return perms.channel_permissions(guild, guild.members[user.id], channel)

    def bot_in_guild(self, guild: Guild) -> bool:
        return guild.bot_member and self.bot.id in guild.members

    def visible_guilds(self) -> list[Guild]:
        """The guilds the bot is a member of, which READY lists and GUILD_CREATE describes."""
        return [g for g in self.guilds.values() if self.bot_in_guild(g)]
