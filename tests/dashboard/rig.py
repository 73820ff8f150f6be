"""The dashboard as route tests see it: the real app on aiohttp's test server, the real
services on a temporary database, and the emulator standing in for Discord's OAuth2.

A member "logs in" exactly as a browser would: ``GET /login`` redirects to the emulator's
authorize URL, the emulator approves it for a user and redirects back to ``/callback`` with a
code, and the dashboard trades that code (with its PKCE verifier) for a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import discord
from aiohttp.test_utils import TestClient, TestServer

from bot.compose import Services
from dashboard.app import Dashboard, make_app
from dashboard.discord_login import DiscordLogin
from dashboard.sessions import SessionStore
from services.guild_config import ChannelAccess, missing_channel_permissions
from testkit.emulator import Emulator
from testkit.emulator import permissions as perms
from testkit.emulator.state import User
from testkit.fake_time import FakeClock

REDIRECT_URI = "http://dashboard.test/callback"
SECRET = "test-dashboard-secret-" + "x" * 32
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class FakeServers:
    """The bot's view of servers, read straight from the emulator's world: which servers the
    bot is in, the member's permissions now (Discord's algorithm), and the bot's permissions
    in each channel judged by the real ``missing_channel_permissions``."""

    emulator: Emulator
    asked: list[tuple[int, int]] = field(default_factory=list)
    forgotten: list[int] = field(default_factory=list)

    def _guild(self, guild_id: int):
        guild = self.emulator.world.guilds.get(guild_id)
        return guild if guild is not None and self.emulator.world.bot_in_guild(guild) else None

    async def bot_is_in(self, guild_id: int) -> bool:
        return self._guild(guild_id) is not None

    async def guild_name(self, guild_id: int) -> str:
        guild = self._guild(guild_id)
        return guild.name if guild else str(guild_id)

    async def member_permissions(
        self, guild_id: int, user_id: int, *, fresh: bool = False
    ) -> discord.Permissions | None:
        self.asked.append((guild_id, user_id))
        guild = self._guild(guild_id)
        if guild is None or user_id not in guild.members:
            return None
        return discord.Permissions(perms.base_permissions(guild, guild.members[user_id]))

    async def channel_access(self, guild_id: int, channel_id: int) -> ChannelAccess:
        guild = self._guild(guild_id)
        channel = guild.channels.get(channel_id) if guild else None
        if channel is None:
            return ChannelAccess(channel_id, exists=False, postable=False)
        bot = self.emulator.world.bot
        allowed = discord.Permissions(self.emulator.world.permissions_of(bot, channel))
        if not allowed.view_channel:
            return ChannelAccess(channel_id, exists=False, postable=False)
        return ChannelAccess(channel_id, missing=tuple(missing_channel_permissions(allowed)))

    async def channel_names(self, guild_id: int) -> dict[int, str]:
        guild = self._guild(guild_id)
        return {c.id: c.name or "" for c in guild.channels.values()} if guild else {}

    async def postable_channels(self, guild_id: int) -> list[tuple[int, str]]:
        return list((await self.channel_names(guild_id)).items())

    async def forget(self, guild_ids: list[int]) -> None:
        self.forgotten.extend(guild_ids)

    async def channel_accesses(self, guild_id: int) -> dict[int, ChannelAccess]:
        return {
            c: await self.channel_access(guild_id, c) for c in await self.channel_names(guild_id)
        }


def make_dashboard(
    emulator: Emulator,
    services: Services,
    wall: FakeClock,
    **options,
) -> Dashboard:
    emulator.oauth.redirect_uris = [REDIRECT_URI]
    return Dashboard(
        member_settings=services.member_settings,
        subscriptions=services.subscriptions,
        stats=services.stats,
        privacy=services.privacy,
        guild_config=services.guild_config,
        servers=options.pop("servers", None) or FakeServers(emulator),
        login=DiscordLogin(
            client_id=emulator.world.application_id,
            client_secret=emulator.oauth.client_secret,
            authorize_url=emulator.authorize_url,
            api_base=emulator.api_base,
            redirect_uri=REDIRECT_URI,
        ),
        sessions=SessionStore(
            services.member_settings.db, SECRET, clock=lambda: wall().timestamp()
        ),
        secure_cookies=options.pop("secure_cookies", False),
        **options,
    )


async def client_for(dashboard: Dashboard) -> TestClient:
    client = TestClient(TestServer(make_app(dashboard)))
    await client.start_server()
    return client


async def log_in(client: TestClient, emulator: Emulator, user: User, next_path: str = "") -> str:
    """Log ``user`` in through the emulator; returns where the dashboard sent them after."""
    query = f"?next={next_path}" if next_path else ""
    start = await client.get(f"/login{query}", allow_redirects=False)
    assert start.status == 302, await start.text()
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], user))
    done = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert done.status == 302, await done.text()
    return done.headers["Location"]


async def csrf_of(client: TestClient, path: str = "/reminders") -> str:
    page = await client.get(path)
    match = CSRF_FIELD.search(await page.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def post(client: TestClient, path: str, form: dict[str, str], *, csrf: str | None = None):
    """Submit a form as the page would (with the page's CSRF token unless one is given)."""
    token = csrf if csrf is not None else await csrf_of(client)
    return await client.post(path, data={"csrf": token, **form}, allow_redirects=False)


async def page(client, path: str = "/reminders") -> str:
    return await (await client.get(path)).text()


async def logged_in(client, emulator, user, zone: str | None = "Europe/Berlin"):
    """Logged in, with a time zone set (the member pages ask for one first)."""
    await log_in(client, emulator, user)
    if zone:
        assert (await post(client, "/settings/timezone", {"zone": zone})).status == 303
    return client
