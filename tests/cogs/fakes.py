"""Strict fakes for the /remind, /config and /privacy cog tests (no tests here).

Discord objects are ``spec_set`` / autospec mocks, so a handler that touches an attribute
or calls a method Discord's classes don't have fails the test instead of passing silently.
The interaction response behaves like Discord's in the one way handlers rely on: it can be
answered once; after that ``is_done()`` is true and further answers go through ``followup``.

The logic under the handlers is real: the services the bot builds (:func:`bot.compose.build_services`)
over a temporary SQLite database, with a fixed clock that only moves when a test moves it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, create_autospec

import discord
from discord import app_commands

from bot.compose import Services, build_services
from content import Content, load_content
from services.buttons import ReminderButtons
from services.engine.sender import DeliveryResult
from services.guild_config import GuildConfig
from services.member_settings import MemberSettings
from services.privacy import Privacy
from services.stats import ReminderStats
from services.subscriptions import Subscriptions
from storage import ledger
from storage.database import Database
from storage.ledger import Delivery

CONTENT = load_content()
T0 = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)  # a Monday; 12:00 in Berlin
USER = 4242
OTHER_USER = 777
GUILD = 9001
BOT_USER = 1
DM_CHANNEL = 55_000


class FixedClock:
    """The service's clock: it stands still unless a test calls ``advance``."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass(slots=True)
class FakeBot:
    """Exactly what the cogs read from the bot; ``slots`` makes any other attribute an error."""

    db: Database
    content: Content
    member_settings: MemberSettings
    subscriptions: Subscriptions
    reminder_buttons: ReminderButtons
    reminder_stats: ReminderStats
    privacy: Privacy
    guild_config: GuildConfig


@dataclass
class FakeSender:
    """Stands in for the engine's paced sender behind ``/remind test``.

    Records each delivery it is given and marks it sent in the ledger as the real sender
    would, so the buttons of that reminder then work on a real ``sent`` row.
    """

    db: Database
    clock: FixedClock
    result_state: str = "sent"
    via: str = "dm"
    channel_id: int = DM_CHANNEL
    error: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    # Set: the send waits for this (a sender with a queue ahead of it).
    hold: asyncio.Future[DeliveryResult] | None = None
    _next_message: int = 70_000

    async def __call__(self, delivery: Delivery) -> DeliveryResult:
        self.deliveries.append(delivery)
        if self.hold is not None:
            return await self.hold
        if self.result_state != "sent":
            return DeliveryResult(delivery.id, self.result_state, error=self.error)
        self._next_message += 1
        now = int(self.clock().timestamp())
        await ledger.mark_sent(
            self.db, delivery.id, self.channel_id, self._next_message, self.via, now
        )
        return DeliveryResult(delivery.id, "sent", self.via, self.channel_id, self._next_message)


@dataclass
class Rig:
    db: Database
    clock: FixedClock
    sender: FakeSender
    services: Services
    bot: FakeBot
    changes: list[int]

    @property
    def member_settings(self) -> MemberSettings:
        return self.services.member_settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.services.subscriptions

    @property
    def buttons(self) -> ReminderButtons:
        return self.services.buttons

    @property
    def stats(self) -> ReminderStats:
        return self.services.stats

    @property
    def privacy(self) -> Privacy:
        return self.services.privacy

    @property
    def guild_config(self) -> GuildConfig:
        return self.services.guild_config


async def open_db(tmp_path: Path) -> Database:
    db = await Database.open(f"sqlite:///{tmp_path}/t.sqlite3")
    await db.migrate()
    return db


def make_rig(db: Database, clock: FixedClock | None = None, *, test_timeout: float = 20.0) -> Rig:
    clock = clock or FixedClock()
    sender = FakeSender(db, clock)
    changes: list[int] = []
    services = build_services(
        db,
        clock=clock,
        on_change=lambda: changes.append(1),
        send_now=sender,
        test_timeout=test_timeout,
    )
    bot = FakeBot(
        db,
        CONTENT,
        services.member_settings,
        services.subscriptions,
        services.buttons,
        services.stats,
        services.privacy,
        services.guild_config,
    )
    return Rig(db, clock, sender, services, bot, changes)


async def snapshot(db: Database) -> list[list[tuple[Any, ...]]]:
    """Every row the reminder features store, to prove a refused command changed nothing."""
    out = []
    for table in ("members", "subscriptions", "snoozes", "deliveries", "guild_settings"):
        out.append([tuple(row) for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY 1")])
    return out


# --- Discord objects ---------------------------------------------------------------------


def make_response(interaction: MagicMock) -> MagicMock:
    """``discord.InteractionResponse`` with real signatures that can be answered once."""
    response = create_autospec(discord.InteractionResponse, instance=True, spec_set=True)
    state = {"done": False}

    def answer(*_args: Any, **_kwargs: Any) -> None:
        if state["done"]:
            raise discord.InteractionResponded(interaction)
        state["done"] = True

    for name in ("send_message", "defer", "edit_message"):
        getattr(response, name).side_effect = answer
    response.is_done.side_effect = lambda: state["done"]
    return response


def make_user(user_id: int) -> MagicMock:
    user = MagicMock(spec_set=discord.User)
    user.id = user_id
    user.mention = f"<@{user_id}>"
    return user


def make_interaction(
    *,
    user_id: int = USER,
    client: FakeBot | None = None,
    guild: MagicMock | None = None,
    guild_id: int | None = None,
    permissions: discord.Permissions | None = None,
    custom_id: str | None = None,
) -> MagicMock:
    """An interaction in a server (``guild`` or ``guild_id``) or, without either, in DMs."""
    interaction = MagicMock(spec_set=discord.Interaction)
    interaction.user = make_user(user_id)
    interaction.client = client
    interaction.guild = guild
    interaction.guild_id = guild.id if guild is not None else guild_id
    interaction.channel_id = 31_337
    interaction.permissions = permissions if permissions is not None else discord.Permissions()
    interaction.command = None
    interaction.data = {"custom_id": custom_id} if custom_id else {"options": []}
    interaction.response = make_response(interaction)
    interaction.followup = create_autospec(discord.Webhook, instance=True, spec_set=True)
    return interaction


def sent(interaction: MagicMock) -> tuple[str | None, dict[str, Any]]:
    """The one ephemeral answer a handler sent: its text and its keyword arguments."""
    interaction.response.send_message.assert_awaited_once()
    call = interaction.response.send_message.await_args
    assert call.kwargs.get("ephemeral") is True, "answers must be ephemeral"
    text = call.args[0] if call.args else call.kwargs.get("content")
    return text, call.kwargs


def followed_up(interaction: MagicMock) -> str:
    """The one ephemeral follow-up (after ``defer``)."""
    interaction.followup.send.assert_awaited_once()
    call = interaction.followup.send.await_args
    assert call.kwargs.get("ephemeral") is True, "follow-ups must be ephemeral"
    return call.args[0] if call.args else call.kwargs["content"]


def make_channel(
    channel_id: int,
    guild: MagicMock,
    bot_permissions: discord.Permissions,
    kind: type[discord.abc.GuildChannel] | type[discord.Thread] = discord.TextChannel,
) -> MagicMock:
    """A channel (text unless ``kind`` says otherwise) whose ``permissions_for(guild.me)`` is
    ``bot_permissions``."""
    channel = MagicMock(spec_set=kind)
    channel.id = channel_id
    channel.guild = guild
    channel.mention = f"<#{channel_id}>"

    def permissions_for(obj: object) -> discord.Permissions:
        assert obj is guild.me, "the bot's own permissions must be checked"
        return bot_permissions

    channel.permissions_for.side_effect = permissions_for
    return channel


def make_guild(
    guild_id: int = GUILD,
    channels: dict[int, discord.Permissions] | None = None,
    others: dict[int, type[discord.abc.GuildChannel] | type[discord.Thread]] | None = None,
):
    """A server with text channels (``channels`` maps id -> the bot's permissions there) and
    ``others`` of other kinds (id -> class)."""
    guild = MagicMock(spec_set=discord.Guild)
    guild.id = guild_id
    guild.name = "Calm Muscles"
    guild.me = MagicMock(spec_set=discord.Member)
    guild.me.id = BOT_USER
    known = {cid: make_channel(cid, guild, perms) for cid, perms in (channels or {}).items()}
    for cid, kind in (others or {}).items():
        known[cid] = make_channel(cid, guild, discord.Permissions.all(), kind)
    guild.get_channel.side_effect = known.get
    guild.get_channel_or_thread.side_effect = known.get
    return guild


def option_channel(
    channel_id: int, kind: discord.ChannelType = discord.ChannelType.text
) -> MagicMock:
    """The ``channel`` option of a slash command, as discord.py resolves it."""
    channel = MagicMock(spec_set=app_commands.AppCommandChannel)
    channel.id = channel_id
    channel.type = kind
    channel.mention = f"<#{channel_id}>"
    return channel


def good_channel_permissions() -> discord.Permissions:
    return discord.Permissions(view_channel=True, send_messages=True, embed_links=True)


def manager_permissions() -> discord.Permissions:
    return discord.Permissions(manage_guild=True)
