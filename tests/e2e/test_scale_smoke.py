"""Smoke test: the scale benchmark still runs end to end and counts every reminder.

A small run (``--subscriptions 20000 --burst 500 --naive-subscriptions 5000``) as a
subprocess, its cold case (60 new members subscribing through slash commands) on its
own (``--cold-only``), and its burst alone with the dashboard as its own process on
PostgreSQL (``--delivery-only --dashboard separate``, 50 due, 2 members browsing), also as
subprocesses: the tests never import ``benchmarks`` (both import ``testkit``). Timings are not
asserted here (they are figures, not tests); only that every figure is written and that the
bursts lost and duplicated nothing.

The small run is ``serial`` (alone on the machine): its burst paces the bot at exactly the
emulator's limit and the test checks that pace, so a test beside it could push a request into
the next second's window. The burst with the web process checks no pace and runs beside others.
The cold case waits for the next whole minute (members pick a time of day), up to 85 s of
idling, so it runs beside other tests instead, with the emulator allowing 60 requests a
second: the bot still paces itself at its default 49/s, and the margin keeps a late request
from counting as a 429 here. Its pacing at Discord's real 50/s, in the same scenario, is
``tests/e2e/test_request_limit.py``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "engine": ["fill_s", "start_to_ready_s", "rss_mb", "idle_wakeup_ms", "next_fire_per_s"],
    "naive": ["fill_s", "start_to_ready_s", "rss_mb", "idle_wakeup_ms", "next_fire_per_s"],
    "delivery": [
        "due",
        "delivered",
        "lost",
        "duplicated",
        "rate_ratio",
        "rate_limited_share",
        "lateness_p50_s",
        "lateness_p99_s",
        "lateness_adjusted_p50_s",
        "lateness_adjusted_p99_s",
        "slash_p99_ms",
        "dashboard_page_p99_ms",
    ],
    "ratio": ["start_to_ready", "rss"],
}
COLD_EXPECTED = [
    "due",
    "delivered",
    "lost",
    "duplicated",
    "token_requests_per_reminder",
    "rate_ratio",
    "rate_limited_share",
    "lateness_adjusted_p99_s",
    "slash_p99_ms",
    "dm_channels_opened_ahead",
]
COLD_LIMIT = 60  # requests/s the emulator allows in the cold case (see the module's docstring)


def run_scale(output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m benchmarks.scale ARGS --json OUTPUT``, which must succeed."""
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", *args, "--json", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.mark.serial
def test_small_scale_run_writes_every_figure_and_loses_nothing(tmp_path: Path) -> None:
    output = tmp_path / "figures.json"
    run = run_scale(
        output,
        *("--subscriptions", "20000", "--burst", "500", "--naive-subscriptions", "5000"),
        *("--cold-burst", "0"),
    )
    assert "delivery.lost" in run.stdout  # the table was printed

    figures = json.loads(output.read_text())
    for group, keys in EXPECTED.items():
        missing = [key for key in keys if key not in figures.get(group, {})]
        assert not missing, f"{group}: missing {missing}"
    assert figures["engine"]["subscriptions"] == 20000
    assert figures["naive"]["subscriptions"] == 5000
    delivery = figures["delivery"]
    assert delivery["due"] == 500
    assert delivery["lost"] == 0, json.dumps(delivery)
    assert delivery["duplicated"] == 0, delivery
    assert delivery["delivered"] == 500
    assert delivery["rejected_bodies"] == 0 and delivery["unknown_routes"] == 0
    assert delivery["slash_commands"] > 0 and delivery["slash_failed"] == 0
    assert delivery["bot_exit_code"] == 0
    # The burst was really sent at a pace, not all at once nor stalled.
    assert 0 < delivery["delivered_per_s"] <= delivery["limit_per_s"] * 1.02, delivery
    assert delivery["rate_limited"] <= delivery["requests"] * 0.01, delivery
    assert figures["machine"]["cores"] == os.cpu_count()
    assert "delivery_cold" not in figures and "delivery_cold.lost" not in run.stdout


def test_burst_alone_with_the_dashboard_as_its_own_process_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    """``--delivery-only --dashboard separate``: the bot and ``python -m bot dashboard`` on one
    PostgreSQL, members browsing the web process while the burst is sent. Not ``serial``:
    nothing here is about timing (a request pushed into the next window is only retried)."""
    output = tmp_path / "separate.json"
    run = run_scale(
        output,
        *("--delivery-only", "--burst", "50", "--dashboard-members", "2"),
        *("--dashboard", "separate", "--database", postgres_url),
    )
    figures = json.loads(output.read_text())
    assert set(figures) >= {"delivery", "options", "machine"}
    assert not {"engine", "naive", "pg", "delivery_cold"} & set(figures)
    delivery = figures["delivery"]
    assert [key for key in EXPECTED["delivery"] if key not in delivery] == []
    assert (delivery["dashboard"], delivery["database"]) == ("separate", "postgresql")
    assert (delivery["due"], delivery["delivered"], delivery["lost"]) == (50, 50, 0), delivery
    assert delivery["duplicated"] == 0, delivery
    assert delivery["dashboard_members"] == 2 and delivery["dashboard_pages"] > 0, delivery
    assert delivery["dashboard_failed"] == 0, delivery
    assert delivery["slash_failed"] == 0 and delivery["bot_exit_code"] == 0, delivery
    assert delivery["web_exit_code"] == 0, delivery
    assert delivery["rejected_bodies"] == 0 and delivery["unknown_routes"] == 0
    assert "delivery.dashboard_page_p99_ms" in run.stdout


def test_cold_case_new_members_cost_one_request_each_and_lose_nothing(tmp_path: Path) -> None:
    """New members who subscribed through slash commands: one request per due reminder."""
    output = tmp_path / "cold.json"
    run_scale(output, "--cold-only", "--cold-burst", "60", "--limit", str(COLD_LIMIT))
    cold = json.loads(output.read_text())["delivery_cold"]
    assert [key for key in COLD_EXPECTED if key not in cold] == []
    assert (cold["due"], cold["delivered"], cold["lost"], cold["duplicated"]) == (60, 60, 0, 0)
    assert cold["subscribed_before_due"], cold
    assert cold["dm_channels_opened_ahead"] == 30 and cold["dm_channels_opened_in_burst"] == 0
    assert cold["token_requests_per_reminder"] == 1, cold
    assert cold["rejected_bodies"] == 0 and cold["unknown_routes"] == 0
    assert cold["bot_exit_code"] == 0


PG_EXPECTED = [
    "fill_s",
    "copy_s",
    "start_to_ready_s",
    "rss_mb",
    "idle_wakeup_ms",
    "due",
    "claimed",
    "claim_per_s",
    "claimed_twice",
]


def test_postgresql_figures_with_two_processes_claim_each_due_row_once(
    tmp_path: Path, postgres_url: str
) -> None:
    output = tmp_path / "pg.json"
    run = run_scale(
        output,
        *("--subscriptions", "6000", "--pg-due", "2000", "--processes", "2"),
        *("--database", postgres_url, "--pg-only", "--no-failover"),
    )
    figures = json.loads(output.read_text())["pg"]
    assert [key for key in PG_EXPECTED if key not in figures] == []
    assert figures["due"] == figures["claimed"] == 2000  # every due row claimed…
    assert figures["claimed_twice"] == 0  # …by exactly one of the two processes
    assert len(figures["rss_mb_each"]) == 2
    assert "pg.claim_per_s" in run.stdout and "engine.rss_mb" not in run.stdout
