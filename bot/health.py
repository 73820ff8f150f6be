"""``GET /healthz`` and ``GET /metrics`` on ``HEALTH_PORT``, for orchestrators and Prometheus.

``/healthz`` answers 200 when this process does its job — every shard it owns is connected,
the reminder dispatcher woke up recently, the database answers — and 503 otherwise, with
the same JSON either way so a person can see which part failed::

    {"status": "ok", "shards": {"count": 2, "owned": [0, 1], "connected": [0, 1]},
     "dispatcher": {"last_tick_age_s": 3.2, "max_age_s": 90.0},
     "database": {"reachable": true},
     "plan": {"planned_at": "…", "hours": 24.0, "peak_to_capacity": 0.72, "predicted_skips": 0}}

``plan`` is the capacity plan of the coming day (services/plan_watch.py), in the process
that keeps it (shard 0's); it never makes the answer 503 — a bot that will be over capacity
tonight is working now — but when it predicts skips, ``notes`` says so.

It runs on aiohttp.web (which discord.py already depends on) on its own port, started in
``setup_hook`` and stopped in ``close``; it never touches Discord, so it stays cheap to poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from domain.errors import StartupError
from services import metrics
from services.plan_watch import PlanSummary
from storage import health as storage_health

if TYPE_CHECKING:
    from bot.steady_bot import SteadyBot

log = logging.getLogger(__name__)

# The dispatcher wakes at least every 30 s (its max sleep) even when nothing is due; three
# missed wake-ups in a row mean it is stuck, not merely busy with a long burst.
MAX_TICK_AGE_S = 90.0


@dataclass(frozen=True)
class Health:
    """What ``/healthz`` reports; ``ok`` decides 200 or 503."""

    shard_count: int
    owned: list[int]
    connected: list[int]
    last_tick_age_s: float | None
    database_reachable: bool
    max_tick_age_s: float = MAX_TICK_AGE_S
    database_write_problem: str | None = None  # e.g. a full SQLite disk
    plan: PlanSummary | None = None  # the coming day's capacity plan, where it is kept

    @property
    def problems(self) -> list[str]:
        found = []
        missing = sorted(set(self.owned) - set(self.connected))
        if missing:
            found.append(f"shards not connected: {missing}")
        if self.last_tick_age_s is None:
            found.append("dispatcher not started")
        elif self.last_tick_age_s > self.max_tick_age_s:
            found.append(f"dispatcher idle for {self.last_tick_age_s:.0f}s")
        if not self.database_reachable:
            found.append("database unreachable")
        elif self.database_write_problem:
            found.append(self.database_write_problem)
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def notes(self) -> list[str]:
        """Worth knowing, not a failure: the answer stays 200."""
        note = self.plan.note if self.plan is not None else None
        return [note] if note else []

    def as_json(self) -> dict[str, Any]:
        age = self.last_tick_age_s
        return {
            "status": "ok" if self.ok else "unhealthy",
            "problems": self.problems,
            "shards": {"count": self.shard_count, "owned": self.owned, "connected": self.connected},
            "dispatcher": {
                "last_tick_age_s": None if age is None else round(age, 3),
                "max_age_s": self.max_tick_age_s,
            },
            "database": {"reachable": self.database_reachable}
            | ({"writes": self.database_write_problem} if self.database_write_problem else {}),
        } | ({"plan": self.plan.as_json(), "notes": self.notes} if self.plan is not None else {})


def connected_shards(bot: SteadyBot) -> list[int]:
    """Shards of this process with an open gateway connection that got READY."""
    if not bot.is_ready():
        return []
    shards = getattr(bot, "shards", None)  # AutoShardedClient only
    if shards is not None:
        return sorted(shard_id for shard_id, info in shards.items() if not info.is_closed())
    ws = bot.ws
    return [0] if ws is not None and ws.open else []


async def bot_health(bot: SteadyBot, now: Callable[[], datetime] | None = None) -> Health:
    plan = bot.settings.shard_plan
    last_tick = bot.engine.dispatcher.last_tick
    clock = now or (lambda: datetime.now(UTC))
    return Health(
        shard_count=plan.count if plan else 1,
        owned=list(plan.ids) if plan else [0],
        connected=connected_shards(bot),
        last_tick_age_s=None if last_tick is None else (clock() - last_tick).total_seconds(),
        database_reachable=await storage_health.reachable(bot.db),
        database_write_problem=bot.db.write_problem,
        plan=bot.plan_watch.latest if bot.plan_watch is not None else None,
    )


async def refresh_gauges(bot: SteadyBot, health: Health) -> None:
    """Gauges read at scrape time (counters are counted where things happen)."""
    metrics.SHARDS_CONNECTED.set(len(health.connected))
    if health.last_tick_age_s is not None:
        metrics.DISPATCHER_TICK_AGE.set(health.last_tick_age_s)
    if health.database_reachable:
        queued = bot.engine.sender.backlog
        metrics.DUE_BACKLOG.set(await storage_health.count_due(bot.db, int(time.time())) + queued)


class HealthServer:
    """The two endpoints on their own port; ``port=0`` picks a free one (tests)."""

    def __init__(
        self,
        check: Callable[[], Awaitable[Health]],
        before_scrape: Callable[[Health], Awaitable[None]],
        *,
        host: str,
        port: int,
    ) -> None:
        self._check = check
        self._before_scrape = before_scrape
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise StartupError(
                f"HEALTH_PORT: cannot listen on {self.host}:{self.port} ({error.strerror})"
            ) from None
        # The port the OS chose for port=0: the runner's public list of listening sockets.
        self.port = self._runner.addresses[0][1]
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        health = await self._check()
        return web.json_response(health.as_json(), status=200 if health.ok else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        await self._before_scrape(await self._check())
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


async def start_for(bot: SteadyBot) -> HealthServer | None:
    """Start the endpoints when ``HEALTH_PORT`` is set; ``None`` otherwise."""
    port = bot.settings.health_port
    if port is None:
        return None
    server = HealthServer(
        lambda: bot_health(bot),
        lambda health: refresh_gauges(bot, health),
        host=bot.settings.health_host,
        port=port,
    )
    await server.start()
    return server
