"""``python -m bot dashboard``: the web dashboard as a process of its own, beside a sharded bot.

Why a sub-command of ``bot`` and not ``python -m dashboard``: ``dashboard/`` is a front-end
and may not import the composition root (the layers, ``[tool.importlinter]``), yet a process
needs one — settings, logging, the database, the request limiter, the services. This module
is that root for the web process, as :mod:`bot.steady_bot` is for the bot process; it starts
no gateway connection and no reminder engine.

What differs from the dashboard inside the bot (``DASHBOARD_PORT`` on ``python -m bot``):

* **Stateless.** Sessions and pending logins live in the database
  (:mod:`services.web_sessions`), so any number of replicas run behind any load balancer,
  and a restart keeps members logged in.
* **Server facts from Discord's REST API** (:class:`~services.guild_facts.RestGuildAccess`),
  with the bot token, through the token's one request limiter — on PostgreSQL the schedule
  every bot process shares, so the web replicas get no second budget.
* **Changes reach the engine at once** through PostgreSQL's ``NOTIFY steady_due``, which
  every bot process's dispatcher listens to (:meth:`storage.database.Database.announce_due_change`):
  the services' ``on_change`` sends it.
* **DM channels opened here**: a member who subscribes on a page has their DM channel
  opened by this process, in the background, through the same limiter
  (:func:`bot.compose.build_web`), so their first reminder costs one request.

It needs PostgreSQL: a SQLite file has one process, the bot, which serves the dashboard
itself.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot import __version__, compose
from bot.dashboard_server import DashboardServer, build_dashboard
from bot.logs import configure_logging
from bot.settings import Settings, load_settings
from domain.errors import DatabaseUnavailable, StartupError
from services.engine.rest_dms import RestDms
from services.engine.shared_pacing import pacer_for
from services.guild_facts import DiscordUnavailable, RestGuildAccess
from storage.database import Database

log = logging.getLogger("bot.web")


class Announcer:
    """The services' ``on_change`` in a process without a dispatcher: tell every bot process
    (``NOTIFY``) that a fire time moved, in the background, as the dispatcher's ``poke`` does."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self) -> None:
        task = asyncio.get_running_loop().create_task(self._announce())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self) -> None:
        try:
            await self.db.announce_due_change()
        except DatabaseUnavailable:
            pass  # the dispatchers' own wake-up (at most 30 s) finds the change instead

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def application_id(settings: Settings, servers: RestGuildAccess) -> int:
    """The OAuth2 client id: ``DISCORD_CLIENT_ID``, else the bot's application (one request)."""
    if settings.discord_client_id is not None:
        return settings.discord_client_id
    try:
        return await servers.application_id()
    except DiscordUnavailable:
        raise StartupError(
            f"cannot reach Discord at {settings.discord_api_base} to read the application id; "
            "set DISCORD_CLIENT_ID or try again."
        ) from None


async def run() -> None:
    settings = load_settings()
    if settings.dashboard_port is None:
        raise StartupError("DASHBOARD_PORT is not set: the port the dashboard listens on.")
    configure_logging(settings.log_level, secrets=settings.secrets(), tag="web")
    db = await Database.open(settings.database_url)
    if not db.shared:
        await db.close()
        raise StartupError(
            "python -m bot dashboard needs DATABASE_URL=postgresql://…: on SQLite the bot "
            "serves the dashboard itself (set DASHBOARD_PORT on python -m bot)."
        )
    log.info("Steady %s dashboard starting", __version__)
    token = settings.discord_token.get_secret_value().strip()
    limiter = pacer_for(db, settings.send_rate_per_s)
    servers = RestGuildAccess(
        db,
        token=token,
        api_base=settings.discord_api_base,
        limiter=limiter,
        facts_ttl=settings.dashboard_facts_ttl_s,
    )
    dms = RestDms(token=token, api_base=settings.discord_api_base, limiter=limiter)
    announcer = Announcer(db)
    web = compose.build_web(db, dms, on_change=announcer.changed)
    server: DashboardServer | None = None
    try:
        await db.migrate()  # under the migration lock, whoever starts first
        await web.dm_channels.start()
        dashboard = build_dashboard(
            settings, await application_id(settings, servers), web.services, servers, db
        )
        server = DashboardServer(
            dashboard,
            host=settings.dashboard_host,
            port=settings.dashboard_port,
            base_url=settings.dashboard_base_url,
        )
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if server is not None:
            await server.stop()
        await web.dm_channels.stop()  # what it has not opened yet, the sender opens when due
        await announcer.drain()
        await dms.close()
        await servers.close()
        await db.close()
    log.info("Steady dashboard stopped cleanly")
