"""``python -m benchmarks.scale``: how far one process goes, with the naive design beside it.

Steps (each long one has a progress bar):

1. fill: N subscriptions in SQLite (spread over the day, 50 zones, members too);
2. engine at N, in a child process: start to ready, resident memory when idle, one idle
   wake-up, next-fire computations per second;
3. engine and naive at K, each in a child process (naive: one APScheduler job per
   subscription), for the ratios;
4. delivery: M reminders due at the same instant, sent by the real bot (``python -m bot``)
   to the local Discord emulator with a global limit of R requests/s, while members run
   ``/remind list`` and 50 logged-in members browse the dashboard — inside the bot on SQLite
   by default; ``--dashboard separate`` runs it as its own process (``python -m bot
   dashboard``) beside the bot on one PostgreSQL, ``--bot-database postgresql`` puts the
   bot on PostgreSQL whatever the dashboard (a throwaway server the benchmark starts and
   removes, or ``--database``);
5. delivery_cold: C new members subscribe through ``/remind start`` (half in DMs, half in a
   server), all to the same minute, no DM channel known beforehand, the bot at its defaults.

``--delivery-only`` runs step 4 alone (a few minutes for M = 10,000). Prints a table and,
with ``--json PATH``, writes every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.child import run_child
from benchmarks.delivery import DASHBOARD_MODES, measure_cold_delivery, measure_delivery
from benchmarks.failover import measure_failover
from benchmarks.pg_figures import measure_postgres
from benchmarks.seed import fill
from testkit.pg_server import start_or_skip_reason

# (json key, goal text, check) — check is None for "report".
GOALS: dict[str, tuple[str, Any]] = {
    "engine.fill_s": ("report", None),
    "engine.start_to_ready_s": ("< 2 s", lambda v: v < 2),
    "engine.rss_mb": ("< 150 MB", lambda v: v < 150),
    "engine.idle_wakeup_ms": ("< 2 ms", lambda v: v < 2),
    "engine.next_fire_per_s": ("≥ 200,000", lambda v: v >= 200_000),
    "naive.fill_s": ("report", None),
    "naive.start_to_ready_s": ("report", None),
    "naive.rss_mb": ("report", None),
    "naive.idle_wakeup_ms": ("report", None),
    "naive.next_fire_per_s": ("report", None),
    "delivery.due": ("—", None),
    "delivery.delivered": ("report", None),
    "delivery.sent_before_due": ("report", None),
    "delivery.lost": ("= 0", lambda v: v == 0),
    "delivery.duplicated": ("= 0", lambda v: v == 0),
    "delivery.rate_ratio": ("≥ 0.95", lambda v: v >= 0.95),
    "delivery.rate_limited_share": ("≤ 0.001", lambda v: v <= 0.001),
    "delivery.lateness_p50_s": ("report (raw)", None),
    "delivery.lateness_p99_s": ("report (raw)", None),
    "delivery.lateness_adjusted_p50_s": ("report", None),
    "delivery.lateness_adjusted_p99_s": ("< 1 s", lambda v: v < 1),
    "delivery.lateness_paced_p99_s": ("report (beyond the limiter's margin)", None),
    "delivery.first_send_after_due_s": ("report (negative: early)", None),
    "delivery.slash_p99_ms": ("< 100 ms", lambda v: v < 100),
    "delivery.dashboard_page_p50_ms": ("report", None),
    "delivery.dashboard_page_p99_ms": ("< 200 ms", lambda v: v < 200),
    "delivery_cold.due": ("—", None),
    "delivery_cold.delivered": ("report", None),
    "delivery_cold.sent_before_due": ("report", None),
    "delivery_cold.lost": ("= 0", lambda v: v == 0),
    "delivery_cold.duplicated": ("= 0", lambda v: v == 0),
    "delivery_cold.token_requests_per_reminder": ("= 1", lambda v: v == 1),
    "delivery_cold.rate_ratio": ("≥ 0.95", lambda v: v >= 0.95),
    "delivery_cold.rate_limited_share": ("≤ 0.001", lambda v: v <= 0.001),
    "delivery_cold.lateness_p50_s": ("report (raw)", None),
    "delivery_cold.lateness_p99_s": ("report (raw)", None),
    "delivery_cold.lateness_adjusted_p50_s": ("report", None),
    "delivery_cold.lateness_adjusted_p99_s": ("< 1 s", lambda v: v < 1),
    "delivery_cold.slash_p99_ms": ("< 100 ms", lambda v: v < 100),
    "ratio.start_to_ready": ("≥ 20", lambda v: v >= 20),
    "ratio.rss": ("≥ 20", lambda v: v >= 20),
    "ratio.rss_net": ("report (above the import baseline)", None),
    "pg.fill_s": ("report", None),
    "pg.copy_s": ("report (migrate-db)", None),
    "pg.copy_rows_per_s": ("report", None),
    "pg.start_to_ready_s": ("< 2 s", lambda v: v < 2),
    "pg.rss_mb": ("< 150 MB (each process)", lambda v: v < 150),
    "pg.idle_wakeup_ms": ("report", None),
    "pg.due": ("—", None),
    "pg.claim_per_s": ("≥ 5,000", lambda v: v >= 5000),
    "pg.claimed_twice": ("= 0", lambda v: v == 0),
    "multi.processes": ("—", None),
    "multi.lost": ("= 0", lambda v: v == 0),
    "multi.duplicated": ("= 0", lambda v: v == 0),
    "multi.rate_ratio": ("≥ 0.95", lambda v: v >= 0.95),
    "multi.rate_limited_share": ("≤ 0.001", lambda v: v <= 0.001),
    "multi.lateness_adjusted_p99_s": ("< 1 s", lambda v: v < 1),
    "failover.orphaned": ("—", None),
    "failover.lost": ("= 0", lambda v: v == 0),
    "failover.duplicated": ("= 0", lambda v: v == 0),
    "failover.takeover_s": ("≤ lease + 5 s (35 s)", lambda v: v <= 35),
}

FIGURE_KEYS = ("start_to_ready_s", "rss_mb", "idle_wakeup_ms", "next_fire_per_s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--burst", type=int, default=10_000, metavar="M")
    parser.add_argument("--naive-subscriptions", type=int, default=100_000, metavar="K")
    parser.add_argument(
        "--cold-burst",
        type=int,
        default=1_000,
        metavar="C",
        help="new members subscribing through slash commands for the cold case (0: skip it)",
    )
    parser.add_argument("--limit", type=int, default=50, metavar="R", help="requests/s")
    parser.add_argument(
        "--dashboard-members",
        type=int,
        default=50,
        metavar="D",
        help="logged-in members browsing the dashboard during the burst (0: no dashboard)",
    )
    parser.add_argument(
        "--dashboard",
        choices=DASHBOARD_MODES,
        default="in-process",
        help="where the dashboard runs during the burst: inside the bot (the default), as its "
        "own process (python -m bot dashboard; the bot on PostgreSQL), or not at all",
    )
    parser.add_argument(
        "--bot-database",
        choices=("sqlite", "postgresql"),
        default=None,
        help="the burst's bot on SQLite (the default) or PostgreSQL (with --dashboard "
        "separate): --database, else a throwaway server started and removed here",
    )
    parser.add_argument(
        "--delivery-only",
        action="store_true",
        help="only the delivery.* figures (M, R, D): no fill, engine, naive, cold or pg.* step",
    )
    parser.add_argument(
        "--send-rate",
        type=float,
        default=None,
        help="the bot's SEND_RATE_PER_S during the burst (default: R, the limit it is told)",
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=6.0,
        help="seconds from starting the bot to the burst's due instant (it is ready in ~1 s)",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="postgresql://…",
        help="an empty PostgreSQL database: adds the pg.* figures (it is filled with N rows)",
    )
    parser.add_argument("--processes", type=int, default=1, metavar="P", help="for pg.*")
    parser.add_argument(
        "--pg-due",
        type=int,
        default=50_000,
        metavar="D",
        help="rows due at once for pg.claim_per_s",
    )
    parser.add_argument(
        "--pg-only", action="store_true", help="with --database: only the pg.* figures"
    )
    parser.add_argument(
        "--no-failover",
        action="store_true",
        help="with --database and P > 1: skip the multi.*/failover.* run (P bots, M due)",
    )
    parser.add_argument(
        "--cold-only",
        action="store_true",
        help="only the delivery_cold.* figures (C members, R requests/s); no fill, no burst",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the databases here")
    options = parser.parse_args(argv)
    if options.bot_database is None:
        options.bot_database = "postgresql" if options.dashboard == "separate" else "sqlite"
    if options.dashboard == "separate" and options.bot_database != "postgresql":
        parser.error("--dashboard separate needs the bot on PostgreSQL (--bot-database postgresql)")
    return options


def machine() -> dict[str, Any]:
    memory_kb = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    cpu = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "platform": platform.platform(),
    }


def flatten(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        f"{group}.{key}": value
        for group, values in figures.items()
        for key, value in values.items()
    }


def fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}"
    return str(value)


def table(figures: dict[str, dict[str, Any]], options: argparse.Namespace) -> Table:
    flat = flatten(figures)
    title = (
        f"Steady reminder engine at scale — N={options.subscriptions:,} "
        f"K={options.naive_subscriptions:,} M={options.burst:,} R={options.limit}/s"
    )
    if options.delivery_only:
        title = (
            f"Steady's burst — M={options.burst:,} R={options.limit}/s, the bot on "
            f"{options.bot_database}, dashboard {options.dashboard} "
            f"({options.dashboard_members if options.dashboard != 'none' else 0} browsing)"
        )
    result = Table(title=title)
    result.add_column("figure", no_wrap=True)
    result.add_column("value", justify="right", no_wrap=True, min_width=12)
    result.add_column("goal", no_wrap=True)
    result.add_column("", justify="center")
    for key, (goal, check) in GOALS.items():
        value = flat.get(key)
        if key not in flat:
            continue  # a part that was not run (--pg-only, or no --database)
        mark = "" if check is None or value is None else ("✓" if check(value) else "✗")
        result.add_row(key, fmt(value), goal, mark)
    return result


@contextlib.contextmanager
def burst_database(options: argparse.Namespace) -> Iterator[str | None]:
    """The PostgreSQL URL the burst's bot runs on (``None``: a SQLite file): ``--database``,
    else a throwaway server (:mod:`testkit.pg_server`: loopback, fsync off) removed after."""
    if options.bot_database == "sqlite":
        yield None
        return
    if options.database:
        yield options.database
        return
    server, reason = start_or_skip_reason()
    if server is None:
        raise SystemExit(f"--bot-database postgresql without --database: {reason}")
    try:
        yield server.url()
    finally:
        server.remove()


def run_delivery(options: argparse.Namespace, workdir: Path, report: Any) -> dict[str, Any]:
    """Step 4, ``delivery.*``: the burst through the real bot (see the module)."""
    send_rate = options.send_rate if options.send_rate is not None else float(options.limit)
    with burst_database(options) as url:
        delivery = asyncio.run(
            measure_delivery(
                options.burst,
                options.limit,
                workdir,
                report=report,
                lead=options.lead,
                bot_env={"SEND_RATE_PER_S": f"{send_rate:g}"},
                dashboard_members=options.dashboard_members,
                dashboard=options.dashboard,
                database_url=url,
            )
        )
    delivery["bot_send_rate_per_s"] = send_rate
    return delivery


def run(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    n, k, r = options.subscriptions, options.naive_subscriptions, options.limit
    workdir_ctx = (
        tempfile.TemporaryDirectory(prefix="steady-bench-") if options.workdir is None else None
    )
    workdir = Path(workdir_ctx.name) if workdir_ctx else options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict[str, Any]] = {}
    columns = (
        TextColumn("{task.description:<38}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:

            def bar(description: str, total: int) -> Callable[[int, int], None]:
                task = progress.add_task(description, total=total)
                return lambda done, all_: progress.update(task, completed=done, total=all_)

            tasks: dict[str, Any] = {}

            def report(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=done, total=total)

            if options.delivery_only:
                figures["delivery"] = run_delivery(options, workdir, report)
                return figures
            if options.database:
                figures["pg"] = measure_postgres(
                    options.database,
                    n,
                    min(options.pg_due, n),
                    options.processes,
                    workdir,
                    bar,
                )
                if options.processes > 1 and not options.no_failover:
                    figures.update(
                        asyncio.run(
                            measure_failover(
                                options.database,
                                options.burst,
                                r,
                                options.processes,
                                workdir,
                                report=report,
                            )
                        )
                    )
            if options.pg_only:
                return figures
            if options.cold_only:
                figures["delivery_cold"] = asyncio.run(
                    measure_cold_delivery(options.cold_burst, r, workdir, report=report)
                )
                return figures

            # 1. fill N
            seed_n = int(time.time())
            started = time.perf_counter()
            fill(workdir / "engine_n.sqlite3", n, seed_n, bar(f"fill {n:,} subscriptions", n))
            fill_n = time.perf_counter() - started

            # 2. engine at N
            engine_n = run_child(
                "engine", workdir / "engine_n.sqlite3", seed_n, bar(f"engine at N={n:,}", 3)
            )
            (workdir / "engine_n.sqlite3").unlink()

            # 3. engine and naive at K
            seed_k = int(time.time())
            started = time.perf_counter()
            fill(workdir / "k.sqlite3", k, seed_k, bar(f"fill {k:,} subscriptions", k))
            fill_k = time.perf_counter() - started
            engine_k = run_child(
                "engine", workdir / "k.sqlite3", seed_k, bar(f"engine at K={k:,}", 3)
            )
            naive_k = run_child(
                "naive", workdir / "k.sqlite3", seed_k, bar(f"naive: {k:,} APScheduler jobs", k)
            )

            # 4. delivery
            delivery = run_delivery(options, workdir, report)
            if options.cold_burst:
                cold = asyncio.run(
                    measure_cold_delivery(options.cold_burst, r, workdir, report=report)
                )
                figures["delivery_cold"] = cold

        figures["engine"] = {"fill_s": fill_n, **engine_n}
        figures["naive"] = {"fill_s": fill_k, **naive_k}
        figures["engine_at_k"] = {"fill_s": fill_k, **engine_k}
        figures["delivery"] = delivery
        figures["ratio"] = {
            "start_to_ready": naive_k["start_to_ready_s"] / engine_k["start_to_ready_s"],
            "rss": naive_k["rss_mb"] / engine_k["rss_mb"],
            "rss_net": naive_k["rss_net_mb"] / max(engine_k["rss_net_mb"], 0.001),
        }
    finally:
        if workdir_ctx is not None:
            workdir_ctx.cleanup()
    return figures


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # Wide enough for the table even when the output goes to a file or a pipe.
    console = Console(stderr=False, width=max(100, Console().width))
    host = machine()
    console.print(
        f"[bold]Steady scale benchmark[/] on {host['cores']} cores, {host['memory_gb']} GB "
        f"({host['cpu'] or platform.machine()}), Python {host['python']}, SQLite {host['sqlite']}"
    )
    started = time.perf_counter()
    figures = run(options, console)
    console.print(table(figures, options))
    output = {
        "options": {
            "subscriptions": options.subscriptions,
            "burst": options.burst,
            "naive_subscriptions": options.naive_subscriptions,
            "cold_burst": options.cold_burst,
            "limit": options.limit,
            "processes": options.processes if options.database else None,
            "dashboard": options.dashboard,
            "dashboard_members": options.dashboard_members,
            "bot_database": options.bot_database,
            "delivery_only": options.delivery_only,
            "lead": options.lead,
        },
        "machine": host,
        "elapsed_s": time.perf_counter() - started,
        **figures,
    }
    if options.json is not None:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(output, indent=2) + "\n")
        console.print(f"figures written to {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
