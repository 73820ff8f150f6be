"""The web dashboard, served by the bot process when ``DASHBOARD_PORT`` is set (see :mod:`dashboard`).

Running inside the bot (not as a second program) means a change made on a page goes through
the same :class:`~services.reminders.ReminderService` whose ``on_change`` wakes the
dispatcher at once, and the bot's own view of servers, roles and channels answers "may this
member manage this server" and "can the bot post in this channel".
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import TYPE_CHECKING

import discord
from aiohttp import web

from dashboard.app import Dashboard, make_app
from dashboard.discord_login import DiscordLogin
from dashboard.sessions import SessionStore
from domain.errors import StartupError
from services.server_config import ChannelAccess, channel_access
from storage.database import Database
from storage.sqlite import SqliteDatabase

if TYPE_CHECKING:
    from bot.steady_bot import SteadyBot

log = logging.getLogger(__name__)


class BotServerAccess:
    """Server questions answered from the running bot: its cache, plus one member fetch."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    def bot_is_in(self, guild_id: int) -> bool:
        return self.bot.get_guild(guild_id) is not None

    def guild_name(self, guild_id: int) -> str:
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild else str(guild_id)

    async def member_permissions(self, guild_id: int, user_id: int) -> discord.Permissions | None:
        """Asked of Discord at every request, so a member who lost the right loses the page.

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

    def channel_access(self, guild_id: int, channel_id: int) -> ChannelAccess:
        return channel_access(self.bot.get_guild(guild_id), channel_id)

    def channel_names(self, guild_id: int) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        return {c.id: c.name for c in guild.channels} if guild else {}

    def postable_channels(self, guild_id: int) -> list[tuple[int, str]]:
        guild = self.bot.get_guild(guild_id)
        return [(c.id, c.name) for c in guild.text_channels] if guild else []


class DashboardServer:
    """The dashboard's web server inside the bot: started in setup_hook, stopped in close."""

    def __init__(self, bot: SteadyBot) -> None:
        settings = bot.settings
        assert settings.dashboard_port is not None and bot.application_id is not None
        base_url = settings.dashboard_base_url
        self.host = settings.dashboard_host
        self.port = settings.dashboard_port
        self.base_url = base_url
        self.bot = bot
        self.dashboard = Dashboard(
            service=bot.reminder_service,
            servers=BotServerAccess(bot),
            login=DiscordLogin(
                client_id=settings.discord_client_id or bot.application_id,
                client_secret=settings.discord_client_secret.get_secret_value().strip(),
                authorize_url=settings.discord_authorize_url,
                api_base=settings.discord_api_base,
                redirect_uri=f"{base_url}/callback",
            ),
            sessions=SessionStore(settings.dashboard_secret.get_secret_value().strip()),
            secure_cookies=base_url.startswith("https://"),
            server_config=bot.server_config,
        )
        self._runner: web.AppRunner | None = None
        self._reads: Database | None = None

    async def start(self) -> None:
        await self._read_on_own_connection()
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

    async def _read_on_own_connection(self) -> None:
        """On SQLite, the pages read through a connection of their own, so they neither wait
        for nor hold up the reminder sender's writes (PostgreSQL's pool already does this)."""
        db = self.bot.db
        if not isinstance(db, SqliteDatabase):
            return
        reads = await db.with_own_reads()
        if reads is db:
            return
        self._reads = reads
        service = copy.copy(self.dashboard.service)
        service.db = reads
        self.dashboard.service = service
        self.dashboard.server_config = dataclasses.replace(self.dashboard.server_config, db=reads)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._reads is not None:
            await self._reads.close()
            self._reads = None
