"""``python -m benchmarks.shared_rate --database postgresql://… --processes 3``

Why the send limit is one schedule in PostgreSQL rather than a fixed 1/N share per process:
P processes each want to send as fast as their pacer lets them (a burst); halfway through,
one of them is killed with -9. For each design it reports, as JSON:

* ``rate_ratio``: the token's combined sends per second while all P run, over ``--rate``;
* ``after_kill_ratio``: the same once one process is dead;
* ``max_per_s``: the most sends in any one-second span (must stay ≤ ``--rate``).

Designs: ``shared`` (services/engine/shared_pacing.py: slots from one GCRA row) and
``split`` (each process paces itself at rate / P, what a fixed split gives).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

from services.engine.shared_pacing import SharedSlotPacer
from services.ratelimit import SlotPacer
from storage.database import Database, is_postgres


async def worker(url: str, rate: float, seconds: float, design: str, processes: int) -> None:
    """Acquire slots as fast as the pacer allows; print each moment (wall clock) at once."""
    db = await Database.open(url)
    try:
        await db.migrate()
        pacer: SlotPacer
        if design == "shared":
            if not is_postgres(db):
                raise SystemExit("the shared design needs a postgresql:// URL")
            pacer = SharedSlotPacer(db, rate)
        else:
            pacer = SlotPacer(rate / processes)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await pacer.acquire()
            sys.stdout.write(f"{time.time()}\n")
            sys.stdout.flush()
    finally:
        await db.close()


def most_in_one_second(moments: list[float]) -> int:
    best = start = 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def rate_between(moments: list[float], start: float, end: float) -> float:
    inside = [m for m in moments if start <= m < end]
    return len(inside) / (end - start)


async def measure(url: str, design: str, processes: int, rate: float, seconds: float) -> dict:
    moments: list[float] = []

    async def read(process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            moments.append(float(line))

    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.shared_rate",
            "--worker",
            "--database",
            url,
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
            "--design",
            design,
            "--processes",
            str(processes),
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    readers = [asyncio.create_task(read(child)) for child in children]
    started = time.time()
    await asyncio.sleep(seconds / 2)
    killed_at = time.time()
    os.kill(children[0].pid, signal.SIGKILL)
    await asyncio.gather(*(child.wait() for child in children), *readers)
    moments.sort()
    ended = moments[-1]
    return {
        "rate_ratio": round(rate_between(moments, started + 1.0, killed_at) / rate, 3),
        "after_kill_ratio": round(rate_between(moments, killed_at + 0.5, ended) / rate, 3),
        "max_per_s": most_in_one_second(moments),
        "sends": len(moments),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql://…")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rate", type=float, default=45.0, help="SEND_RATE_PER_S")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--design", choices=["shared", "split"], default="shared")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.database, args.rate, args.seconds, args.design, args.processes))
        return
    figures = {
        design: asyncio.run(measure(args.database, design, args.processes, args.rate, args.seconds))
        for design in ("shared", "split")
    }
    print(json.dumps({"processes": args.processes, "rate": args.rate, **figures}, indent=2))


if __name__ == "__main__":
    main()
