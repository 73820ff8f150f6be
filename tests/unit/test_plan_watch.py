"""The coming day's capacity plan in the running bot: ``/metrics`` gauges and the ``/healthz``
note (services/plan_watch.py, bot/health.py), as an operator's monitor reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from bot.health import Health
from bot.settings import Settings
from bot.steady_bot import SteadyBot, is_lead_process
from content import load_content
from services.plan_watch import PlanWatch
from services.subscriptions import Subscriptions
from tests.reminder_rig import open_db

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
PEAK = "9:00"  # UTC: thirty stretching reminders due at the same minute
MEMBERS = 30


@pytest.fixture
async def db(tmp_path):
    database = await open_db(tmp_path)
    subscriptions = Subscriptions(database, clock=lambda: NOW - timedelta(hours=1))
    for user in range(1, MEMBERS + 1):
        await subscriptions.start(user, None, "stretching", PEAK, None, "UTC")
    yield database
    await database.close()


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def health_with(watch: PlanWatch) -> Health:
    return Health(
        shard_count=1,
        owned=[0],
        connected=[0],
        last_tick_age_s=1.0,
        database_reachable=True,
        plan=watch.latest,
    )


async def test_a_day_within_capacity_predicts_no_skips_and_healthz_has_no_note(db) -> None:
    watch = PlanWatch(db, capacity_per_s=49.0, clock=lambda: NOW)
    summary = await watch.refresh()

    assert summary.predicted_skips == 0
    # 30 due in one minute against 49 × 60 a minute.
    assert summary.peak_to_capacity == pytest.approx(30 / (49 * 60), rel=0.01)
    assert gauge("steady_plan_predicted_skips", kind="stretching") == 0
    assert gauge("steady_plan_peak_to_capacity") == pytest.approx(summary.peak_to_capacity)
    body = health_with(watch).as_json()
    assert body["status"] == "ok" and body["notes"] == []
    assert body["plan"]["predicted_skips"] == 0


async def test_a_day_over_capacity_is_in_metrics_and_a_healthz_note_but_stays_200(db) -> None:
    """One send per 100 s: stretching's 35-minute window (15 early, 20 late) holds about 21
    of the 30 due; the plan says about 9 will be skipped, and /healthz says so with a 200."""
    clock = NOW
    watch = PlanWatch(db, capacity_per_s=0.01, clock=lambda: clock)
    summary = await watch.refresh()

    assert 7 <= summary.predicted_skips <= 10, summary
    assert gauge("steady_plan_predicted_skips", kind="stretching") == summary.predicted_skips
    assert gauge("steady_plan_predicted_skips", kind="hydration") == 0
    assert summary.peak_to_capacity == pytest.approx(30 / 0.6, rel=0.01)
    health = health_with(watch)
    assert health.ok, "a plan never makes the bot unhealthy"
    body = health.as_json()
    assert body["status"] == "ok" and body["problems"] == []
    [note] = body["notes"]
    assert f"predicts {summary.predicted_skips} reminders skipped" in note
    assert "python -m bot capacity" in note

    clock = NOW + timedelta(minutes=5)
    assert gauge("steady_plan_age_seconds") == pytest.approx(300)


async def test_a_plan_made_after_today_s_peak_sees_tomorrow_s_and_follows_the_capacity(
    db,
) -> None:
    """At 10:00 the next 24 h hold tomorrow's 09:00 peak: skipped at one send per 100 s,
    all sent at one a second."""
    watch = PlanWatch(db, capacity_per_s=0.01, clock=lambda: NOW + timedelta(hours=2))
    summary = await watch.refresh()
    # The stretching reminders come back tomorrow at 09:00, inside the next 24 h.
    assert summary.predicted_skips > 0
    watch = PlanWatch(db, capacity_per_s=1.0, clock=lambda: NOW + timedelta(hours=2))
    assert (await watch.refresh()).predicted_skips == 0


@pytest.mark.parametrize(
    ("shards", "keeps"),
    [
        ({}, True),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0"}, True),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1"}, False),
    ],
)
def test_one_process_does_the_deployments_once_only_jobs_the_one_with_shard_0(
    shards: dict[str, str], keeps: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process reads the same database against the same shared rate: the plan is the
    deployment's, and two processes reporting it would be summed twice by Prometheus; two
    processes sweeping unknown DM channels at start-up would open each one twice."""
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    for name, value in shards.items():
        monkeypatch.setenv(name, value)
    assert is_lead_process(Settings(_env_file=None)) is keeps  # type: ignore[call-arg]


@pytest.mark.parametrize(("shard_ids", "lead"), [("0", True), ("1", False)])
async def test_only_the_lead_process_plans_and_sweeps_dm_channels(
    db, shard_ids: str, lead: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv("SHARD_IDS", shard_ids)
    bot = SteadyBot(settings=Settings(_env_file=None), db=db, content=load_content())  # type: ignore[call-arg]
    assert (bot.plan_watch is not None) is lead
    assert bot.engine.dm_channels.sweep_at_start is lead
