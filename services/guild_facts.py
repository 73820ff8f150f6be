"""Server facts for the dashboard from Discord's REST API, when no bot cache is at hand.

The dashboard running as a web process of its own (``python -m bot dashboard``) has no
gateway connection, and with the bot sharded no one process sees every server anyway. So
what a server page needs — is the bot in the server, the member's permissions there, the
server's channels and the bot's permissions in them — is asked of Discord with the bot token:

* ``GET /guilds/{id}``: the name, the owner and the roles (their permissions); a 403/404
  means the bot is not in it;
* ``GET /guilds/{id}/members/{user}``: a member's roles (the member, or the bot itself);
* ``GET /guilds/{id}/channels``: the channels and their permission overwrites.

The permissions are then computed as Discord does (base permissions from the roles, the
owner and Administrator; then the channel's overwrites for @everyone, the roles, the member).

Every request goes through the token's one request limiter (:mod:`services.ratelimit`; on
PostgreSQL the schedule shared by every process of the token,
:mod:`services.engine.shared_pacing`), so the web replicas count against the same 50/s as the
bot processes — there is no second budget.

**Cached briefly in the database** (``dashboard_server_facts``), shared by every replica:

* :data:`FACTS_TTL_S` = 30 s for what decides access (a member's roles, a server's roles and
  channels). A member who loses Manage Server — a role taken away, or a role's permission
  removed — loses the server page within 30 s, and every state-changing request re-asks
  Discord for the member's roles (``fresh``), so a form is never accepted on a stale answer.
  30 s keeps a busy server cheap: a page view and the clicks after it cost at most three
  requests per server per half-minute, whichever member and replica asks, which is nothing
  beside the token's 1,500 requests per half-minute.
* :data:`ABSENT_TTL_S` = 5 min for "the bot is not in this server": a member's own server
  list names many servers the bot is not in, and asking about each every 30 s would spend the
  token's budget on nothing. A server the bot joins shows up within 5 minutes (or at once
  with the *refresh* link on *Servers*).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from domain.errors import UserFacingError
from services.bot_rest import BotRest
from services.guild_config import ChannelAccess, missing_channel_permissions
from services.ratelimit import RequestLimiter
from storage import dashboard_sessions as cache
from storage.database import Database

log = logging.getLogger(__name__)

#: How long a server's roles and channels and a member's roles are trusted (see above).
FACTS_TTL_S = 30.0
#: How long "the bot is not in this server" is trusted.
ABSENT_TTL_S = 300.0
#: A route's 429 is waited out this many times before the page gives up.
MAX_RETRIES = 3
TIMEOUT_S = 10.0

ALL_PERMISSIONS = discord.Permissions.all().value
ADMINISTRATOR = 1 << 3
#: Text (0) and announcement (5) channels: the ones a reminder or a tip can go to.
POSTABLE_TYPES = (0, 5)
UNREACHABLE = "Discord did not answer just now; try again in a minute."


class DiscordUnavailable(UserFacingError):
    """Discord could not be asked (network, 5xx, repeated 429): the page says try again."""


@dataclass(frozen=True)
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int
    deny: int


@dataclass(frozen=True)
class ChannelFacts:
    id: int
    name: str
    type: int
    position: int
    overwrites: tuple[Overwrite, ...]


def base_permissions(
    guild_id: int, owner_id: int, roles: dict[int, int], user_id: int, role_ids: list[int]
) -> int:
    """A member's server-wide permissions, as Discord computes them."""
    if user_id == owner_id:
        return ALL_PERMISSIONS
    value = roles.get(guild_id, 0)  # @everyone's role has the server's id
    for role_id in role_ids:
        value |= roles.get(role_id, 0)
    return ALL_PERMISSIONS if value & ADMINISTRATOR else value


def channel_permissions(
    base: int, guild_id: int, user_id: int, role_ids: list[int], channel: ChannelFacts
) -> int:
    """``base`` with the channel's overwrites applied: @everyone, then the roles, then the
    member's own."""
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    value = base
    by_id = {(o.type, o.id): o for o in channel.overwrites}
    everyone = by_id.get((0, guild_id))
    if everyone:
        value = (value & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in role_ids:
        o = by_id.get((0, role_id))
        if o:
            allow |= o.allow
            deny |= o.deny
    value = (value & ~deny) | allow
    member = by_id.get((1, user_id))
    if member:
        value = (value & ~member.deny) | member.allow
    return value


@dataclass(frozen=True)
class GuildFacts:
    id: int
    name: str
    owner_id: int
    roles: dict[int, int]  # role id -> permissions


class RestGuildAccess:
    """The dashboard's :class:`~dashboard.app.GuildAccess` from Discord's REST API, through
    the token's limiter, with a short cache in the database shared by every replica."""

    def __init__(
        self,
        db: Database,
        *,
        token: str,
        api_base: str,
        limiter: RequestLimiter,
        clock: Callable[[], float] = time.time,
        facts_ttl: float = FACTS_TTL_S,
        absent_ttl: float = ABSENT_TTL_S,
    ) -> None:
        self.db = db
        self.api_base = api_base.rstrip("/")
        self._clock = clock
        self.facts_ttl = facts_ttl
        self.absent_ttl = absent_ttl
        self._rest = BotRest(token, limiter, TIMEOUT_S)
        self._bot_id: int | None = None
        # One question to Discord per fact at a time: pages asking for the same server at
        # once wait for the one answer (and its row in the cache) instead of asking again.
        self._in_flight: dict[str, asyncio.Future[Any]] = {}
        self.requests = 0  # asked of Discord since start (tests, metrics)

    # --- HTTP --------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._rest.close()

    async def _get(self, path: str) -> Any:
        """The JSON Discord answers, or ``None`` for 403/404 (not in it, no such thing)."""
        for _ in range(MAX_RETRIES + 1):
            self.requests += 1
            try:
                async with self._rest.session().get(f"{self.api_base}{path}") as response:
                    if response.status in (403, 404):
                        return None
                    if response.status == 429:
                        try:
                            wait = float((await response.json())["retry_after"])
                        except Exception:
                            wait = float(response.headers.get("Retry-After", 1))
                        await asyncio.sleep(min(wait, 5.0))
                        continue
                    if response.status >= 400:
                        log.warning("Discord answered %d to a dashboard look-up", response.status)
                        raise DiscordUnavailable(UNREACHABLE)
                    return await response.json()
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("Discord look-up failed: %s", error.__class__.__name__)
                raise DiscordUnavailable(UNREACHABLE) from None
        raise DiscordUnavailable(UNREACHABLE)

    async def _cached(self, key: str, fetch: Callable[[], Any], *, fresh: bool = False) -> Any:
        """The fact stored under ``key``, or asked of Discord and stored. ``fetch`` returns
        (value, ttl)."""
        if not fresh:
            text = await cache.get_fact(self.db, key, self._clock())
            if text is not None:
                return json.loads(text)
            pending = self._in_flight.get(key)
            if pending is not None:
                return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            value, ttl = await fetch()
            await cache.put_fact(self.db, key, json.dumps(value), self._clock() + ttl)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]

    async def bot_id(self) -> int:
        if self._bot_id is None:
            me = await self._get("/users/@me")
            if not me:
                raise DiscordUnavailable(UNREACHABLE)
            self._bot_id = int(me["id"])
        return self._bot_id

    async def application_id(self) -> int:
        """The bot's application id (the OAuth2 client id when none is configured)."""
        app = await self._get("/oauth2/applications/@me")
        if not app:
            raise DiscordUnavailable(UNREACHABLE)
        return int(app["id"])

    # --- facts ---------------------------------------------------------------------------------

    async def _guild(self, guild_id: int) -> GuildFacts | None:
        async def fetch() -> tuple[Any, float]:
            payload = await self._get(f"/guilds/{guild_id}")
            if not payload:
                return None, self.absent_ttl
            return {
                "name": str(payload.get("name") or guild_id),
                "owner_id": str(payload.get("owner_id") or 0),
                "roles": {str(r["id"]): str(r.get("permissions") or 0) for r in payload["roles"]},
            }, self.facts_ttl

        value = await self._cached(f"guild:{guild_id}", fetch)
        if value is None:
            return None
        return GuildFacts(
            guild_id,
            value["name"],
            int(value["owner_id"]),
            {int(k): int(v) for k, v in value["roles"].items()},
        )

    async def _member_roles(
        self, guild_id: int, user_id: int, *, fresh: bool = False
    ) -> list[int] | None:
        async def fetch() -> tuple[Any, float]:
            payload = await self._get(f"/guilds/{guild_id}/members/{user_id}")
            return (None if not payload else [str(r) for r in payload.get("roles", [])]), (
                self.facts_ttl
            )

        value = await self._cached(f"member:{guild_id}:{user_id}", fetch, fresh=fresh)
        return None if value is None else [int(r) for r in value]

    async def _channels(self, guild_id: int) -> list[ChannelFacts]:
        async def fetch() -> tuple[Any, float]:
            payload = await self._get(f"/guilds/{guild_id}/channels")
            channels = [
                {
                    "id": str(c["id"]),
                    "name": str(c.get("name") or ""),
                    "type": int(c.get("type", 0)),
                    "position": int(c.get("position") or 0),
                    "overwrites": [
                        [str(o["id"]), int(o["type"]), str(o["allow"]), str(o["deny"])]
                        for o in c.get("permission_overwrites") or []
                    ],
                }
                for c in payload or []
            ]
            return channels, self.facts_ttl

        value = await self._cached(f"channels:{guild_id}", fetch)
        return [
            ChannelFacts(
                int(c["id"]),
                c["name"],
                c["type"],
                c["position"],
                tuple(Overwrite(int(i), t, int(a), int(d)) for i, t, a, d in c["overwrites"]),
            )
            for c in value
        ]

    # --- GuildAccess --------------------------------------------------------------------------

    async def bot_is_in(self, guild_id: int) -> bool:
        return await self._guild(guild_id) is not None

    async def guild_name(self, guild_id: int) -> str:
        guild = await self._guild(guild_id)
        return guild.name if guild else str(guild_id)

    async def member_permissions(
        self, guild_id: int, user_id: int, *, fresh: bool = False
    ) -> discord.Permissions | None:
        """The member's permissions now (``fresh``: their roles asked of Discord this very
        request — every state-changing request does), else at most :data:`FACTS_TTL_S` old."""
        guild = await self._guild(guild_id)
        if guild is None:
            return None
        roles = await self._member_roles(guild_id, user_id, fresh=fresh)
        if roles is None:
            return None
        return discord.Permissions(
            base_permissions(guild_id, guild.owner_id, guild.roles, user_id, roles)
        )

    async def channel_accesses(self, guild_id: int) -> dict[int, ChannelAccess]:
        guild = await self._guild(guild_id)
        if guild is None:
            return {}
        bot_id = await self.bot_id()
        bot_roles = await self._member_roles(guild_id, bot_id) or []
        base = base_permissions(guild_id, guild.owner_id, guild.roles, bot_id, bot_roles)
        accesses = {}
        for channel in await self._channels(guild_id):
            if channel.type not in POSTABLE_TYPES:
                accesses[channel.id] = ChannelAccess(channel.id, postable=False)
                continue
            allowed = channel_permissions(base, guild_id, bot_id, bot_roles, channel)
            missing = missing_channel_permissions(discord.Permissions(allowed))
            accesses[channel.id] = ChannelAccess(channel.id, missing=tuple(missing))
        return accesses

    async def channel_access(self, guild_id: int, channel_id: int) -> ChannelAccess:
        access = (await self.channel_accesses(guild_id)).get(channel_id)
        return access or ChannelAccess(channel_id, exists=False, postable=False)

    async def channel_names(self, guild_id: int) -> dict[int, str]:
        if await self._guild(guild_id) is None:
            return {}
        return {c.id: c.name for c in await self._channels(guild_id)}

    async def postable_channels(self, guild_id: int) -> list[tuple[int, str]]:
        if await self._guild(guild_id) is None:
            return []
        channels = sorted(await self._channels(guild_id), key=lambda c: (c.position, c.id))
        return [(c.id, c.name) for c in channels if c.type in POSTABLE_TYPES]

    async def forget(self, guild_ids: list[int]) -> None:
        """Ask Discord again next time (the *refresh* link on *Servers*)."""
        keys = [f"{kind}:{g}" for g in guild_ids for kind in ("guild", "channels")]
        await cache.drop_facts(self.db, keys)
