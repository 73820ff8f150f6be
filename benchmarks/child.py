"""What runs inside a measured child process, and how the harness talks to it.

Memory is measured in a fresh process per design so the harness (rich, the emulator, the
rows it generated) never pollutes it. The child writes one line per event on stdout:
``progress <done> <total>`` while it loads, and ``result <json>`` at the end.

``python -m benchmarks.child engine|naive DB_PATH SEED_TS``
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """Resident memory of this process now (``VmRSS``), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def settle_memory() -> None:
    gc.collect()


def emit(kind: str, payload: Any) -> None:
    if kind == "progress":
        done, total = payload
        sys.stdout.write(f"progress {done} {total}\n")
    else:
        sys.stdout.write(f"result {json.dumps(payload)}\n")
    sys.stdout.flush()


def run_child(
    design: str,
    db_path: Path | str,
    seed_ts: int,
    on_progress: Callable[[int, int], None] | None = None,
    extra_args: list[str] | None = None,
) -> dict[str, Any]:
    """Run ``design`` in a child Python, relay its progress, return its figures."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.child",
            design,
            str(db_path),
            str(seed_ts),
            *(extra_args or []),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    result: dict[str, Any] | None = None
    for line in process.stdout:
        if line.startswith("progress ") and on_progress is not None:
            _, done, total = line.split()
            on_progress(int(done), int(total))
        elif line.startswith("result "):
            result = json.loads(line[len("result ") :])
    stderr = process.stderr.read()
    code = process.wait()
    if code != 0 or result is None:
        raise RuntimeError(f"{design} child failed (exit {code}):\n{stderr[-4000:]}")
    return result


def main(argv: list[str]) -> int:
    # A SQLite file's path, or a postgresql:// URL (kept a string: Path would fold its "//").
    design, seed_ts = argv[0], int(argv[2])
    db_path: Path | str = argv[1] if "://" in argv[1] else Path(argv[1])
    import asyncio

    if design == "engine":
        from benchmarks.engine_figures import measure_engine

        figures = asyncio.run(measure_engine(db_path, seed_ts, emit))
    elif design == "naive":
        from benchmarks.naive import measure_naive

        if not isinstance(db_path, Path):
            raise SystemExit("the naive design runs on a SQLite file, not a database URL")
        figures = asyncio.run(measure_naive(db_path, seed_ts, emit))
    else:
        raise SystemExit(f"unknown design {design!r}")
    emit("result", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def design_figures(
    *,
    count: int,
    start_to_ready: float,
    rss: float,
    baseline: float,
    wakeup_costs: list[float],
    next_fire_per_s: float,
    sent_while_idle: int,
) -> dict[str, float | int]:
    """The figures both designs report, under the same keys (``engine.*`` and ``naive.*``)."""
    costs = sorted(wakeup_costs)
    return {
        "subscriptions": count,
        "start_to_ready_s": start_to_ready,
        "rss_mb": rss,
        "rss_baseline_mb": baseline,
        "rss_net_mb": rss - baseline,
        "idle_wakeup_ms": statistics.median(costs) * 1000,
        "idle_wakeup_p99_ms": costs[int(len(costs) * 0.99) - 1] * 1000,
        "next_fire_per_s": next_fire_per_s,
        "sent_while_idle": sent_while_idle,
    }
