"""``/healthz`` and ``/metrics`` (bot/health.py, services/metrics.py) as a monitor sees them."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import aiohttp
import pytest
from prometheus_client import REGISTRY

from bot.health import Health, HealthServer
from domain.errors import StartupError
from services import metrics
from storage import health as storage_health
from storage import members
from tests.reminder_rig import DUE, USER, FakeDiscord, due_rig

HEALTHY = Health(
    shard_count=2, owned=[0, 1], connected=[0, 1], last_tick_age_s=3.0, database_reachable=True
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"connected": [0]}, "shards not connected: [1]"),
        ({"last_tick_age_s": None}, "dispatcher not started"),
        ({"last_tick_age_s": 95.0}, "dispatcher idle for 95s"),
        ({"database_reachable": False}, "database unreachable"),
    ],
)
def test_each_failing_part_is_named(changes: dict, problem: str) -> None:
    assert HEALTHY.ok and HEALTHY.as_json()["status"] == "ok"
    sick = Health(**{**HEALTHY.__dict__, **changes})
    assert not sick.ok and sick.problems == [problem]
    assert sick.as_json()["status"] == "unhealthy" and sick.as_json()["problems"] == [problem]


@pytest.fixture
async def served() -> AsyncIterator[tuple[HealthServer, SimpleNamespace]]:
    state = SimpleNamespace(health=HEALTHY, scrapes=0)

    async def check() -> Health:
        return state.health

    async def before_scrape(_health: Health) -> None:
        state.scrapes += 1

    server = HealthServer(check, before_scrape, host="127.0.0.1", port=0)
    await server.start()  # on a port the kernel picks; server.port says which
    assert server.port != 0
    yield server, state
    await server.stop()


async def test_healthz_is_200_with_json_or_503_naming_the_problem(served) -> None:
    server, state = served
    url = f"http://127.0.0.1:{server.port}/healthz"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200
            body = await r.json()
        assert body["shards"] == {"count": 2, "owned": [0, 1], "connected": [0, 1]}
        assert body["dispatcher"]["last_tick_age_s"] == 3.0
        assert body["database"] == {"reachable": True}
        state.health = Health(**{**HEALTHY.__dict__, "database_reachable": False})
        async with http.get(url) as r:
            assert r.status == 503
            assert (await r.json())["problems"] == ["database unreachable"]


async def test_metrics_are_in_prometheus_text_format(served) -> None:
    server, state = served
    metrics.CLAIMS_TAKEN_OVER.inc(0)  # exists from the start, at 0
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.port}/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=")
            text = await r.text()
    assert state.scrapes == 1
    for name in (
        "steady_reminder_deliveries_total",
        "steady_reminder_lateness_seconds_bucket",
        "steady_discord_rate_limited_total",
        "steady_reminders_due_backlog",
        "steady_claims_taken_over_total",
        "steady_shards_connected",
        "process_resident_memory_bytes",
    ):
        assert name in text, name


async def test_a_port_in_use_stops_start_up_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def check() -> Health:
            return HEALTHY

        server = HealthServer(check, lambda _h: check(), host="127.0.0.1", port=port)
        with pytest.raises(StartupError, match=f"HEALTH_PORT: cannot listen on 127.0.0.1:{port}"):
            await server.start()


async def test_port_0_serves_on_the_port_it_reports() -> None:
    async def check() -> Health:
        return HEALTHY

    server = HealthServer(check, lambda _h: check(), host="127.0.0.1", port=0)
    await server.start()
    try:
        assert server.port != 0
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as r:
                assert r.status == 200
    finally:
        await server.stop()


async def test_sender_counts_outcomes_and_lateness(db) -> None:
    sent = sample("steady_reminder_deliveries_total", outcome="sent")
    failed = sample("steady_reminder_deliveries_total", outcome="failed")
    late = sample("steady_reminder_lateness_seconds_count")
    rig = await due_rig(db, FakeDiscord())
    await members.set_dm_channel(db, USER, FakeDiscord.dm_channel_of(USER), 0)
    rig.clock.now = DUE + timedelta(seconds=4)  # sent 4 s after its time
    await rig.run()
    assert sample("steady_reminder_deliveries_total", outcome="sent") == sent + 1
    assert sample("steady_reminder_deliveries_total", outcome="failed") == failed
    assert sample("steady_reminder_lateness_seconds_count") == late + 1
    assert sample("steady_reminder_lateness_seconds_bucket", le="2.0") < sample(
        "steady_reminder_lateness_seconds_bucket", le="5.0"
    )


async def test_count_due_sees_due_rows_only(db) -> None:
    rig = await due_rig(db)
    due = int(DUE.timestamp())
    assert await storage_health.count_due(db, due - 1) == 0
    assert await storage_health.count_due(db, due) == 1
    assert await storage_health.reachable(db)
    await rig.run()
    assert await storage_health.count_due(db, due) == 0


async def test_every_429_on_the_wire_is_counted_by_scope() -> None:
    before = sample("steady_discord_rate_limited_total", scope="global")
    response = SimpleNamespace(status=429, headers={"X-RateLimit-Global": "true"})
    await metrics.count_rate_limits(None, None, SimpleNamespace(response=response))
    ok = SimpleNamespace(status=200, headers={})
    await metrics.count_rate_limits(None, None, SimpleNamespace(response=ok))
    assert sample("steady_discord_rate_limited_total", scope="global") == before + 1
