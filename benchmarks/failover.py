"""Several bot processes on one PostgreSQL, one killed -9 mid-burst (``multi.*``, ``failover.*``).

P real ``python -m bot`` processes (one shard each) share the PostgreSQL database of
``--database`` and the local Discord emulator's global limit of R requests/s for the token.
M members are due at one instant (seeded in SQLite and moved with ``migrate-db``'s copy).
When a third of them have their reminder, the process holding the most claims is killed
with -9; the others take its claims over once their lease lapses and send them with the
same nonces. Counted at the emulator: delivered, lost, duplicated, the send rate before the
kill (``multi.*``) and how long the dead process's claims waited (``failover.takeover_s``:
from the kill to the first of them sent again).

Every process is given the whole rate (``SEND_RATE_PER_S`` = R): they share it through the
database's send-rate row, so no capacity is lost when one dies.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.delivery import Report, percentile
from benchmarks.seed import fill_due, load_into_postgres
from storage.database import Database
from storage.ledger import Claimant
from testkit.bot_process import READY_LINE, BotProcess, bot_environment
from testkit.emulator import Driver, Emulator


async def _pending_by_owner(url: str) -> dict[str, list[int]]:
    """Pending ledger rows (their user ids) by the process that holds them."""
    db = await Database.open(url)
    try:
        rows = await db.fetchall(
            "SELECT claimed_by, user_id FROM deliveries WHERE state IN ('claimed', 'sending')"
        )
    finally:
        await db.close()
    owners: dict[str, list[int]] = {}
    for row in rows:
        owners.setdefault(row["claimed_by"], []).append(row["user_id"])
    return owners


async def measure_failover(
    url: str, m: int, limit: int, processes: int, workdir: Path, report: Report, lead: float = 20.0
) -> dict[str, dict[str, Any]]:
    emulator = await Emulator().start()
    driver = Driver(emulator)
    driver.set_global_rate_limit(limit)
    emulator.gateway.max_concurrency = processes
    bots: list[BotProcess] = []
    try:
        users = [emulator.world.add_user(f"member{i}") for i in range(m)]
        channels = [emulator.world.dm_channel(user) for user in users]
        channel_of = {u.id: c.id for u, c in zip(users, channels, strict=True)}
        seeded = set(channel_of.values())
        launched = time.time()
        due_ts = math.ceil(launched + lead)
        fill_due(workdir / "failover.sqlite3", list(channel_of.items()), due_ts, int(launched))
        await load_into_postgres(url, workdir / "failover.sqlite3")
        due_mono = due_ts - time.time() + time.monotonic()

        report("failover: processes ready", 0, processes)
        for shard in range(processes):
            env = bot_environment(
                api_base=emulator.api_base,
                token=emulator.world.token,
                database_path=workdir / "unused.sqlite3",
                netguard_log=workdir / "netguard.log",
                extra={
                    "DATABASE_URL": url,
                    "SHARD_COUNT": str(processes),
                    "SHARD_IDS": str(shard),
                    "SEND_RATE_PER_S": f"{limit:g}",
                },
            )
            bots.append(await BotProcess(env, on_output=emulator.notify).start())
        await emulator.wait_until(
            lambda: all(b.logged(READY_LINE) or not b.running for b in bots),
            within=max(60.0, lead * 3),
            what="every process to be ready",
        )
        dead = [b for b in bots if not b.running]
        if dead:
            raise RuntimeError(f"a bot process exited during start-up:\n{dead[0].output[-4000:]}")
        report("failover: processes ready", processes, processes)

        def sent() -> int:
            return len({ch for _, ch in emulator.stats.sends if ch in seeded})

        await emulator.wait_until(
            lambda: sent() >= m // 3, within=lead + 60 + 3 * m / limit, what="a third sent"
        )
        owners = await _pending_by_owner(url)
        victim_name, victim_users = max(owners.items(), key=lambda item: len(item[1]))
        victim = next(b for b in bots if f":{b.pid}:" in victim_name)
        kill_mono = time.monotonic()
        sent_at_kill = sent()
        requests_at_kill, limited_at_kill = emulator.stats.requests, emulator.stats.rate_limited
        await victim.kill()
        orphaned = {channel_of[u] for u in victim_users}

        deadline = time.monotonic() + Claimant().lease_s + 60 + 3 * m / limit
        while (done := sent()) < m and time.monotonic() < deadline:
            report("failover: reminders delivered", done, m)
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # a late duplicate would show up here
        report("failover: reminders delivered", sent(), m)

        per_channel: Counter[int] = Counter()
        first_send: dict[int, float] = {}
        for moment, channel in emulator.stats.sends:
            if channel in seeded:
                per_channel[channel] += 1
                first_send.setdefault(channel, moment)
        before_kill = sorted(t for t in first_send.values() if t <= kill_mono)
        span = before_kill[-1] - before_kill[0] if len(before_kill) > 1 else 0.0
        rate = (len(before_kill) - 1) / span if span > 0 else 0.0
        adjusted = [t - (due_mono + i / limit) for i, t in enumerate(before_kill)]
        # The first of the dead process's claims that reached Discord after the kill (one it
        # had sent just before dying is deduplicated by its nonce and not sent again).
        resent = [t for t, ch in emulator.stats.sends if ch in orphaned and t > kill_mono]
        lost = m - len(per_channel)
        duplicated = sum(count - 1 for count in per_channel.values())
        for bot in bots:
            if bot.running:
                await bot.terminate(within=30)
        return {
            "multi": {
                "processes": processes,
                "due": m,
                "delivered": len(per_channel),
                "lost": lost,
                "duplicated": duplicated,
                "rate_ratio": rate / limit,
                "rate_limited_share": limited_at_kill / requests_at_kill
                if requests_at_kill
                else 0.0,
                "lateness_adjusted_p99_s": percentile(adjusted, 99),
                "send_rate_per_s": limit,
            },
            "failover": {
                "killed_after_sent": sent_at_kill,
                "orphaned": len(orphaned),
                "lost": lost,
                "duplicated": duplicated,
                "takeover_s": (min(resent) - kill_mono) if resent else float("nan"),
                "lease_s": Claimant().lease_s,
                "all_done_s": max(first_send.values()) - kill_mono if first_send else float("nan"),
            },
        }
    finally:
        for bot in bots:
            if bot.running:
                await bot.kill()
        await emulator.stop()
