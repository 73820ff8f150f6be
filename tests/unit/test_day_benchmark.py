"""The simulated day (``python -m benchmarks.day``) in small: its virtual clock and population
(``testkit``), and a whole day of a few hundred members through the real engine, run as a
subprocess (tests never import ``benchmarks``) — every figure present, nothing lost or doubled,
nothing sent outside its tolerance, one request per reminder — for today's engine (due order)
and the new one (deadlines, early claims; #21) on the same population; and a day over
capacity, where the new engine sheds instead of sending late.

Not ``serial``: the clock is virtual, so a busy machine slows the run but changes no
assertion here (the load is far below capacity; lateness is a few seconds at most).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from domain.kinds import MEMBER_KINDS, ReminderKind, timing_for
from storage.database import Database
from testkit.population import read_zone_weights, realistic, worst
from testkit.virtual_clock import Stalled, VirtualClockLoop, tracked

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(loop: VirtualClockLoop, coro: Awaitable[T]) -> T:
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_every_kind_states_its_tolerance_and_the_daily_tip_has_one() -> None:
    for spec in MEMBER_KINDS:
        assert spec.timing.early.total_seconds() > 0
        assert spec.timing.late.total_seconds() > 0
    tip = timing_for(ReminderKind.DAILY_TIP)
    assert tip.late > max(spec.timing.late for spec in MEMBER_KINDS)
    sleep = timing_for(ReminderKind.SLEEP)
    assert sleep.within(0) and sleep.within(-300) and sleep.within(600)
    assert not sleep.within(-301) and not sleep.within(601)


def test_idle_waits_are_skipped() -> None:
    loop = VirtualClockLoop()

    async def day_of_sleeping() -> float:
        started = loop.time()
        for _ in range(24):
            await asyncio.sleep(3600)
        return loop.time() - started

    real = time.monotonic()
    virtual = run(loop, day_of_sleeping())
    assert virtual == pytest.approx(24 * 3600, abs=1)
    assert time.monotonic() - real < 2


def test_work_in_flight_holds_the_clock_at_real_speed() -> None:
    """A timer due during database work fires on time; the work is not skipped over."""
    loop = VirtualClockLoop()

    async def scenario() -> tuple[float, list[float]]:
        fired: list[float] = []
        started = loop.time()
        loop.call_later(0.05, lambda: fired.append(loop.time() - started))
        done = loop.create_future()
        # Stands for aiosqlite's thread: the result comes back with call_soon_threadsafe.
        threading.Timer(0.2, lambda: loop.call_soon_threadsafe(done.set_result, None)).start()
        with loop.flight:
            await done
        return loop.time() - started, fired

    elapsed, fired = run(loop, scenario())
    assert 0.2 <= elapsed < 1.0  # real time, no jump
    assert fired and 0.05 <= fired[0] < 0.2  # the timer fired during the work, not after a skip


def test_a_loop_that_can_never_move_on_says_so() -> None:
    loop = VirtualClockLoop()
    with pytest.raises(Stalled):
        run(loop, loop.create_future())


async def _tracked_calls(url: str) -> int:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    with loop.real_time():
        raw = await Database.open(url)
        await raw.migrate()
    db = tracked(raw, loop.flight)
    assert db.dialect == raw.dialect and db.shared == raw.shared
    calls = loop.flight.calls
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bot_state (key, value) VALUES ('a', 'b')")
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'a'") == "b"
    await asyncio.sleep(600)  # skipped: nothing in flight
    assert loop.flight.count == 0
    with loop.real_time():
        await raw.close()
    return loop.flight.calls - calls


def test_database_calls_are_tracked(tmp_path: Path) -> None:
    assert run(VirtualClockLoop(), _tracked_calls(f"sqlite:///{tmp_path / 'db.sqlite3'}")) >= 2


def test_populations_are_deterministic_and_use_the_weights_file() -> None:
    zones = dict(read_zone_weights())
    assert "America/New_York" in zones and all(w > 0 for w in zones.values())
    a, b = realistic(2000, seed=5), realistic(2000, seed=5)
    assert a.subscriptions == b.subscriptions and a.members == b.members
    assert {s.zone for s in a.subscriptions} <= set(zones)
    assert any(s.custom_time for s in a.subscriptions)
    assert any(s.kind == ReminderKind.DAILY_TIP for s in a.subscriptions)
    one = worst(100)
    assert {m[1] for m in one.members} == {"America/New_York"}
    assert {(m[2], m[3]) for m in one.members} == {("07:00", "23:00")}


def _day(tmp_path: Path, *options: str) -> dict:
    out = tmp_path / "day.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.day", *options, "--quiet", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text())


def test_a_small_day_end_to_end(tmp_path: Path) -> None:
    started = time.monotonic()
    figures = _day(tmp_path, "--members", "150")
    assert time.monotonic() - started < 150
    for population in ("realistic", "worst"):
        group = figures[population]
        assert group["population"]["due"] > 0
        assert group["population"]["peak_minute_due"] > 0
        for engine in ("today", "new"):
            _check_engine(group, engine, figures["options"]["limit"])
            _check_planner(group, engine)


def _check_engine(group: dict, engine: str, limit: int) -> None:
    today = group[engine]
    assert today["outside_tolerance"] == 0, engine
    everything = today["all"]
    assert everything["due"] == group["population"]["due"]
    assert everything["sent"] == everything["due"]
    assert everything["sent_within_tolerance"] == everything["sent"]
    assert everything["lost"] == 0 and everything["duplicated"] == 0
    assert everything["skipped"] == 0
    for kind, values in today["kinds"].items():
        for key in (
            "due",
            "sent",
            "sent_within_tolerance",
            "outside_tolerance",
            "late_p50_s",
            "late_p99_s",
            "late_max_s",
            "sent_early",
            "early_max_s",
            "skipped",
        ):
            assert key in values, (kind, key)
        assert values["sent"] == values["due"], kind
    run_figures = today["run"]
    assert run_figures["token_requests_per_reminder"] == 1.0
    assert run_figures["rate_limited"] == 0
    assert run_figures["busiest_window"] <= limit
    assert run_figures["unsettled_at_end"] == 0
    assert run_figures["cpu_s_per_simulated_day"] > 0
    # The day ran on the virtual clock: almost all of it skipped.
    assert run_figures["clock_skipped_s"] > 0.95 * run_figures["simulated_h"] * 3600


def _check_planner(group: dict, engine: str) -> None:
    """The capacity planner's prediction, made on the same database before the day, is
    reported beside the day's figures: far below capacity, nothing skipped and nothing late
    on either side, so they agree."""
    planner = group["planner"]
    assert planner["plan_s"] > 0
    assert planner["load"]["due"] == group["population"]["due"]
    assert planner["load"]["peak_minute_due"] == group["population"]["peak_minute_due"]
    assert planner["headroom"]["members"] > 0
    predicted = planner[engine]["all"]
    assert predicted["due"] == group["population"]["due"] and predicted["skipped"] == 0
    compared = group[engine]["planner"]
    for key in ("skipped", "late_p99_s", "late_max_s"):
        assert set(compared["all"][key]) == {"predicted", "simulated", "agrees"}, key
    assert set(compared["kinds"]) >= {"hydration", "sleep", "stretching", "caffeine"}
    assert compared["agrees"], compared


def test_a_day_over_capacity_sheds_within_tolerance_and_accounts_for_every_one(
    tmp_path: Path,
) -> None:
    """The worst case at a send rate far below its peaks: the new engine sends nothing
    outside its tolerance; what it cannot send in time is recorded "skipped: too busy";
    nothing is lost or doubled. Today's engine sends the same population late."""
    figures = _day(
        tmp_path, "--members", "150", "--populations", "worst", "--limit", "1",
        "--send-rate", "0.05",
    )  # fmt: skip
    group = figures["worst"]
    new, today = group["new"]["all"], group["today"]["all"]
    assert new["outside_tolerance"] == 0 and new["skipped"] > 0
    assert new["sent"] + new["skipped"] == new["due"] == group["population"]["due"]
    assert new["lost"] == 0 and new["duplicated"] == 0
    reasons = {r for k in group["new"]["kinds"].values() for r in k["skipped_by_reason"]}
    assert reasons == {"missed: skipped: too busy"}
    assert today["outside_tolerance"] > 0 and today["skipped"] == 0
    # The planner saw the shedding coming.
    assert group["planner"]["new"]["all"]["skipped"] > 0
    assert group["planner"]["headroom"]["members"] == 0
    assert group["new"]["planner"]["all"]["skipped"]["simulated"] == new["skipped"]
