"""``python -m bot capacity``: the next day's reminders against the send capacity.

Reads the database of ``DATABASE_URL`` (SQLite or PostgreSQL; it only reads, so it may run
beside the bot) and prints, for the next 24 hours (``--hours``) from now (``--start``): the
due load per hour and its busiest minute against the capacity, the peak minutes, what the
engine is predicted to do with it per kind (sent, skipped "too busy", how late), how many
more members of today's mix fit before the first skip, and a one-line verdict. The capacity
is ``SEND_RATE_PER_S`` (on PostgreSQL, the rate all the bot's processes share). The model
and how to read it: docs/timing.md, "The capacity planner".

Exit codes: 0 the plan was printed (whatever it says); 2 refused with one line on stderr
(invalid settings, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.settings import read_settings
from domain.errors import StartupError
from domain.kinds import label_of, timing_for
from services.capacity import CapacityPlan, plan_next_day
from storage.database import Database
from storage.postgres import describe_url
from storage.sqlite import sqlite_path_from_url

STAGES = {
    "read": "reading subscriptions",
    "expand": "expanding schedules",
    "predict": "predicting the day",
    "headroom": "finding the headroom",
}
BAR_WIDTH = 20  # characters for a minute at the capacity, in the hourly chart
WIDTH = 110  # the report's width when stdout is not a terminal (rich assumes 80)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot capacity",
        description="The next day's due load against SEND_RATE_PER_S, what the engine will "
        "do with it, and how many more members fit (docs/timing.md).",
    )
    parser.add_argument("--hours", type=float, default=24.0, help="how far ahead (default 24)")
    parser.add_argument(
        "--start",
        type=_instant,
        default=None,
        metavar="ISO",
        help="plan from this instant (e.g. 2026-06-10T00:00Z; default: now; no zone: UTC)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="every figure")
    args = parser.parse_args(argv)
    if not 0 < args.hours <= 24 * 7:
        parser.error("--hours must be more than 0 and at most a week")
    return args


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _where(url: str) -> str:
    """The database as a message may show it (never a password); refuses a SQLite file that
    is not there (opening it would create an empty one, and plan nothing, successfully)."""
    if not url.startswith("sqlite://"):
        return describe_url(url)
    path = sqlite_path_from_url(url)
    if isinstance(path, Path) and not path.is_file():
        raise StartupError(f"DATABASE_URL: there is no SQLite database at {path}")
    return str(path)


async def make_plan(
    url: str, start: datetime, hours: float, capacity: float, console: Console
) -> CapacityPlan:
    db = await Database.open(url)
    try:
        with Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            bars: dict[str, TaskID] = {}

            def report(stage: str, done: float, total: float) -> None:
                if stage not in bars:
                    bars[stage] = progress.add_task(STAGES.get(stage, stage), total=total)
                progress.update(bars[stage], completed=done, total=total)

            return await plan_next_day(
                db, now=start, capacity_per_s=capacity, hours=hours, progress=report
            )
    finally:
        await db.close()


# --- the report --------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _s(value: float) -> str:
    if value <= 0:
        return "on time"
    return f"{value:,.0f} s" if value >= 10 else f"{value:.1f} s"


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def hourly_table(plan: CapacityPlan) -> Table:
    """Per hour: due, its busiest minute, and that minute against a minute's capacity."""
    capacity = plan.load.capacity_per_minute
    table = Table(
        title=f"Due per hour (UTC); the bar is the busiest minute, | is the capacity "
        f"({_n(capacity)} a minute)",
        title_justify="left",
    )
    for header in ("hour", "due", "busiest minute", "× capacity"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for hour in range(plan.start - plan.start % 3600, plan.end, 3600):
        minutes = {at: n for at, n in plan.minutes.items() if hour <= at < hour + 3600}
        due = sum(minutes.values())
        at, busiest = max(minutes.items(), key=lambda item: item[1], default=(hour, 0.0))
        ratio = busiest / capacity
        table.add_row(
            _clock(hour),
            _n(due),
            f"{_n(busiest)} at {_clock(at)}" if busiest else "–",
            f"{ratio:.2f}",
            _bar(ratio),
            style="bold red" if ratio > 1 else None,
        )
    return table


def _bar(ratio: float) -> str:
    """A minute against the capacity: ``BAR_WIDTH`` is the capacity; a longer bar is cut at
    twice it, and marked."""
    width = min(round(ratio * BAR_WIDTH), 2 * BAR_WIDTH)
    cells = "█" * width
    if width > BAR_WIDTH:
        cells = cells[:BAR_WIDTH] + "|" + cells[BAR_WIDTH:]
    else:
        cells = cells.ljust(BAR_WIDTH) + "|"
    return cells + (f" {ratio:.0f}×" if ratio > 2 else "")


def kinds_table(plan: CapacityPlan) -> Table:
    table = Table(
        title="Predicted per kind: the engine (deadlines, early before a peak, nothing sent "
        "too late) and today's due order",
        title_justify="left",
    )
    table.add_column("kind (early/late min)", no_wrap=True)
    for header in ("due", "sent", "skipped", "late p99", "latest", "due order: latest"):
        table.add_column(header, justify="right", no_wrap=True)
    for kind, new in [*plan.new.kinds.items(), ("all", plan.new.all)]:
        if not new.due and kind != "all":
            continue
        assert plan.today is not None  # the command asks for the whole report
        today = plan.today.all if kind == "all" else plan.today.kinds[kind]
        label = "all"
        if kind != "all":
            timing = timing_for(kind)
            label = (
                f"{kind} ({timing.early.total_seconds() / 60:g}/"
                f"{timing.late.total_seconds() / 60:g})"
            )
        table.add_row(
            label,
            _n(new.due),
            _n(new.sent),
            _n(new.skipped),
            _s(new.late_p99_s),
            _s(new.late_max_s),
            _s(today.late_max_s),
            style="bold red" if new.skipped >= 0.5 else None,
        )
    return table


def headroom_line(plan: CapacityPlan) -> str:
    room = plan.headroom
    assert room is not None  # the command always asks for it
    if math.isinf(room.factor):
        return "Headroom: nothing is due, so no load to scale."
    if room.factor < 1:
        return (
            f"Headroom: none — already skipping; today's load would have to shrink to "
            f"{room.factor:.0%} of itself for nothing to be skipped."
        )
    return (
        f"Headroom: {room.members:,} more members of today's mix fit before the first skip "
        f"(the load × {room.factor:.2f})."
    )


def verdict(plan: CapacityPlan) -> str:
    new = plan.new.all
    if new.skipped >= 0.5:
        kinds = ", ".join(
            f"{_n(p.skipped)} {label_of(kind).lower()}"
            for kind, p in plan.new.kinds.items()
            if p.skipped >= 0.5
        )
        return (
            f"OVER CAPACITY: about {_n(new.skipped)} reminders will be skipped as too busy "
            f"({kinds}); raise SEND_RATE_PER_S only if Discord allows it, or spread the load."
        )
    if new.late_max_s > 0:
        return (
            f"OK: nothing will be skipped; the latest reminder leaves {_s(new.late_max_s)} "
            f"after its due second, within its kind's tolerance."
        )
    return "OK: every reminder will leave by its due second; nothing will be skipped."


def report(plan: CapacityPlan, where: str, console: Console) -> None:
    load = plan.load
    console.print(
        f"[bold]Steady capacity plan[/] — {where}, {_when(plan.start)} to {_when(plan.end)}",
        soft_wrap=True,
    )
    console.print(
        f"{plan.members:,} members with reminders, {plan.subscriptions:,} subscriptions "
        f"firing, {plan.snoozes:,} pending snoozes; {_n(load.due)} reminders due. Capacity: SEND_RATE_PER_S "
        f"{plan.capacity_per_s:g}/s = {_n(load.capacity_per_minute)} a minute.",
        soft_wrap=True,
    )
    console.print(hourly_table(plan))
    peaks = ", ".join(
        f"{_clock(m.at)} {_n(m.due)} ({m.due / load.capacity_per_minute:.2f}×)"
        for m in load.peak_minutes
    )
    console.print(f"Peak minutes (UTC): {peaks or 'none'}.", soft_wrap=True)
    console.print(
        f"Peak to capacity {load.peak_to_capacity:.2f}; {load.minutes_over_capacity} minutes "
        f"over capacity, {_n(load.due_above_capacity)} due above it (sent early or late).",
        soft_wrap=True,
    )
    console.print(kinds_table(plan))
    console.print(headroom_line(plan), soft_wrap=True)
    console.print(f"[bold]{verdict(plan)}[/]", soft_wrap=True)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def as_json(plan: CapacityPlan, where: str) -> dict[str, Any]:
    out = plan.as_dict()
    out["database"] = where
    out["verdict"] = verdict(plan)
    if plan.headroom is not None and math.isinf(plan.headroom.factor):
        out["headroom"] = {"factor": None, "members": 0}
    return out


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        settings = read_settings()
        where = _where(settings.database_url)
        start = args.start or datetime.now(UTC)
        plan = asyncio.run(
            make_plan(
                settings.database_url,
                start,
                args.hours,
                settings.send_rate_per_s,
                Console(stderr=True),
            )
        )
    except StartupError as error:
        print(f"steady capacity: {error}", file=sys.stderr)
        return 2
    report(plan, where, Console(width=max(WIDTH, Console().width)))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(as_json(plan, where), indent=2) + "\n")
    return 0
