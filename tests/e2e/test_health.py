"""``HEALTH_PORT``: what an orchestrator's health check and Prometheus see from a live bot."""

from __future__ import annotations

import socket

from testkit.emulator import Driver
from testkit.ports import on_a_free_port_async
from tests.e2e.conftest import Server, StartBot
from tests.e2e.health_helpers import get, health_becomes


async def test_healthz_follows_the_gateway_and_metrics_count_reminders(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    bot, port = await on_a_free_port_async(
        lambda port: start_bot(HEALTH_PORT=str(port), HEALTH_HOST="127.0.0.1")
    )
    healthz = f"http://127.0.0.1:{port}/healthz"
    body = await health_becomes(healthz, 200)
    assert body["shards"] == {"count": 1, "owned": [0], "connected": [0]}
    assert body["database"] == {"reachable": True}
    assert 0 <= body["dispatcher"]["last_tick_age_s"] < 90

    reply = await driver.slash("remind test", user=server.member, guild=server.guild, kind="sleep")
    assert "Sent a test reminder by DM" in reply.text
    status, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert 'steady_reminder_deliveries_total{outcome="sent"} 1.0' in text
    assert "steady_shards_connected 1.0" in text
    # The coming day's capacity plan (made at start): nothing due, nothing to skip.
    assert 'steady_plan_predicted_skips{kind="sleep"} 0.0' in text
    assert "steady_plan_peak_to_capacity 0.0" in text

    # Discord's gateway goes away and does not come back yet: the process is unhealthy.
    driver.hold_gateway()
    await driver.gateway_close(4000)
    body = await health_becomes(healthz, 503)
    assert body["problems"] == ["shards not connected: [0]"]
    assert body["plan"]["predicted_skips"] == 0 and body["notes"] == []
    driver.release_gateway()
    await health_becomes(healthz, 200)
    assert bot.logged(f"health and metrics on http://127.0.0.1:{port}/healthz")


async def test_health_port_in_use_stops_with_one_line(start_bot: StartBot) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await start_bot(HEALTH_PORT=str(port), HEALTH_HOST="127.0.0.1", wait_ready=False)
        assert await process.wait() == 2
    assert "Traceback" not in process.output
    [line] = [line for line in process.lines if "cannot start" in line]
    assert f"HEALTH_PORT: cannot listen on 127.0.0.1:{port}" in line
