"""The burst: M reminders due at the same instant, sent by the real bot to the emulator.

The whole product is measured: ``python -m bot`` runs as a separate process (started as the
end-to-end tests start it, with the network guard) against the local Discord emulator
(``tests/emulator``), which runs in this process and enforces a global limit of R requests/s
with fixed one-second windows and 429s like Discord's. The bot's database is seeded before it
starts with M members (DM channel ids cached, as after their first reminder) and one
subscription each, all due at one instant shortly after the bot is ready. While the burst
drains, members run ``/remind list`` in their DMs; the emulator times each answer.

Everything is counted at the emulator: messages created per DM channel (delivered,
duplicated), requests and 429s, and the monotonic time of every send.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.dashboard_load import DashboardLoad
from benchmarks.seed import fill_due
from tests.e2e.bot_process import BotProcess, bot_environment
from tests.e2e.dashboard_helpers import dashboard_env, free_port
from tests.emulator import Driver, Emulator

READY_LINE = "Steady is ready"
COMMAND = "remind list"

Report = Callable[[str, int, int], None]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def measure_delivery(
    m: int,
    limit: int,
    workdir: Path,
    *,
    report: Report = lambda label, done, total: None,
    lead: float = 12.0,
    bot_env: dict[str, str] | None = None,
    command_interval: float = 0.2,
    command_users: int = 50,
    dashboard_members: int = 50,
) -> dict[str, Any]:
    emulator = await Emulator().start()
    driver = Driver(emulator)
    driver.set_global_rate_limit(limit)
    process: BotProcess | None = None
    pages: DashboardLoad | None = None
    try:
        report("emulator: members and DM channels", 0, m)
        users = []
        for i in range(m):
            users.append(emulator.world.add_user(f"member{i}"))
            if i % 1000 == 0:
                report("emulator: members and DM channels", i, m)
        channels = [emulator.world.dm_channel(user) for user in users]
        ids = {u.id for u in users} | {c.id for c in channels}
        assert len(ids) == 2 * m, "emulator snowflakes collided"
        report("emulator: members and DM channels", m, m)
        seeded = {c.id for c in channels}

        db_path = workdir / "delivery.sqlite3"
        launched = time.time()
        due_ts = math.ceil(launched + lead)
        fill_due(
            db_path,
            [(u.id, c.id) for u, c in zip(users, channels, strict=True)],
            due_ts,
            int(launched),
        )
        due_mono = due_ts - time.time() + time.monotonic()

        port = free_port()
        env = bot_environment(
            api_base=emulator.api_base,
            token=emulator.world.token,
            database_path=db_path,
            netguard_log=workdir / "netguard.log",
            extra={**dashboard_env(emulator, port), **(bot_env or {})},
        )
        report("bot: start until ready", 0, 1)
        process = await BotProcess(env, on_output=emulator.notify).start()
        started_mono = time.monotonic()

        def ready_or_dead() -> bool:
            assert process is not None
            if not process.running:
                return True
            return emulator.gateway.ready_sent > 0 and process.logged(READY_LINE)

        await emulator.wait_until(ready_or_dead, within=max(60.0, lead * 3), what="the bot")
        if not process.running:
            raise RuntimeError(f"the bot exited during start-up:\n{process.output[-4000:]}")
        ready_mono = time.monotonic()
        report("bot: start until ready", 1, 1)
        members = users[: min(dashboard_members, m)]
        report("dashboard: members log in", 0, len(members))
        pages = await DashboardLoad.log_in(emulator, f"http://127.0.0.1:{port}", members)
        report("dashboard: members log in", len(members), len(members))
        # (With no members the dashboard still runs, idle: the same bot either way.)

        # --- the burst ----------------------------------------------------------------------
        wait = due_mono - time.monotonic() - 0.05
        if wait > 0:
            await asyncio.sleep(wait)
        requests_before = emulator.stats.requests
        limited_before = emulator.stats.rate_limited
        sends_before = len(emulator.stats.sends)

        def sent() -> int:
            return sum(1 for _, ch in emulator.stats.sends[sends_before:] if ch in seeded)

        answers: list[float] = []
        failures: list[str] = []
        stop = asyncio.Event()

        async def one_command(user) -> None:
            try:
                reply = await driver.slash(COMMAND, user=user, within=30)
                record = reply.interaction
                assert record.callback_at is not None
                answers.append((record.callback_at - record.created) * 1000)
            except Exception as error:  # a failed answer is a figure too
                failures.append(repr(error)[:200])

        async def commands() -> None:
            tasks = []
            i = 0
            while not stop.is_set():
                tasks.append(asyncio.create_task(one_command(users[i % min(command_users, m)])))
                i += 1
                try:
                    await asyncio.wait_for(stop.wait(), command_interval)
                except TimeoutError:
                    pass
            await asyncio.gather(*tasks)

        commander = asyncio.create_task(commands())
        browsing = asyncio.create_task(pages.run(stop))
        deadline = time.monotonic() + 60 + 3 * m / limit
        while (done := sent()) < m and time.monotonic() < deadline and process.running:
            report("burst: reminders delivered", done, m)
            await asyncio.sleep(0.25)
        # A little longer, so a late duplicate would be seen.
        await asyncio.sleep(1.0)
        report("burst: reminders delivered", sent(), m)
        stop.set()
        await commander
        await browsing
        requests = emulator.stats.requests - requests_before
        limited = emulator.stats.rate_limited - limited_before

        exit_code = await process.terminate(within=30)
        bot_output = process.output
        process = None

        # --- counted at the emulator -------------------------------------------------------
        per_channel: Counter[int] = Counter()
        first_send: dict[int, float] = {}
        for moment, channel_id in emulator.stats.sends[sends_before:]:
            if channel_id in seeded:
                per_channel[channel_id] += 1
                first_send.setdefault(channel_id, moment)
        delivered = len(per_channel)
        duplicated = sum(count - 1 for count in per_channel.values())
        times = sorted(first_send.values())
        raw = [t - due_mono for t in times]
        adjusted = [t - (due_mono + i / limit) for i, t in enumerate(times)]
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        rate = (len(times) - 1) / span if span > 0 else 0.0
        return {
            "due": m,
            "delivered": delivered,
            "lost": m - delivered,
            "duplicated": duplicated,
            "limit_per_s": limit,
            "delivered_per_s": rate,
            "rate_ratio": rate / limit,
            "requests": requests,
            "rate_limited": limited,
            "rate_limited_share": limited / requests if requests else 0.0,
            "lateness_p50_s": percentile(raw, 50),
            "lateness_p99_s": percentile(raw, 99),
            "lateness_adjusted_p50_s": percentile(adjusted, 50),
            "lateness_adjusted_p99_s": percentile(adjusted, 99),
            "first_send_after_due_s": raw[0] if raw else float("nan"),
            "drain_s": times[-1] - due_mono if times else float("nan"),
            "slash_commands": len(answers),
            "slash_failed": len(failures),
            "slash_p50_ms": percentile(answers, 50),
            "slash_p99_ms": percentile(answers, 99),
            "dashboard_members": len(pages.browsers),
            "dashboard_pages": len(pages.page_ms),
            "dashboard_failed": len(pages.failures),
            "dashboard_page_p50_ms": percentile(pages.page_ms, 50),
            "dashboard_page_p99_ms": percentile(pages.page_ms, 99),
            "bot_ready_s": ready_mono - started_mono,
            "bot_ready_before_due": ready_mono < due_mono,
            "rejected_bodies": len(emulator.rejections),
            "unknown_routes": len(emulator.unknown_routes),
            "bot_exit_code": exit_code,
            "bot_log_warnings": [
                line[:300]
                for line in bot_output.splitlines()
                if " WARNING " in line or " ERROR " in line
            ][:20],
        }
    finally:
        if pages is not None:
            await pages.close()
        if process is not None and process.running:
            await process.kill()
        await emulator.stop()
