"""The engine's figures, measured inside a child process (see :mod:`benchmarks.child`).

The engine is built as the bot builds it (``services.engine.reminder_engine.ReminderEngine``: the real render with
the shipped content, the real dispatcher, sender and APScheduler waker) over a database that
already holds the rows. Its clock is pinned to the instant the rows were seeded, so "idle"
means idle: nothing is due, and what is measured is the cost of holding and watching N
subscriptions, not of sending (the delivery part measures sending). APScheduler still runs
on the real clock; :class:`RelativeWaker` translates the engine's wake-up instants to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from benchmarks.child import design_figures, rss_mb, settle_memory
from bot.compose import build_core
from content import load_content
from domain.schedule import next_fire_ts
from services.engine.dispatcher import APSchedulerWaker, Wake
from storage.database import Database

IDLE_SECONDS = 1.5
WAKEUPS = 300
NEXT_FIRE_SAMPLE = 50_000
NEXT_FIRE_SECONDS = 2.0

Emit = Callable[[str, Any], None]


class NullTransport:
    """Answers like Discord, instantly; with the pinned clock nothing is ever sent."""

    def __init__(self) -> None:
        self.sent = 0

    async def open_dm(self, user_id: int) -> int:
        return user_id + 1

    async def send_message(self, channel_id: int, payload: dict, nonce: str) -> int:
        self.sent += 1
        return self.sent


class RelativeWaker:
    """The production APScheduler waker, with engine instants mapped onto the real clock."""

    def __init__(self, scheduler: AsyncIOScheduler, clock: Callable[[], datetime]) -> None:
        self.inner = APSchedulerWaker(scheduler)
        self.clock = clock

    def wake_at(self, when: datetime, wake: Wake) -> None:
        self.inner.wake_at(datetime.now(UTC) + (when - self.clock()), wake)

    def close(self) -> None:
        self.inner.close()


async def sample_rows(db: Database, limit: int) -> list[tuple[str, str, int]]:
    rows = await db.fetchall(
        "SELECT times, zone, next_fire_at FROM subscriptions WHERE next_fire_at IS NOT NULL "
        "ORDER BY random() LIMIT ?",
        (limit,),
    )
    return [(row["times"], row["zone"], row["next_fire_at"]) for row in rows]


def next_fire_rate(rows: list[tuple[str, str, int]], seconds: float) -> float:
    """Next-fire computations per second, as the dispatcher calls them (stored forms)."""
    done = 0
    started = time.perf_counter()
    while True:
        for times, zone, after in rows:
            next_fire_ts(times, zone, after)
        done += len(rows)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


async def measure_engine(db_path: Path | str, seed_ts: int, emit: Emit) -> dict[str, Any]:
    """``db_path``: a SQLite file, or a ``postgresql://`` URL (the ``pg.*`` figures)."""
    url = db_path if isinstance(db_path, str) else f"sqlite:///{db_path}"
    content = load_content()
    pinned = datetime.fromtimestamp(seed_ts, UTC)

    def clock() -> datetime:
        return pinned

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start()
    waker = RelativeWaker(scheduler, clock)
    transport = NullTransport()
    await asyncio.sleep(0)
    settle_memory()
    baseline = rss_mb()

    # --- start to ready: open the database holding N rows, build, start -----------------
    started = time.perf_counter()
    db = await Database.open(url)
    await db.migrate()
    engine = build_core(db, content, transport, clock=clock, waker=waker).engine
    await engine.start()
    start_to_ready = time.perf_counter() - started
    emit("progress", (1, 3))

    # --- idle: let the loop and the scheduler settle, then read the resident memory ------
    await asyncio.sleep(IDLE_SECONDS)
    settle_memory()
    rss = rss_mb()
    emit("progress", (2, 3))

    # --- one wake-up with nothing due: what APScheduler calls, timed ---------------------
    costs = []
    for _ in range(WAKEUPS):
        t = time.perf_counter()
        await engine.dispatcher.on_wake()
        costs.append(time.perf_counter() - t)
        await asyncio.sleep(0)

    rows = await sample_rows(db, NEXT_FIRE_SAMPLE)
    rate = next_fire_rate(rows, NEXT_FIRE_SECONDS) if rows else 0.0
    emit("progress", (3, 3))

    count = await db.fetchval("SELECT count(*) FROM subscriptions")
    await engine.stop()
    scheduler.shutdown(wait=False)
    await db.close()
    return design_figures(
        count=count,
        start_to_ready=start_to_ready,
        rss=rss,
        baseline=baseline,
        wakeup_costs=costs,
        next_fire_per_s=rate,
        sent_while_idle=transport.sent,
    )
