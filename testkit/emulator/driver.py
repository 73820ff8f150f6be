"""The test-facing API: build a Discord world, act as its users, read what they see.

A test reads like a user's session::

    alice = driver.add_user("alice")
    guild = driver.add_guild("Twitch Support", owner=alice)
    general = driver.add_channel(guild, "general")
    reply = await driver.slash("nutrient", user=alice, channel=general, name="magnesium")
    assert "Magnesium" in reply.embeds[0]["title"]

Every wait is on an emulator condition with a timeout; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from testkit.emulator import interactions as ix
from testkit.emulator import permissions as perms
from testkit.emulator.errors import CANNOT_DM_USER, MISSING_ACCESS, MISSING_PERMISSIONS
from testkit.emulator.faults import InjectedFault
from testkit.emulator.ratelimit import BucketRule
from testkit.emulator.server import Emulator, Stats
from testkit.emulator.state import Channel, Guild, Message, Overwrite, Role, User
from testkit.emulator.validation import Rejection

DEFAULT_TIMEOUT = 10.0


class InteractionFailed(AssertionError):
    """What the user sees as "The application did not respond" / "This interaction failed"."""


class Reply:
    """What the user sees after a command or a click: the answer message and any followups.

    Properties read the live message, so a later edit by the bot shows up here too.
    """

    def __init__(self, driver: Driver, record: ix.InteractionRecord) -> None:
        self._driver = driver
        self.interaction = record

    @property
    def message(self) -> Message | None:
        return self.interaction.original

    @property
    def content(self) -> str:
        return self.message.content if self.message else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message else []

    @property
    def embed(self) -> dict[str, Any]:
        """The one embed of the answer (fails if there is not exactly one)."""
        assert len(self.embeds) == 1, f"expected one embed, the user sees {len(self.embeds)}"
        return self.embeds[0]

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components if self.message else []

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [
            c for row in self.components for c in row.get("components", []) if c.get("type") == 2
        ]

    @property
    def ephemeral(self) -> bool:
        """True when only the invoking user sees the answer ("Only you can see this")."""
        return bool(self.message and self.message.ephemeral)

    @property
    def deferred(self) -> bool:
        return self.interaction.callback_type in (
            ix.DEFERRED_CHANNEL_MESSAGE,
            ix.DEFERRED_UPDATE_MESSAGE,
        )

    @property
    def followups(self) -> list[Message]:
        return self.interaction.followups

    @property
    def text(self) -> str:
        """Everything readable in the answer: content, embed titles, descriptions, fields, footer."""
        return message_text(self.message) if self.message else ""

    async def wait_for_followups(
        self, count: int = 1, within: float = DEFAULT_TIMEOUT
    ) -> list[Message]:
        await self._driver.emulator.wait_until(
            lambda: len(self.followups) >= count, within=within, what=f"{count} followup(s)"
        )
        return self.followups

    def __repr__(self) -> str:
        return (
            f"<Reply ephemeral={self.ephemeral} content={self.content!r} embeds={len(self.embeds)}>"
        )


def message_text(message: Message) -> str:
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields") or []:
            parts += [field.get("name") or "", field.get("value") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
        parts.append((embed.get("author") or {}).get("name") or "")
    return "\n".join(p for p in parts if p)


class Driver:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.world = emulator.world
        self._pending: list[asyncio.Task[Any]] = []

    # --- the world ------------------------------------------------------------------------------

    @property
    def bot(self) -> User:
        return self.world.bot

    def add_user(self, username: str, *, global_name: str | None = None) -> User:
        return self.world.add_user(username, global_name=global_name)

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        members: Iterable[User] = (),
        bot_permissions: int = perms.DEFAULT_BOT,
        everyone_permissions: int = perms.DEFAULT_EVERYONE,
        channels: Iterable[str] = ("general",),
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A server with the bot in it (GUILD_CREATE is sent if the bot is connected).

        ``shard=(shard_id, shard_count)`` picks an id whose events go to that shard.
        """
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = self.world.add_guild(
            name,
            owner=owner,
            everyone_permissions=everyone_permissions,
            bot_permissions=bot_permissions,
            shard=shard,
        )
        for user in members:
            self.world.add_member(guild, user)
        for channel_name in channels:
            self.world.add_text_channel(guild, channel_name)
        self._dispatch_soon("GUILD_CREATE", guild.to_payload(self.world.bot))
        return guild

    def add_member(self, guild: Guild, user: User, *, roles: Iterable[Role] = ()) -> None:
        self.world.add_member(guild, user, list(roles))

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = self.world.add_role(guild, name, permissions)
        self._dispatch_soon(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_payload()}
        )
        return role

    def give_role(self, guild: Guild, user: User, role: Role) -> None:
        guild.members[user.id].role_ids.append(role.id)

    def add_channel(self, guild: Guild, name: str) -> Channel:
        channel = self.world.add_text_channel(guild, name)
        self._dispatch_soon("CHANNEL_CREATE", channel.to_payload())
        return channel

    def channel(self, guild: Guild, name: str) -> Channel:
        return next(c for c in guild.channels.values() if c.name == name)

    def set_overwrite(
        self, channel: Channel, target: Role | User, *, allow: int = 0, deny: int = 0
    ) -> None:
        """A channel permission overwrite for a role or a member (CHANNEL_UPDATE is sent)."""
        kind = 1 if isinstance(target, User) else 0
        channel.overwrites[target.id] = Overwrite(target.id, kind, allow=allow, deny=deny)
        self._dispatch_soon("CHANNEL_UPDATE", channel.to_payload())

    def set_role_permissions(self, guild: Guild, role: Role, permissions: int) -> None:
        role.permissions = permissions
        self._dispatch_soon(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.to_payload()}
        )

    def bot_role(self, guild: Guild) -> Role:
        return next(r for r in guild.roles.values() if r.managed)

    def dm_channel(self, user: User) -> Channel:
        return self.world.dm_channel(user)

    def default_channel(self, guild: Guild) -> Channel:
        return next(iter(guild.channels.values()))

    # --- acting as users ------------------------------------------------------------------------

    def _where(
        self, user: User, guild: Guild | None, channel: Channel | None
    ) -> tuple[Guild | None, Channel]:
        if channel is None:
            channel = self.default_channel(guild) if guild else self.world.dm_channel(user)
        guild = self.world.guild_of(channel)
        if guild is not None:
            if user.id not in guild.members:
                raise ix.ClientRefused(f"{user.username} is not a member of {guild.name}")
            have = self.world.permissions_of(user, channel)
            if not have & perms.VIEW_CHANNEL:
                raise ix.ClientRefused(f"{user.username} cannot see #{channel.name}")
        return guild, channel

    async def slash(
        self,
        command: str,
        *,
        user: User,
        guild: Guild | None = None,
        channel: Channel | None = None,
        force: bool = False,
        within: float = DEFAULT_TIMEOUT,
        options: dict[str, Any] | None = None,
        **more_options: Any,
    ) -> Reply:
        """Run ``/command`` (``"remind start"`` for sub-commands) as ``user``.

        Options go in as keywords (``name="magnesium"``), or in ``options=`` when their name
        clashes with a parameter here (``options={"channel": tips}``). Without
        ``guild``/``channel`` it runs in the user's DM with the bot. Returns once the user
        sees an answer (after the followup or edit, if the bot deferred). ``force=True`` sends
        it even where Discord's client would hide the command (default permissions).
        """
        options = {**(options or {}), **more_options}
        await self.settle()
        guild, channel = self._where(user, guild, channel)
        definition, path, _ = ix.find_command(self.world, command, guild)
        if not force:
            ix.check_visible(self.world, definition, user, guild)
        data = ix.build_command_data(self.world, definition, path, options, guild, channel)
        record = await self._send_interaction(ix.APPLICATION_COMMAND, data, user, channel, guild)
        await self._wait_answer(record, f"/{command}", within)
        return Reply(self, record)

    async def autocomplete(
        self,
        command: str,
        option: str,
        typed: str,
        *,
        user: User,
        guild: Guild | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        **more_options: Any,
    ) -> list[dict[str, Any]]:
        """The choices the user sees while typing ``typed`` into ``option``."""
        other_options = {**(options or {}), **more_options}
        await self.settle()
        guild, channel = self._where(user, guild, channel)
        definition, path, _ = ix.find_command(self.world, command, guild)
        values = {**other_options, option: typed}
        data = ix.build_command_data(
            self.world, definition, path, values, guild, channel, focused=option
        )
        record = await self._send_interaction(ix.AUTOCOMPLETE, data, user, channel, guild)
        await self._wait_answer(record, f"autocomplete of /{command} {option}", DEFAULT_TIMEOUT)
        return list(record.choices or [])

    async def click(
        self,
        message: Message,
        custom_id: str,
        *,
        user: User,
        within: float = DEFAULT_TIMEOUT,
    ) -> Reply:
        """Click the button ``custom_id`` on ``message`` as ``user``."""
        await self.settle()
        if message.deleted:
            raise ix.ClientRefused("the message was deleted")
        if message.visible_to is not None and message.visible_to != user.id:
            raise ix.ClientRefused(f"{user.username} cannot see that ephemeral message")
        button = next(
            (
                c
                for row in message.components
                for c in row.get("components", [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if button is None:
            raise ix.ClientRefused(f"no component {custom_id!r} on the message")
        if button.get("disabled"):
            raise ix.ClientRefused(f"button {custom_id!r} is disabled")
        channel = self.world.channels[message.channel_id]
        guild, channel = self._where(user, None, channel)
        data = {"custom_id": custom_id, "component_type": button["type"]}
        if "id" in button:
            data["id"] = button["id"]
        record = await self._send_interaction(
            ix.MESSAGE_COMPONENT, data, user, channel, guild, message=message
        )
        await self._wait_answer(record, f"click on {custom_id!r}", within)
        return Reply(self, record)

    async def _send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: User,
        channel: Channel,
        guild: Guild | None,
        *,
        message: Message | None = None,
    ) -> ix.InteractionRecord:
        gateway = self.emulator.gateway
        guild_id = guild.id if guild else None
        if not gateway.connected_for(guild_id):
            await self.emulator.wait_until(
                lambda: gateway.connected_for(guild_id), what="the bot's shard to be connected"
            )
        interaction_id, token, payload = ix.interaction_payload(
            self.world,
            kind=kind,
            data=data,
            user=user,
            channel=channel,
            guild=guild,
            message=message,
        )
        record = ix.InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            user=user,
            channel=channel,
            guild=guild,
            payload=payload,
        )
        self.emulator.register_interaction(record)
        await self.emulator.gateway.dispatch("INTERACTION_CREATE", payload)
        return record

    async def _wait_answer(self, record: ix.InteractionRecord, what: str, within: float) -> None:
        emu = self.emulator
        rejected_before = len(emu.rejections)
        deadline = emu.interaction_deadline

        def settled() -> bool:
            if record.answered or len(emu.rejections) > rejected_before:
                return True
            return not record.acknowledged and time.monotonic() - record.created > deadline

        await emu.wait_until(settled, within=within, what=f"an answer to {what}")
        if len(emu.rejections) > rejected_before:
            raise AssertionError(
                f"Discord rejected the bot's answer to {what}: {emu.rejections[-1]}"
            )
        if not record.acknowledged:
            raise InteractionFailed(
                f"{what}: the application did not respond within {deadline:.0f}s"
            )

    # --- reading what users see -------------------------------------------------------------------

    def messages_in(self, channel: Channel, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages in a channel, oldest first; by default what every member sees."""
        return [
            m
            for m in self.world.messages.values()
            if m.channel_id == channel.id
            and not m.deleted
            and (include_ephemeral or not m.ephemeral)
        ]

    def dm_messages(self, user: User) -> list[Message]:
        """What the bot sent ``user`` in their DMs (empty if it never opened the DM)."""
        channel_id = self.world.dm_channel_by_user.get(user.id)
        if channel_id is None:
            return []
        return self.messages_in(self.world.channels[channel_id], include_ephemeral=True)

    async def wait_for_message(
        self,
        where: Channel | User,
        predicate: Callable[[Message], bool] = lambda m: True,
        *,
        count: int = 1,
        within: float = DEFAULT_TIMEOUT,
    ) -> list[Message]:
        """Wait until ``count`` matching messages are in a channel (or a user's DMs)."""

        def found() -> list[Message]:
            msgs = self.dm_messages(where) if isinstance(where, User) else self.messages_in(where)
            matching = [m for m in msgs if predicate(m)]
            return matching if len(matching) >= count else []

        name = where.username if isinstance(where, User) else f"#{where.name}"
        return await self.emulator.wait_until(
            found, within=within, what=f"{count} message(s) in {name}"
        )

    @property
    def stats(self) -> Stats:
        return self.emulator.stats

    @property
    def rejections(self) -> list[Rejection]:
        return self.emulator.rejections

    # --- faults -----------------------------------------------------------------------------------

    def close_dms(self, user: User) -> None:
        """The user turned off DMs from server members: sends to them get 403 50007."""
        user.dms_open = False

    def open_dms(self, user: User) -> None:
        user.dms_open = True

    def fail_next(
        self,
        pattern: str,
        *,
        status: int = 500,
        count: int = 1,
        code: int = 0,
        message: str | None = None,
    ) -> InjectedFault:
        """Answer the next ``count`` requests matching ``"METHOD /path"`` (fnmatch) with an error.

        Note discord.py retries 500/502/504 itself (sleeping 1, 3, 5... s), so keep ``count``
        small for 5xx.
        """
        body = {"message": message or f"{status}: emulated failure", "code": code}
        fault = InjectedFault(pattern, status, body, count)
        self.emulator.faults.injected.append(fault)
        return fault

    def fail_next_with(
        self, pattern: str, error: tuple[int, int, str], *, count: int = 1
    ) -> InjectedFault:
        status, code, message = error
        return self.fail_next(pattern, status=status, count=count, code=code, message=message)

    def rate_limit_storm(
        self, pattern: str, *, count: int, retry_after: float = 0.05, is_global: bool = False
    ) -> InjectedFault:
        """The next ``count`` matching requests get 429s (with ``Via``, so discord.py retries)."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        fault = InjectedFault(pattern, 429, body, count, headers=headers)
        self.emulator.faults.injected.append(fault)
        return fault

    def set_global_rate_limit(self, limit: int, window: float = 1.0) -> None:
        self.emulator.limiter.global_limit = limit
        self.emulator.limiter.global_window = window

    def set_route_limit(self, method: str, template: str, limit: int, window: float) -> None:
        """e.g. ``("POST", "/channels/{channel_id}/messages", 5, 5.0)``."""
        self.emulator.limiter.rules[(method, template)] = BucketRule(
            f"custom-{method}-{template}", limit, window
        )

    async def delete_channel(self, channel: Channel) -> None:
        """Someone deleted the channel: 404 10003 from now on, CHANNEL_DELETE sent."""
        guild = self.world.guild_of(channel)
        self.world.channels.pop(channel.id, None)
        if guild is not None:
            guild.channels.pop(channel.id, None)
        await self.emulator.gateway.dispatch("CHANNEL_DELETE", channel.to_payload())
        self.emulator.notify()

    async def remove_bot_from_guild(self, guild: Guild) -> None:
        """The bot was kicked: 403 50001 on the guild's channels, GUILD_DELETE sent."""
        guild.bot_member = False
        await self.emulator.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)})
        self.emulator.notify()

    def deny_bot(self, channel: Channel, permission: int) -> None:
        """Overwrite ``permission`` away from the bot's role in ``channel``."""
        guild = self.world.guild_of(channel)
        assert guild is not None
        self.set_overwrite(channel, self.bot_role(guild), deny=permission)

    # --- gateway ------------------------------------------------------------------------------------

    async def gateway_reconnect(self) -> None:
        """Op 7 RECONNECT: the bot should reconnect and RESUME without losing events."""
        await self.emulator.gateway.request_reconnect()

    async def gateway_close(self, code: int = 4000, message: str = "emulated close") -> None:
        await self.emulator.gateway.close_connections(code, message)

    def hold_gateway(self) -> None:
        """A gateway outage: reconnecting clients wait (events meanwhile are kept for RESUME)."""
        self.emulator.gateway.hold()

    def release_gateway(self) -> None:
        self.emulator.gateway.release()

    async def wait_until_disconnected(self, within: float = DEFAULT_TIMEOUT) -> None:
        gateway = self.emulator.gateway
        await self.emulator.wait_until(
            lambda: not gateway.live_connections(), within=within, what="the bot to disconnect"
        )

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        await self.emulator.gateway.invalidate_sessions(resumable=resumable)

    async def wait_for_ready(self, count: int = 1, within: float = DEFAULT_TIMEOUT) -> None:
        """Wait until READY has been sent ``count`` times in total (and GUILD_CREATEs after it)."""
        gateway = self.emulator.gateway
        await self.emulator.wait_until(
            lambda: gateway.ready_sent >= count and gateway.live_connections(),
            within=within,
            what=f"READY #{count}",
        )

    async def wait_for_resume(self, count: int = 1, within: float = DEFAULT_TIMEOUT) -> None:
        gateway = self.emulator.gateway
        await self.emulator.wait_until(
            lambda: gateway.resumes >= count and gateway.live_connections(),
            within=within,
            what=f"RESUME #{count}",
        )

    # --- plumbing ---------------------------------------------------------------------------------

    def _dispatch_soon(self, event: str, data: Any) -> None:
        """World changes made from sync code reach the bot in order, before the next action."""
        if not self.emulator.gateway.sessions:
            return
        task = asyncio.get_running_loop().create_task(self.emulator.gateway.dispatch(event, data))
        self._pending.append(task)

    async def settle(self) -> None:
        pending, self._pending = self._pending, []
        for task in pending:
            await task


__all__ = [
    "CANNOT_DM_USER",
    "MISSING_ACCESS",
    "MISSING_PERMISSIONS",
    "Driver",
    "InteractionFailed",
    "Reply",
]
