"""``python -m bot capacity`` against a small seeded SQLite database: the report's sections,
the figures in ``--json``, and one line when there is no database to read."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.database import Database
from testkit.population import Population, realistic, worst

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 6, 10, tzinfo=UTC)


async def _seed(path: Path, population: Population) -> tuple[int, int]:
    """The population as the running bot leaves it just before START, and one pending
    snooze; returns how many members have a reminder and how many are due in the day."""
    db = await Database.open(f"sqlite:///{path}")
    await db.migrate()
    start = int(START.timestamp())
    await population.write(db, start - 1)
    await db.execute(
        "INSERT INTO snoozes (kind, user_id, from_delivery_id, fire_at, created_at) "
        "VALUES ('sleep', 1, 1, ?, 0)",
        (start + 600,),
    )
    await db.close()
    members = len({s.user_id for s in population.subscriptions if s.user_id is not None})
    return members, sum(1 for _ in population.occurrences(start, start + 86400)) + 1


def _capacity(url: str, *args: str, rate: str = "49") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "SEND_RATE_PER_S": rate}
    return subprocess.run(
        [sys.executable, "-m", "bot", "capacity", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plan_of_a_small_database_is_printed_and_written(tmp_path: Path) -> None:
    # 300 members (those with a reminder: fewer), all in one zone with the default times, at
    # a reminder every 20 seconds.
    path = tmp_path / "steady.sqlite3"
    members, due = asyncio.run(_seed(path, worst(300)))
    out = tmp_path / "plan.json"
    run = _capacity(
        f"sqlite:///{path}", "--start", "2026-06-10T00:00Z", "--json", str(out), rate="0.05"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout
    for section in (
        "Steady capacity plan",
        f"{members} members with reminders",
        "Due per hour (UTC)",
        "Peak minutes (UTC)",
        "Predicted per kind",
        "Headroom:",
    ):
        assert section in text, section
    figures = json.loads(out.read_text())
    assert figures["members"] == members
    assert figures["snoozes"] == 1
    assert figures["capacity_per_s"] == 0.05
    assert figures["load"]["due"] == due
    assert figures["load"]["capacity_per_minute"] == 3
    assert figures["load"]["peak_minute_due"] > 3  # the default times' minute
    new, today = figures["new"], figures["today"]
    assert new["all"]["due"] == today["all"]["due"] == due
    assert new["all"]["sent"] + new["all"]["skipped"] == pytest.approx(due)
    assert set(new["kinds"]) >= {"hydration", "sleep", "stretching", "caffeine", "daily_tip"}
    assert today["all"]["skipped"] == 0
    # The default times' peaks cannot all go in time.
    assert new["all"]["skipped"] > 0
    assert figures["headroom"]["members"] == 0 and figures["headroom"]["factor"] < 1
    assert text.strip().splitlines()[-1].startswith("OVER CAPACITY")
    assert figures["verdict"].startswith("OVER CAPACITY")


def test_at_the_real_capacity_a_small_database_has_headroom(tmp_path: Path) -> None:
    path = tmp_path / "steady.sqlite3"
    asyncio.run(_seed(path, realistic(300)))
    out = tmp_path / "plan.json"
    run = _capacity(f"sqlite:///{path}", "--start", "2026-06-10T00:00", "--json", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["new"]["all"]["skipped"] == 0
    assert figures["new"]["all"]["late_max_s"] == 0
    assert figures["headroom"]["members"] > 300  # the same mix again, and more
    assert "more members of today's mix fit before the first skip" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("OK")


def test_no_database_is_one_line(tmp_path: Path) -> None:
    run = _capacity(f"sqlite:///{tmp_path / 'missing.sqlite3'}")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"steady capacity: DATABASE_URL: there is no SQLite database at "
        f"{tmp_path / 'missing.sqlite3'}"
    )
    assert not (tmp_path / "missing.sqlite3").exists()


def test_an_invalid_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    run = _capacity(f"sqlite:///{tmp_path / 'any.sqlite3'}", rate="0")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "steady capacity: SEND_RATE_PER_S is invalid: Input should be greater than 0"
    )
