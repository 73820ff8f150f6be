"""The PostgreSQL figures (``pg.*``) of ``python -m benchmarks.scale --database postgresql://…``.

* ``fill_s`` / ``copy_s``: the N subscriptions are seeded in SQLite (as for the engine
  figures) and moved with the real ``migrate-db`` copy (:mod:`storage.transfer`), which also
  measures that: ``copy_rows_per_s``.
* ``start_to_ready_s``, ``rss_mb``, ``idle_wakeup_ms``: the engine child of
  :mod:`benchmarks.engine_figures`, on the PostgreSQL URL (per process: each bot process
  holds the same).
* ``claim_per_s``: ``due`` of the N rows made due at once, then P processes claim them with
  the dispatcher's own claim (``storage.reminders.claim_due``: ``FOR UPDATE SKIP LOCKED``,
  ledger rows with leases, ``next_fire_at`` advanced) in batches of 200, as fast as they
  can; occurrences claimed and ledgered per second, all processes together, from the first
  claim to the last. Each child also checks nothing was claimed twice (``claimed_twice``).

``python -m benchmarks.pg_figures claim URL SEED_TS`` is the claiming child.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.child import REPO_ROOT, run_child
from benchmarks.seed import fill
from domain.schedule import next_fire_ts
from storage import reminders
from storage.database import Database
from storage.ledger import Claimant
from storage.postgres import PostgresDatabase
from storage.reminders import Plan, Subscription
from storage.sqlite import SqliteDatabase
from storage.transfer import copy_sqlite_to_postgres, non_empty_tables

BATCH = 200


async def _copy(sqlite_path: Path, url: str) -> tuple[float, int]:
    source = await SqliteDatabase.connect(f"sqlite:///{sqlite_path}")
    target = await Database.open(url)
    assert isinstance(target, PostgresDatabase)
    try:
        await target.migrate()
        busy = await non_empty_tables(target)
        if busy:
            raise SystemExit(f"--database must be an empty database (rows in {', '.join(busy)})")
        started = time.perf_counter()
        counts = await copy_sqlite_to_postgres(source, target)
        return time.perf_counter() - started, sum(c.target for c in counts)
    finally:
        await source.close()
        await target.close()


async def _make_due(url: str, due: int, at: int) -> int:
    db = await Database.open(url)
    try:
        await db.execute(
            "UPDATE subscriptions SET next_fire_at = ? WHERE id IN "
            "(SELECT id FROM subscriptions ORDER BY id LIMIT ?)",
            (at, due),
        )
        await db.execute("ANALYZE")
        return int(
            await db.fetchval("SELECT count(*) FROM subscriptions WHERE next_fire_at <= ?", (at,))
        )
    finally:
        await db.close()


async def _ledger_check(url: str) -> tuple[int, int]:
    db = await Database.open(url)
    try:
        rows = int(await db.fetchval("SELECT count(*) FROM deliveries"))
        distinct = int(await db.fetchval("SELECT count(DISTINCT nonce) FROM deliveries"))
        return rows, distinct
    finally:
        await db.close()


def measure_postgres(
    url: str, n: int, due: int, processes: int, workdir: Path, bar: Any
) -> dict[str, Any]:
    seed_ts = int(time.time())
    sqlite_path = workdir / "pg_seed.sqlite3"
    started = time.perf_counter()
    fill(sqlite_path, n, seed_ts, bar(f"fill {n:,} subscriptions (for PG)", n))
    fill_s = time.perf_counter() - started
    copy_s, copied = asyncio.run(_copy(sqlite_path, url))
    sqlite_path.unlink()

    engine = [
        run_child("engine", url, seed_ts, bar(f"PG engine, process {i + 1}", 3))
        for i in range(processes)
    ]

    due_at = seed_ts  # the engine children's pinned clock: nothing they hold was due
    made_due = asyncio.run(_make_due(url, due, due_at))
    start_at = time.time() + 2.0  # every child connected and waiting before the first claim
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.pg_figures",
                "claim",
                url,
                str(due_at),
                str(start_at),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=600)
        if child.returncode != 0:
            raise RuntimeError(f"claiming child failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    claimed = sum(r["claimed"] for r in results)
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    rows, distinct = asyncio.run(_ledger_check(url))
    return {
        "subscriptions": n,
        "processes": processes,
        "fill_s": fill_s,
        "copy_s": copy_s,
        "copy_rows_per_s": copied / copy_s,
        "start_to_ready_s": max(e["start_to_ready_s"] for e in engine),
        "rss_mb": max(e["rss_mb"] for e in engine),
        "rss_mb_each": [round(e["rss_mb"], 1) for e in engine],
        "idle_wakeup_ms": max(e["idle_wakeup_ms"] for e in engine),
        "due": made_due,
        "claimed": claimed,
        "claim_per_s": claimed / elapsed if elapsed > 0 else 0.0,
        "claim_per_s_each": [round(r["claimed"] / (r["ended"] - r["started"])) for r in results],
        "claimed_twice": rows - distinct,
    }


# --- the claiming child ----------------------------------------------------------------------


def _plan(now: int) -> Callable[[Subscription], Plan]:
    def plan(sub: Subscription) -> Plan:
        assert sub.next_fire_at is not None
        return Plan(
            next_fire_at=next_fire_ts(sub.times, sub.zone, now), deliver_at=sub.next_fire_at
        )

    return plan


async def _claim_all(url: str, now: int, start_at: float) -> dict[str, Any]:
    db = await Database.open(url)
    claimant = Claimant()
    plan = _plan(now)
    await asyncio.sleep(max(start_at - time.time(), 0))
    started = time.time()
    claimed = 0
    while True:
        result = await reminders.claim_due(db, now, BATCH, plan, claimant)
        claimed += len(result.claimed)
        if result.rows == 0 and not await reminders.any_due(db, now):
            break
    ended = time.time()
    await db.close()
    return {"claimed": claimed, "started": started, "ended": ended}


def main(argv: list[str]) -> int:
    if argv[:1] != ["claim"]:
        raise SystemExit("usage: python -m benchmarks.pg_figures claim URL NOW_TS START_AT")
    url, now, start_at = argv[1], int(argv[2]), float(argv[3])
    print(json.dumps(asyncio.run(_claim_all(url, now, start_at))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
