"""The web dashboard's server, and the bot's view of servers for it (see :mod:`dashboard`).

Two ways to run it. Inside the bot process (``DASHBOARD_PORT`` on ``python -m bot``, the small
single-process install): a change made on a page goes through services whose ``on_change``
wakes the same dispatcher at once, and the bot's own view of servers, roles and channels
(:class:`BotGuildAccess`) answers "may this member manage this server" and "can the bot post
in this channel". As a process of its own (``python -m bot dashboard``,
:mod:`bot.web_process`): the same :func:`build_dashboard` and :class:`DashboardServer`, with
Discord's REST API answering instead (:class:`services.guild_facts.RestGuildAccess`).
Sessions are in the database either way (:mod:`services.web_sessions`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from aiohttp import web

from dashboard.app import Dashboard, GuildAccess, make_app
from dashboard.discord_login import DiscordLogin
from domain.errors import StartupError
from services.guild_config import ChannelAccess, channel_access
from services.web_sessions import SessionStore
from storage.database import Database

if TYPE_CHECKING:
    from bot.compose import Services
    from bot.settings import Settings

log = logging.getLogger(__name__)


class BotGuildAccess:
    """Server questions answered from the running bot: its cache, plus one member fetch."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    async def bot_is_in(self, guild_id: int) -> bool:
        return self.bot.get_guild(guild_id) is not None

    async def guild_name(self, guild_id: int) -> str:
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild else str(guild_id)

    async def member_permissions(
        self, guild_id: int, user_id: int, *, fresh: bool = False
    ) -> discord.Permissions | None:
        """Asked of Discord at every request (``fresh`` or not), so a member who lost the
        right loses the page.

        The member is fetched (one REST request: the bot has no member cache); their roles'
        permissions come from the bot's guild cache, which role events keep current.
        """
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None
        try:
            member = await guild.fetch_member(user_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        return member.guild_permissions

    async def channel_access(self, guild_id: int, channel_id: int) -> ChannelAccess:
        return channel_access(self.bot.get_guild(guild_id), channel_id)

    async def channel_accesses(self, guild_id: int) -> dict[int, ChannelAccess]:
        guild = self.bot.get_guild(guild_id)
        return {c.id: channel_access(guild, c.id) for c in guild.channels} if guild else {}

    async def channel_names(self, guild_id: int) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        return {c.id: c.name for c in guild.channels} if guild else {}

    async def forget(self, guild_ids: list[int]) -> None:
        """Nothing to forget: the bot's cache follows Discord's events."""

    async def postable_channels(self, guild_id: int) -> list[tuple[int, str]]:
        guild = self.bot.get_guild(guild_id)
        return [(c.id, c.name) for c in guild.text_channels] if guild else []


def build_dashboard(
    settings: Settings,
    application_id: int,
    services: Services,
    servers: GuildAccess,
    db: Database,
) -> Dashboard:
    """The dashboard over ``services`` (built over the pages' reads), with ``DASHBOARD_*``;
    its sessions in ``db``."""
    base_url = settings.dashboard_base_url
    return Dashboard(
        member_settings=services.member_settings,
        subscriptions=services.subscriptions,
        stats=services.stats,
        privacy=services.privacy,
        guild_config=services.guild_config,
        servers=servers,
        login=DiscordLogin(
            client_id=settings.discord_client_id or application_id,
            client_secret=settings.discord_client_secret.get_secret_value().strip(),
            authorize_url=settings.discord_authorize_url,
            api_base=settings.discord_api_base,
            redirect_uri=f"{base_url}/callback",
        ),
        sessions=SessionStore(db, settings.dashboard_secret.get_secret_value().strip()),
        secure_cookies=base_url.startswith("https://"),
    )


class DashboardServer:
    """The dashboard's web server inside the bot: started in setup_hook, stopped in close."""

    def __init__(self, dashboard: Dashboard, *, host: str, port: int, base_url: str) -> None:
        self.dashboard = dashboard
        self.host = host
        self.port = port
        self.base_url = base_url
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(
            make_app(self.dashboard), access_log=None, handle_signals=False, shutdown_timeout=5.0
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as error:
            await self.stop()
            raise StartupError(
                f"DASHBOARD_PORT: cannot listen on {self.host}:{self.port} ({error.strerror})."
            ) from None
        log.info("dashboard at %s (listening on %s:%d)", self.base_url, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
