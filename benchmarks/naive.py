"""The naive design, measured inside a child process (see :mod:`benchmarks.child`).

One APScheduler 3.x job per subscription: an ``AsyncIOScheduler`` with the default
``MemoryJobStore``, a ``CronTrigger`` per subscription (its local times as ``hour``/``minute``
in its IANA zone), loaded from the same SQLite rows at start-up. Same process shape as the
engine's child (the engine imported, content loaded), so the difference is the design.

``MemoryJobStore`` keeps its jobs in a list sorted by next run time and inserts each new job
with ``list.insert``: adding K jobs is O(K²), which is why K defaults to 100,000.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

import services.engine.reminder_engine  # noqa: F401 - the same process shape as the engine's child
from benchmarks.child import design_figures, rss_mb, settle_memory
from content import load_content
from storage.database import Database

IDLE_SECONDS = 1.5
WAKEUPS = 300
NEXT_FIRE_SAMPLE = 20_000
NEXT_FIRE_SECONDS = 2.0

Emit = Callable[[str, Any], None]

sent = 0


async def send_reminder(subscription_id: int) -> None:
    """What the naive job would do: look the subscription up and send. Here: count it."""
    global sent
    sent += 1


def trigger_for(times: str, zone: str) -> BaseTrigger:
    """One cron trigger for a subscription's local times (``"08:00,10:00,..."``)."""
    by_minute: dict[str, list[str]] = {}
    for part in times.split(","):
        hour, minute = part.split(":")
        by_minute.setdefault(str(int(minute)), []).append(str(int(hour)))
    triggers = [
        CronTrigger(hour=",".join(hours), minute=minute, timezone=zone)
        for minute, hours in by_minute.items()
    ]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def next_fire_rate(triggers: list[BaseTrigger], seconds: float) -> float:
    now = datetime.now(UTC)
    done = 0
    started = time.perf_counter()
    while True:
        for trigger in triggers:
            trigger.get_next_fire_time(None, now)
        done += len(triggers)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


async def measure_naive(db_path: Path, seed_ts: int, emit: Emit) -> dict[str, Any]:
    load_content()
    scheduler = AsyncIOScheduler(timezone="UTC")
    await asyncio.sleep(0)
    settle_memory()
    baseline = rss_mb()

    # --- start to ready: read every row, one job each, scheduler running ----------------
    started = time.perf_counter()
    db = await Database.open(f"sqlite:///{db_path}")
    await db.migrate()
    found = await db.fetchall(
        "SELECT id, times, zone FROM subscriptions WHERE active = 1 ORDER BY id"
    )
    rows = [(row["id"], row["times"], row["zone"]) for row in found]
    scheduler.start()
    total = len(rows)
    step = max(1, total // 200)
    for i, (sub_id, times, zone) in enumerate(rows):
        scheduler.add_job(
            send_reminder,
            trigger_for(times, zone),
            args=(sub_id,),
            id=f"sub-{sub_id}",
            misfire_grace_time=1800,
            coalesce=True,
        )
        if i % step == 0:
            emit("progress", (i, total))
    await asyncio.sleep(0)  # the scheduler's first wake-up
    start_to_ready = time.perf_counter() - started
    emit("progress", (total, total))
    del rows

    # --- idle ------------------------------------------------------------------------------
    await asyncio.sleep(IDLE_SECONDS)
    settle_memory()
    rss = rss_mb()

    # --- one wake-up: what the event loop timer calls (process due jobs, re-arm) ----------
    # (``AsyncIOScheduler.wakeup`` only queues its body with ``call_soon_threadsafe``;
    # this is that body, run and timed here.)
    costs = []
    for _ in range(WAKEUPS):
        t = time.perf_counter()
        scheduler._stop_timer()
        scheduler._start_timer(scheduler._process_jobs())
        costs.append(time.perf_counter() - t)
        await asyncio.sleep(0)

    jobs = scheduler.get_jobs()
    triggers = [job.trigger for job in jobs[:: max(1, len(jobs) // NEXT_FIRE_SAMPLE)]]
    rate = next_fire_rate(triggers, NEXT_FIRE_SECONDS) if triggers else 0.0
    count = len(jobs)
    del jobs, triggers

    scheduler.shutdown(wait=False)
    await db.close()
    return design_figures(
        count=count,
        start_to_ready=start_to_ready,
        rss=rss,
        baseline=baseline,
        wakeup_costs=costs,
        next_fire_per_s=rate,
        sent_while_idle=sent,
    )
