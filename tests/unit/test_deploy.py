"""The compose files: the default stays one SQLite process; the scaled one splits the shards
between replicas exactly once and checks each with ``/healthz``."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.shards import parse_shard_ids

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_COMMAND = ["python", "-m", "bot", "dashboard"]


def services(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())["services"]


def test_default_compose_is_one_process_on_sqlite() -> None:
    [(name, steady)] = services("docker-compose.yml").items()
    assert steady["environment"]["DATABASE_URL"].startswith("sqlite:")
    assert "SHARD_COUNT" not in steady["environment"]


def test_scaled_compose_covers_every_shard_once_and_checks_health() -> None:
    scaled = services("docker-compose.scaled.yml")
    bots = {
        name: s
        for name, s in scaled.items()
        if name != "postgres" and "dashboard" not in s.get("command", [])
    }
    assert len(bots) >= 2
    counts = {int(s["environment"]["SHARD_COUNT"]) for s in bots.values()}
    assert len(counts) == 1, "every replica must agree on SHARD_COUNT"
    count = counts.pop()
    owned = [
        shard
        for s in bots.values()
        for shard in parse_shard_ids(s["environment"]["SHARD_IDS"], count)
    ]
    assert sorted(owned) == list(range(count)), "each shard in exactly one replica"
    # One schedule shared in PostgreSQL: every replica names the token's whole rate.
    rates = {float(s["environment"]["SEND_RATE_PER_S"]) for s in bots.values()}
    assert len(rates) == 1 and rates.pop() < 50, "one rate, under Discord's global limit"
    for s in bots.values():
        env = s["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert f"127.0.0.1:{env['HEALTH_PORT']}/healthz" in " ".join(s["healthcheck"]["test"])
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_scaled_compose_runs_two_dashboard_replicas_on_the_shared_database() -> None:
    scaled = services("docker-compose.scaled.yml")
    webs = {n: s for n, s in scaled.items() if s.get("command") == DASHBOARD_COMMAND}
    assert len(webs) == 2
    bot_rate = {
        s["environment"]["SEND_RATE_PER_S"]
        for s in scaled.values()
        if "SHARD_IDS" in s.get("environment", {})
    }
    for s in webs.values():
        env = s["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert {env["SEND_RATE_PER_S"]} == bot_rate, "one schedule, one rate"
        assert "SHARD_IDS" not in env and env["DASHBOARD_HOST"] == "0.0.0.0"
        assert f"127.0.0.1:{env['DASHBOARD_PORT']}/healthz" in " ".join(s["healthcheck"]["test"])
    # Every replica names the same public URL and secret (any of them answers any request).
    assert len({s["environment"]["DASHBOARD_SECRET"] for s in webs.values()}) == 1
    assert len({s["environment"]["DASHBOARD_URL"] for s in webs.values()}) == 1


def test_the_image_holds_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("bot", "cogs", "content", "dashboard", "domain", "services", "storage"):
        assert f"COPY {package} ./{package}" in dockerfile
