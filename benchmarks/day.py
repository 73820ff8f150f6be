"""``python -m benchmarks.day``: a whole day of reminders at scale, simulated in minutes.

A population (:mod:`testkit.population`) is written straight into storage, and Steady's
real engine — the :class:`~services.engine.reminder_engine.ReminderEngine` the bot builds
(:func:`bot.compose.build_core`):
dispatcher, sender, renderer with the shipped content, ledger, storage — runs over 24
simulated hours (after an hour of warm-up, and until the day's last occurrence is settled)
against a simulated Discord (:mod:`benchmarks.sim_discord`) that enforces the token's
global limit in its fixed one-second windows. Every request goes through the real limiter
(:class:`services.ratelimit.SlotPacer` at ``SEND_RATE_PER_S``).

Time is virtual (:mod:`testkit.virtual_clock`): work — Python on the loop, database
statements — takes the real time it takes, and idle gaps are skipped. So what the figures
show is what this machine's engine would do against Discord over a real day.

Figures, per population and engine, per kind and in all: due, sent, sent within its timing
tolerance (``domain.kinds``, ``docs/timing.md``) and ``outside_tolerance``, lateness p50 / p99
/ max (arrival at Discord minus the due instant), sent early (and how early), skipped (recorded
in the ledger and not sent, by reason), lost and duplicated; the peak minute of the due
load against the send capacity; token requests per reminder; 429s; CPU seconds for the
simulated day. ``--json PATH`` writes them all. Beside them, the capacity planner's
prediction (``python -m bot capacity``, :mod:`services.capacity`), made on the same
population's database before the day runs: per kind, predicted against simulated skips and
lateness (p99, max), and whether they agree within 10 %.

Engines: ``today`` is the engine as it is (due order, no tolerance).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.scale import fmt, machine
from benchmarks.sim_discord import PacedTransport, SimDiscord
from bot.compose import build_core
from bot.settings import Settings
from content import load_content
from domain.enums import DeliveryState
from domain.kinds import timing_for
from services.capacity import KINDS, CapacityPlan, Due, load_figures, plan_next_day
from services.engine.dispatcher import Wake
from services.engine.policy import Deadlines, DueOrder, SendPolicy
from services.ratelimit import SlotPacer
from storage.database import Database
from storage.transfer import TABLES, non_empty_tables
from testkit.population import Population, read_zone_weights, realistic, worst
from testkit.virtual_clock import VirtualClockLoop, tracked

DAY = 24 * 3600
WARM_UP = 3600  # the engine runs an hour before the measured day starts
DRAIN_CAP = 6 * 3600  # after the day: at most this long for its last occurrences to settle
# A due second holding at least this many occurrences is a burst: how soon after the second
# its first send leaves the bot is reported (``burst_first_send_*``).
BURST = 100
POPULATIONS: dict[str, Callable[..., Population]] = {"realistic": realistic, "worst": worst}
ENGINES = ("today", "new")

Report = Callable[[float], None]


# --- the engine on the virtual clock -------------------------------------------------------


class LoopWaker:
    """The dispatcher's waker on the loop's clock (the bot's is one APScheduler date job,
    which reads the real wall clock): one pending wake-up, replaced on every re-plan."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def wake_at(self, when: datetime, wake: Wake) -> None:
        if self._handle is not None:
            self._handle.cancel()
        delay = max(0.0, (when - self.clock()).total_seconds())
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire, wake)

    def _fire(self, wake: Wake) -> None:
        task = asyncio.get_running_loop().create_task(self._run(wake))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(wake: Wake) -> None:
        # create_task takes a coroutine; ``Wake`` promises only an awaitable.
        await wake()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


def defaults() -> dict[str, Any]:
    """The bot's own defaults for what the benchmark takes from its settings."""
    fields = Settings.model_fields
    return {
        "send_rate_per_s": fields["send_rate_per_s"].default,
        "send_workers": fields["send_workers"].default,
        "claim_lease_s": fields["claim_lease_s"].default,
    }


def policy_for(engine_name: str, send_rate: float) -> SendPolicy:
    """``today``: due order, no tolerance (the engine before #21); ``new``: deadlines,
    early claims before a peak, nothing sent too late (``services.engine.policy``)."""
    if engine_name == "today":
        return DueOrder()
    return Deadlines(capacity_per_s=send_rate)


async def _open_empty(url: str, first: bool) -> Database:
    db = await Database.open(url)
    await db.migrate()
    if db.dialect == "postgresql":
        if first:
            busy = await non_empty_tables(db)
            if busy:
                await db.close()
                raise SystemExit(
                    f"--database must be an empty database (rows in {', '.join(busy)})"
                )
        else:  # this benchmark filled it on an earlier run: empty it again
            await db.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    return db


async def run_engine(
    engine_name: str,
    population: Population,
    url: str,
    options: argparse.Namespace,
    report: Report,
    first: bool,
    before_day: Callable[[Database], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """One engine over one simulated day; returns its figures. ``before_day`` reads the
    population's database once it is written, before the engine starts (the planner)."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    day_start = int(datetime.combine(options.date, datetime.min.time(), UTC).timestamp())
    day_end = day_start + DAY
    warm_start = day_start - WARM_UP

    with loop.real_time():
        raw_db = await _open_empty(url, first)
        await population.write(raw_db, warm_start - 1)
        if before_day is not None:
            await before_day(raw_db)
        content = load_content()
    db = tracked(raw_db, loop.flight)
    origin = loop.time()

    def clock() -> datetime:
        return datetime.fromtimestamp(warm_start + (loop.time() - origin), UTC)

    discord = SimDiscord(
        limit=options.limit,
        one_way_s=options.latency_ms / 2000,
        jitter_s=options.jitter_ms / 1000,
        clock=lambda: warm_start + (loop.time() - origin),
    )
    limiter = SlotPacer(options.send_rate, clock=loop.time, sleep=asyncio.sleep)
    waker = LoopWaker(clock)
    engine = build_core(
        db,
        content,
        PacedTransport(discord, limiter),
        clock=clock,
        waker=waker,
        sleep=asyncio.sleep,
        workers=options.workers,
        lease_s=options.lease,
        policy=policy_for(engine_name, options.send_rate),
    ).engine

    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    clock_before = loop.figures()
    await engine.start()
    # The day, in simulated minutes.
    while clock().timestamp() < day_end:
        await asyncio.sleep(60)
        report(clock().timestamp() - warm_start)
    # Then until every occurrence due in the day is settled (or the cap).
    unsettled = await _unsettled(db, day_end)
    while unsettled and clock().timestamp() < day_end + DRAIN_CAP:
        await asyncio.sleep(60)
        report(clock().timestamp() - warm_start)
        unsettled = await _unsettled(db, day_end)
    simulated_s = clock().timestamp() - warm_start
    await engine.stop()
    cpu_s = time.process_time() - cpu_started
    wall_s = time.perf_counter() - wall_started
    clock_after = loop.figures()

    with loop.real_time():
        rows = await raw_db.fetchall(
            "SELECT nonce, kind, scheduled_at, state, error, source FROM deliveries "
            "WHERE scheduled_at >= ? AND scheduled_at < ?",
            (day_start, day_end),
        )
        await raw_db.close()

    figures = _figures(population, rows, discord, day_start, day_end)
    token_requests = discord.requests
    # Over the whole run (warm-up and drain too): every request against every message.
    messages = len(discord.messages)
    figures["run"] = {
        "unsettled_at_end": unsettled,
        "simulated_h": simulated_s / 3600,
        "cpu_s": cpu_s,
        "cpu_s_per_simulated_day": cpu_s * DAY / simulated_s,
        "wall_s": wall_s,
        "token_requests": token_requests,
        "messages": messages,
        "token_requests_per_reminder": token_requests / messages if messages else float("nan"),
        "rate_limited": discord.rate_limited,
        "busiest_window": discord.busiest_window,
        "dm_channels_opened": discord.opened_dms,
        "clock_skipped_s": clock_after["skipped_s"] - clock_before["skipped_s"],
        "clock_waited_in_flight_s": clock_after["waited_in_flight_s"]
        - clock_before["waited_in_flight_s"],
        "tracked_db_calls": clock_after["tracked_calls"] - clock_before["tracked_calls"],
    }
    figures["run"]["peak_minute_sent"] = figures.pop("peak_minute_sent")
    return figures


async def _unsettled(db: Database, day_end: int) -> int:
    """Occurrences due before ``day_end`` not yet final: still due, queued or being sent."""
    due = await db.fetchval("SELECT count(*) FROM subscriptions WHERE next_fire_at < ?", (day_end,))
    pending = await db.fetchval(
        "SELECT count(*) FROM deliveries WHERE state IN ('claimed', 'sending') "
        "AND scheduled_at < ?",
        (day_end,),
    )
    return int(due) + int(pending)


# --- figures -------------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def due_figures(
    population: Population, day_start: int, day_end: int, rate: float
) -> dict[str, Any]:
    """The population and its due load per minute against the send capacity (the capacity
    planner's own figures, :func:`services.capacity.load_figures`)."""
    per_second: Counter[tuple[int, str]] = Counter(
        (due, kind) for _nonce, kind, due in population.occurrences(day_start, day_end)
    )
    load = [Due(at, kind, n) for (at, kind), n in sorted(per_second.items())]
    figures = load_figures(load, rate, day_start, day_end)
    peak = figures.peak_minutes[0] if figures.peak_minutes else None
    return {
        "members": len(population.members),
        "subscriptions": len(population.subscriptions),
        "daily_tips": population.servers,
        "due": round(figures.due),
        "due_per_kind": {kind: round(n) for kind, n in figures.due_per_kind.items()},
        "capacity_per_minute": figures.capacity_per_minute,
        "peak_minute_due": round(figures.peak_minute_due),
        "peak_minute_at": datetime.fromtimestamp(peak.at if peak else 0, UTC).strftime("%H:%M UTC"),
        "peak_to_capacity": figures.peak_to_capacity,
        "minutes_over_capacity": figures.minutes_over_capacity,
        "due_above_capacity": round(figures.due_above_capacity),
    }


def _kind_figures(kind: str, lateness: list[float], due: int, final: Counter[str], lost: int,
                  duplicated: int) -> dict[str, Any]:  # fmt: skip
    timing = timing_for(kind)
    lateness.sort()
    early = sorted(-x for x in lateness if x < 0)
    within = sum(1 for x in lateness if timing.within(x))
    return {
        "tolerance_early_s": timing.early.total_seconds(),
        "tolerance_late_s": timing.late.total_seconds(),
        "due": due,
        "sent": len(lateness),
        "sent_within_tolerance": within,
        "outside_tolerance": len(lateness) - within,
        "late_p50_s": percentile(lateness, 50),
        "late_p99_s": percentile(lateness, 99),
        "late_max_s": lateness[-1] if lateness else float("nan"),
        "sent_early": len(early),
        "early_p50_s": percentile(early, 50) if early else 0.0,
        "early_max_s": early[-1] if early else 0.0,
        "skipped": sum(final.values()),
        "skipped_by_reason": dict(final),
        "lost": lost,
        "duplicated": duplicated,
    }


def _figures(
    population: Population, rows: list[Any], discord: SimDiscord, day_start: int, day_end: int
) -> dict[str, Any]:
    expected: dict[str, tuple[str, int]] = {
        nonce: (kind, due) for nonce, kind, due in population.occurrences(day_start, day_end)
    }
    recorded: Counter[str] = Counter()
    lateness: dict[str, list[float]] = {kind: [] for kind in KINDS}
    not_sent: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    due: Counter[str] = Counter(kind for kind, _ in expected.values())
    lost: Counter[str] = Counter()
    duplicated: Counter[str] = Counter()
    sent_minutes: Counter[int] = Counter()
    first_left: dict[int, float] = {}  # due second -> the first send of it to leave the bot
    due_seconds: Counter[int] = Counter(due for _, due in expected.values())
    for nonce, kind, scheduled_at, state, error, source in rows:
        if source != "schedule":
            continue
        recorded[nonce] += 1
        if recorded[nonce] > 1:
            duplicated[kind] += 1
            continue
        if nonce not in expected:
            duplicated[kind] += 1  # an occurrence the schedule never had
            continue
        arrival = discord.messages.get(nonce)
        if state == DeliveryState.SENT and arrival is not None:
            lateness[kind].append(arrival.at - scheduled_at)
            sent_minutes[int(arrival.at) // 60] += 1
            if due_seconds[scheduled_at] >= BURST:
                left = arrival.left_at - scheduled_at
                first_left[scheduled_at] = min(first_left.get(scheduled_at, left), left)
        elif state in (DeliveryState.CLAIMED, DeliveryState.SENDING):
            lost[kind] += 1  # never settled
        elif state == DeliveryState.SENT:
            lost[kind] += 1  # recorded as sent, never reached Discord
        else:
            not_sent[kind][f"{state}: {error}"] += 1
    for nonce, (kind, _due) in expected.items():
        if nonce not in recorded:
            lost[kind] += 1
    kinds = {
        kind: _kind_figures(
            kind, lateness[kind], due[kind], not_sent[kind], lost[kind], duplicated[kind]
        )
        for kind in KINDS
    }
    # Resent POSTs Discord answered with the first message: without enforce_nonce, doubles.
    every: list[float] = sorted(x for values in lateness.values() for x in values)
    early = sorted(-x for x in every if x < 0)
    all_kinds = {
        "due": sum(due.values()),
        "sent": len(every),
        "sent_within_tolerance": sum(k["sent_within_tolerance"] for k in kinds.values()),
        "outside_tolerance": sum(k["outside_tolerance"] for k in kinds.values()),
        "late_p50_s": percentile(every, 50),
        "late_p99_s": percentile(every, 99),
        "late_max_s": every[-1] if every else float("nan"),
        "sent_early": len(early),
        "early_max_s": early[-1] if early else 0.0,
        "skipped": sum(k["skipped"] for k in kinds.values()),
        "lost": sum(lost.values()),
        "duplicated": sum(duplicated.values()) + discord.repeated_nonces,
    }
    firsts = sorted(first_left.values())
    all_kinds["bursts"] = len(firsts)
    all_kinds["burst_first_send_p50_ms"] = percentile(firsts, 50) * 1000
    all_kinds["burst_first_send_max_ms"] = firsts[-1] * 1000 if firsts else float("nan")
    return {
        "kinds": kinds,
        "all": all_kinds,
        "outside_tolerance": all_kinds["outside_tolerance"],
        "peak_minute_sent": max(sent_minutes.values(), default=0),
    }


# --- the capacity planner beside the day ----------------------------------------------------

#: The planner agrees with the day when its figure is within this share of the day's.
AGREEMENT = 0.10
#: Lateness below this counts as on time on both sides: the model's step is one second, and
#: the engine's sub-second costs (claims, the network's 25 ms) are not in it.
ON_TIME_S = 10.0


async def plan_before_day(into: dict[str, Any], start: int, rate: float, db: Database) -> None:
    """The capacity planner on the population's database, before the day runs."""
    started = time.perf_counter()
    made = await plan_next_day(db, now=start, capacity_per_s=rate)
    into.update(planner_figures(made), plan_s=time.perf_counter() - started)


def planner_figures(plan: CapacityPlan) -> dict[str, Any]:
    """``python -m bot capacity``'s figures for the day, without its per-minute series."""
    figures = plan.as_dict()
    del figures["minutes"]
    return figures


def _close(predicted: float, simulated: float, floor: float) -> bool:
    return abs(predicted - simulated) <= max(AGREEMENT * max(predicted, simulated), floor)


def agreement(predicted: dict[str, Any], simulated: dict[str, Any]) -> dict[str, Any]:
    """Per kind and in all, the planner's prediction for an engine beside what the engine
    did in the day: skips, and lateness past the due second (p99, max; early is 0)."""

    def positive(value: float) -> float:
        return 0.0 if value != value else max(value, 0.0)  # nan: nothing sent

    def compare(p: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "skipped": {"predicted": p["skipped"], "simulated": s["skipped"]},
        }
        out["skipped"]["agrees"] = _close(p["skipped"], s["skipped"], 1.0)
        for key in ("late_p99_s", "late_max_s"):
            day = positive(s[key])
            out[key] = {
                "predicted": p[key],
                "simulated": day,
                "agrees": max(p[key], day) < ON_TIME_S or _close(p[key], day, 0.0),
            }
        return out

    kinds = {
        kind: compare(predicted["kinds"][kind], values)
        for kind, values in simulated["kinds"].items()
        if kind in predicted["kinds"]
    }
    everything = compare(predicted["all"], simulated["all"])
    agrees = all(f["agrees"] for k in [*kinds.values(), everything] for f in k.values())
    return {"kinds": kinds, "all": everything, "agrees": agrees}


def planner_table(name: str, engine_name: str, group: dict[str, Any]) -> Table:
    planner, compared = group["planner"], group[engine_name]["planner"]
    room = planner["headroom"]
    table = Table(
        title=(
            f"{name} population, {engine_name} engine: the capacity planner's prediction, made "
            f"before the day in {planner['plan_s']:.1f} s, beside the day "
            f"({'agrees' if compared['agrees'] else 'DISAGREES'} within "
            f"{AGREEMENT:.0%}; lateness under {ON_TIME_S:g} s is on time); headroom "
            f"{room['members']:,} members (× {room['factor']:.2f})"
        ),
        title_justify="left",
    )
    table.add_column("kind", no_wrap=True)
    for header in ("skipped: plan", "day", "late p99: plan", "day", "latest: plan", "day"):
        table.add_column(header, justify="right", no_wrap=True)
    rows = list(compared["kinds"].items()) + [("all", compared["all"])]
    due = group[engine_name]["kinds"]
    for kind, values in rows:
        if kind != "all" and not due[kind]["due"]:
            continue
        skipped = values["skipped"]
        cells = [fmt(round(skipped["predicted"])), fmt(round(skipped["simulated"]))]
        for key in ("late_p99_s", "late_max_s"):
            cells += [fmt(float(values[key]["predicted"])), fmt(float(values[key]["simulated"]))]
        agrees = all(v["agrees"] for v in values.values())
        table.add_row(kind, *cells, style=None if agrees else "bold red")
    return table


# --- the command ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    bot = defaults()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.day", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--members", type=int, default=10_000, metavar="N")
    parser.add_argument(
        "--populations",
        default="realistic,worst",
        help="comma-separated: realistic (zones by weight, spread times), worst (one zone, "
        "default times)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated: today (due order, no tolerance), new (deadlines, #21)",
    )
    parser.add_argument(
        "--zones",
        type=Path,
        default=None,
        help="zone weights file (see testkit/zone_weights.csv)",
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=date(2026, 6, 10), help="the simulated UTC day"
    )
    parser.add_argument("--limit", type=int, default=50, metavar="R", help="Discord's limit, /s")
    parser.add_argument(
        "--send-rate",
        type=float,
        default=bot["send_rate_per_s"],
        help="SEND_RATE_PER_S, the limiter's pace (default: the bot's)",
    )
    parser.add_argument("--workers", type=int, default=bot["send_workers"], help="SEND_WORKERS")
    parser.add_argument("--lease", type=int, default=bot["claim_lease_s"], help="CLAIM_LEASE_S")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="round trip to Discord")
    parser.add_argument("--jitter-ms", type=float, default=1.0, help="extra delay each way, 0..J")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument(
        "--database",
        default=None,
        metavar="postgresql://…",
        help="an empty PostgreSQL database to run on instead of SQLite files",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the SQLite files here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    options = parser.parse_args(argv)
    options.population_names = [p for p in options.populations.split(",") if p]
    options.engine_names = [e for e in options.engines.split(",") if e]
    for name in options.population_names:
        if name not in POPULATIONS:
            parser.error(f"unknown population {name!r}")
    for name in options.engine_names:
        if name not in ENGINES:
            parser.error(f"unknown engine {name!r}")
    return options


async def _run_all(
    options: argparse.Namespace, workdir: Path, progress: Progress | None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    day_start = int(datetime.combine(options.date, datetime.min.time(), UTC).timestamp())
    results: dict[str, Any] = {}
    first = True
    zones = read_zone_weights(options.zones) if options.zones else None
    for name in options.population_names:
        with loop.real_time():
            if name == "realistic":
                population = realistic(options.members, zones=zones, seed=options.seed)
            else:
                population = worst(options.members, seed=options.seed)
            group: dict[str, Any] = {
                "population": due_figures(population, day_start, day_start + DAY, options.send_rate)
            }
        planner: dict[str, Any] = {}
        plan = partial(plan_before_day, planner, day_start, options.send_rate)
        for engine_name in options.engine_names:
            url = options.database or f"sqlite:///{workdir / f'{name}-{engine_name}.sqlite3'}"
            task = None
            if progress is not None:
                task = progress.add_task(
                    f"{name}: {engine_name} engine", total=(WARM_UP + DAY) / 3600
                )

            def report(simulated_s: float, task: Any = task) -> None:
                if progress is not None:
                    progress.update(task, completed=simulated_s / 3600)

            group[engine_name] = await run_engine(
                engine_name, population, url, options, report, first,
                before_day=None if planner else plan,
            )  # fmt: skip
            group[engine_name]["planner"] = agreement(planner[engine_name], group[engine_name])
            first = False
        group["planner"] = planner
        results[name] = group
    return results


KIND_COLUMNS = (
    ("due", "due"),
    ("sent", "sent"),
    ("in tol.", "sent_within_tolerance"),
    ("outside", "outside_tolerance"),
    ("late p50", "late_p50_s"),
    ("p99", "late_p99_s"),
    ("max", "late_max_s"),
    ("early", "sent_early"),
    ("max early", "early_max_s"),
    ("skipped", "skipped"),
    ("lost", "lost"),
    ("dup", "duplicated"),
)


def tables(results: dict[str, Any], options: argparse.Namespace) -> list[Table]:
    out = []
    for name, group in results.items():
        pop = group["population"]
        for engine_name in options.engine_names:
            figures = group[engine_name]
            run = figures["run"]
            title = (
                f"{name} population, {engine_name} engine — {pop['members']:,} members, "
                f"{pop['due']:,} due; peak minute {pop['peak_minute_due']:,} at "
                f"{pop['peak_minute_at']} = {pop['peak_to_capacity']:.2f}× capacity "
                f"({pop['capacity_per_minute']:,.0f}/min)"
            )
            table = Table(title=title, title_justify="left")
            table.add_column("kind (early/late tol.)", no_wrap=True)
            for header, _ in KIND_COLUMNS:
                table.add_column(header, justify="right", no_wrap=True)
            rows = list(figures["kinds"].items()) + [("all", figures["all"])]
            for kind, values in rows:
                if not values["due"] and kind != "all":
                    continue
                label = kind
                if kind != "all":
                    label += (
                        f" ({values['tolerance_early_s'] / 60:g}/"
                        f"{values['tolerance_late_s'] / 60:g} min)"
                    )
                table.add_row(label, *(fmt(values.get(key)) for _, key in KIND_COLUMNS))
            table.caption = (
                f"lateness in s (arrival at Discord − due); token requests per reminder "
                f"{fmt(run['token_requests_per_reminder'])}, 429s {run['rate_limited']}, busiest "
                f"window {run['busiest_window']}/{options.limit}, peak minute sent "
                f"{run['peak_minute_sent']:,}; CPU {run['cpu_s']:.0f} s per "
                f"{run['simulated_h']:.1f} simulated h ({run['cpu_s_per_simulated_day']:.0f} s "
                f"per day), wall {run['wall_s']:.0f} s"
            )
            table.caption_justify = "left"
            out.append(table)
            out.append(planner_table(name, engine_name, group))
    return out


def simulate(options: argparse.Namespace, progress: Progress | None = None) -> dict[str, Any]:
    """Every population and engine of ``options`` on one virtual-clock loop; the figures."""
    workdir_ctx = (
        tempfile.TemporaryDirectory(prefix="steady-day-") if options.workdir is None else None
    )
    workdir = Path(workdir_ctx.name) if workdir_ctx else options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(_run_all(options, workdir, progress))
    finally:
        loop.close()
        if workdir_ctx is not None:
            workdir_ctx.cleanup()


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=False, width=max(150, Console().width))
    host = machine()
    console.print(
        f"[bold]Steady simulated day[/] — N={options.members:,} members, R={options.limit}/s, "
        f"SEND_RATE_PER_S={options.send_rate:g}, on {host['cores']} cores "
        f"({host['cpu'] or 'cpu?'}), Python {host['python']}, SQLite {host['sqlite']}"
    )
    started = time.perf_counter()
    if options.quiet:
        results = simulate(options)
    else:
        columns = (TextColumn("{task.description:<34}"), BarColumn(),
                   TextColumn("{task.completed:.1f}/{task.total:.0f} simulated h"),
                   TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=console) as progress:
            results = simulate(options, progress)
    for table in tables(results, options):
        console.print(table)
    output = {
        "options": {
            "members": options.members,
            "populations": options.population_names,
            "engines": options.engine_names,
            "date": options.date.isoformat(),
            "limit": options.limit,
            "send_rate_per_s": options.send_rate,
            "workers": options.workers,
            "latency_ms": options.latency_ms,
            "jitter_ms": options.jitter_ms,
            "seed": options.seed,
            "database": "postgresql" if options.database else "sqlite",
            "zones": str(options.zones or "testkit/zone_weights.csv"),
        },
        "machine": host,
        "elapsed_s": time.perf_counter() - started,
        **results,
    }
    if options.json is not None:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(output, indent=2) + "\n")
        console.print(f"figures written to {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
