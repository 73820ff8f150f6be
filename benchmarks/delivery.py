"""The burst: M reminders due at the same instant, sent by the real bot to the emulator.

The whole product is measured: ``python -m bot`` runs as a separate process (started as the
end-to-end tests start it, with the network guard) against the local Discord emulator
(``testkit/emulator``), which runs in this process and enforces a global limit of R requests/s
with fixed one-second windows and 429s like Discord's. While the burst drains, members run
``/remind list`` in their DMs; the emulator times each answer.

Two cases:

* :func:`measure_delivery` (``delivery.*``): the bot's database is seeded before it starts
  with M members (DM channel ids cached, as after their first reminder) and one
  subscription each, all due at one instant shortly after the bot is ready.
* :func:`measure_cold_delivery` (``delivery_cold.*``): nothing is known beforehand. M new
  members subscribe through ``/remind start`` as people do, half in their DMs with the bot
  and half in a server, all to the same minute, and the bot runs at its default settings.

Everything is counted at the emulator: messages created per DM channel (delivered,
duplicated), requests and 429s, and the monotonic time of every send.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.dashboard_load import DashboardLoad
from benchmarks.seed import fill_due, load_into_postgres
from bot.settings import Settings
from services.engine.shared_pacing import SHARED_MARGIN
from services.ratelimit import DEFAULT_MARGIN
from testkit.bot_process import READY_LINE, BotProcess, bot_environment
from testkit.dashboard import WebProcess, dashboard_env
from testkit.emulator import Driver, Emulator
from testkit.emulator.state import User
from testkit.ports import PortTaken, on_a_free_port_async

COMMAND = "remind list"
#: The bot's SEND_RATE_PER_S when it is not told one.
DEFAULT_SEND_RATE: float = Settings.model_fields["send_rate_per_s"].default
# Members who subscribe at the same time in the cold case (as a busy server's members do).
SUBSCRIBE_CONCURRENCY = 10

Report = Callable[[str, int, int], None]


def paced_rate(send_rate: float, *, shared: bool) -> float:
    """Sends a second the bot schedules at ``SEND_RATE_PER_S`` = ``send_rate``: its limiter
    runs a margin under it, wider on PostgreSQL, whose schedule processes share."""
    return send_rate * (1 - (SHARED_MARGIN if shared else DEFAULT_MARGIN))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def add_members(emulator: Emulator, m: int, report: Report) -> list[User]:
    report("emulator: members and DM channels", 0, m)
    users = []
    for i in range(m):
        users.append(emulator.world.add_user(f"member{i}"))
        if i % 1000 == 0:
            report("emulator: members and DM channels", i, m)
    report("emulator: members and DM channels", m, m)
    return users


async def start_ready(
    emulator: Emulator, env: dict[str, str], within: float, report: Report
) -> tuple[BotProcess, float]:
    """Start the bot and wait until it says it is ready; returns it and how long that took."""
    report("bot: start until ready", 0, 1)
    process = await BotProcess(env, on_output=emulator.notify).start()
    started = time.monotonic()

    def ready_or_dead() -> bool:
        if not process.running:
            return True
        return emulator.gateway.ready_sent > 0 and process.logged(READY_LINE)

    await emulator.wait_until(ready_or_dead, within=within, what="the bot")
    if not process.running:
        if process.port_was_taken:
            raise PortTaken(process.output[-4000:])
        raise RuntimeError(f"the bot exited during start-up:\n{process.output[-4000:]}")
    report("bot: start until ready", 1, 1)
    return process, time.monotonic() - started


#: Where the dashboard runs during the warm burst: inside the bot (``DASHBOARD_PORT`` on
#: ``python -m bot``, as on SQLite), as its own process (``python -m bot dashboard``, on the
#: bot's PostgreSQL), or not at all.
DASHBOARD_MODES = ("in-process", "separate", "none")


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
    dashboard: str = "in-process",
    database_url: str | None = None,
) -> dict[str, Any]:
    """``delivery.*``: M members with known DM channels due at once, while some of them
    browse the dashboard.

    ``database_url``: the bot runs on that PostgreSQL database (emptied, then seeded by
    ``migrate-db``'s copy) instead of a SQLite file. ``dashboard``: one of
    :data:`DASHBOARD_MODES`; ``separate`` needs ``database_url`` (the web process shares the
    bot's database, as in production) and its members browse the web process."""
    if dashboard not in DASHBOARD_MODES:
        raise ValueError(f"dashboard must be one of {DASHBOARD_MODES}, not {dashboard!r}")
    if dashboard == "separate" and database_url is None:
        raise ValueError("the dashboard as its own process needs a PostgreSQL database_url")
    emulator = await Emulator().start()
    driver = Driver(emulator)
    driver.set_global_rate_limit(limit)
    process: BotProcess | None = None
    web: WebProcess | None = None
    pages: DashboardLoad | None = None
    try:
        users = add_members(emulator, m, report)
        channels = [emulator.world.dm_channel(user) for user in users]
        ids = {u.id for u in users} | {c.id for c in channels}
        assert len(ids) == 2 * m, "emulator snowflakes collided"

        def environment(extra: dict[str, str]) -> dict[str, str]:
            if database_url is not None:
                extra = {"DATABASE_URL": database_url, **extra}
            return bot_environment(
                api_base=emulator.api_base,
                token=emulator.world.token,
                database_path=workdir / "delivery.sqlite3",
                netguard_log=workdir / "netguard.log",
                extra={**extra, **(bot_env or {})},
            )

        web_url = None
        if dashboard == "separate":
            # Started first, on the empty database (it migrates it, as whichever process
            # starts first does): its start-up and its one request (the application id) are
            # over before the burst is seeded and counted.
            report("dashboard: web process listening", 0, 1)
            web, web_port = await on_a_free_port_async(
                lambda port: WebProcess(
                    environment(dashboard_env(emulator, port)), on_output=emulator.notify
                ).start_listening(emulator)
            )
            web_url = f"http://127.0.0.1:{web_port}"
            report("dashboard: web process listening", 1, 1)

        seeded = workdir / "delivery.sqlite3"
        launched = time.time()
        due_ts = math.ceil(launched + lead)
        fill_due(
            seeded,
            [(u.id, c.id) for u, c in zip(users, channels, strict=True)],
            due_ts,
            int(launched),
        )
        if database_url is not None:
            report("PostgreSQL: burst copied in", 0, 1)
            await load_into_postgres(database_url, seeded)
            report("PostgreSQL: burst copied in", 1, 1)
        due_mono = due_ts - time.time() + time.monotonic()

        # Counted from the bot's start: the engine may send the burst's first reminders as
        # soon as it is ready, within their early allowance (its few start-up requests count).
        since = Counts.at(emulator)
        ready_within = max(60.0, lead * 3)
        if dashboard == "in-process":
            (process, ready_s), port = await on_a_free_port_async(
                lambda port: start_ready(
                    emulator, environment(dashboard_env(emulator, port)), ready_within, report
                )
            )
            web_url = f"http://127.0.0.1:{port}"
        else:
            process, ready_s = await start_ready(emulator, environment({}), ready_within, report)
        ready_mono = time.monotonic()
        if web_url is not None:
            browsers = users[: min(dashboard_members, m)]
            report("dashboard: members log in", 0, len(browsers))
            pages = await DashboardLoad.log_in(emulator, web_url, browsers)
            report("dashboard: members log in", len(browsers), len(browsers))
            # (With no members the dashboard still runs, idle: the same processes either way.)
        with emulator_without_gc_pauses():
            figures = await measure_burst(
                emulator,
                driver,
                process,
                users[: min(command_users, m)],
                {c.id for c in channels},
                due_mono,
                limit,
                report,
                command_interval=command_interval,
                pages=pages,
                since=since,
                paced_rate=paced_rate(
                    float((bot_env or {}).get("SEND_RATE_PER_S", DEFAULT_SEND_RATE)),
                    shared=database_url is not None,
                ),
            )
        process = None
        web_exit = await web.terminate(within=30) if web is not None else None
        return {
            **figures,
            "dashboard": dashboard,
            "database": "sqlite" if database_url is None else "postgresql",
            "bot_ready_s": ready_s,
            "bot_ready_before_due": ready_mono < due_mono,
            **({"web_exit_code": web_exit} if web is not None else {}),
        }
    finally:
        if pages is not None:
            await pages.close()
        for child in (process, web):
            if child is not None and child.running:
                await child.kill()
        await emulator.stop()


async def measure_cold_delivery(
    m: int,
    limit: int,
    workdir: Path,
    *,
    report: Report = lambda label, done, total: None,
    command_interval: float = 0.2,
    command_users: int = 50,
) -> dict[str, Any]:
    """``delivery_cold.*``: M new members subscribe through slash commands, half in their DMs
    and half in a server, to the same minute; no DM channel is known beforehand. The bot
    runs at its default settings."""
    emulator = await Emulator().start()
    driver = Driver(emulator)
    driver.set_global_rate_limit(limit)
    process: BotProcess | None = None
    try:
        users = add_members(emulator, m, report)
        in_server = users[: m // 2]
        owner = emulator.world.add_user("owner")
        guild = driver.add_guild("Twitch Support", owner=owner, members=in_server)
        env = bot_environment(
            api_base=emulator.api_base,
            token=emulator.world.token,
            database_path=workdir / "delivery_cold.sqlite3",
            netguard_log=workdir / "netguard.log",
        )
        process, ready_s = await start_ready(emulator, env, 60.0, report)

        # The due minute: after every member subscribed (~10 ms a command) and the server
        # members' DM channels were opened ahead (Discord allows ~10 opens a second).
        setup_s = 20 + m * 0.02 + len(in_server) / 8
        due_ts = math.ceil((time.time() + setup_s) / 60) * 60
        due_mono = due_ts - time.time() + time.monotonic()
        at = datetime.fromtimestamp(due_ts, UTC).strftime("%H:%M")

        label = "cold: members subscribe with /remind start"
        report(label, 0, m)
        setup_started = time.monotonic()
        server_members = {user.id for user in in_server}

        async def subscribe(user: User) -> None:
            reply = await driver.slash(
                "remind start",
                user=user,
                guild=guild if user.id in server_members else None,
                within=30,
                kind="stretching",
                time=at,
                zone="UTC",
            )
            if not reply.text.startswith("✅"):
                log = process.output[-4000:] if process is not None else ""
                raise RuntimeError(f"/remind start was refused: {reply.text}\n{log}")

        for first in range(0, m, SUBSCRIBE_CONCURRENCY):
            batch = users[first : first + SUBSCRIBE_CONCURRENCY]
            await asyncio.gather(*(subscribe(user) for user in batch))
            report(label, first + len(batch), m)
        subscribed_mono = time.monotonic()

        label = "cold: DM channels opened ahead"
        report(label, 0, len(in_server))
        while emulator.stats.dm_channel_creates < len(in_server) and time.monotonic() < due_mono:
            report(label, emulator.stats.dm_channel_creates, len(in_server))
            await asyncio.sleep(0.25)
        report(label, emulator.stats.dm_channel_creates, len(in_server))
        opened_ahead = emulator.stats.dm_channel_creates
        channels = {emulator.world.dm_channel(user).id for user in users}
        with emulator_without_gc_pauses():
            figures = await measure_burst(
                emulator,
                driver,
                process,
                users[m // 2 :][:command_users],  # members in DMs ask /remind list meanwhile
                channels,
                due_mono,
                limit,
                report,
                command_interval=command_interval,
            )
        process = None
        return {
            **figures,
            "bot_ready_s": ready_s,
            "subscribed_in_s": subscribed_mono - setup_started,
            "subscribed_before_due": subscribed_mono < due_mono,
            "subscribed_in_dms": m - len(in_server),
            "subscribed_in_server": len(in_server),
            "dm_channels_opened_ahead": opened_ahead,
            "dm_channels_opened_in_burst": figures["dm_channel_creates"],
        }
    finally:
        if process is not None and process.running:
            await process.kill()
        await emulator.stop()


@dataclass(frozen=True)
class Counts:
    """The emulator's counters at one moment: a burst's figures count from there."""

    requests: int
    rate_limited: int
    sends: int
    dm_channel_creates: int
    token_requests: int

    @classmethod
    def at(cls, emulator: Emulator) -> Counts:
        stats = emulator.stats
        return cls(
            stats.requests,
            stats.rate_limited,
            len(stats.sends),
            stats.dm_channel_creates,
            len(stats.token_requests),
        )


@contextmanager
def emulator_without_gc_pauses() -> Iterator[None]:
    """Discord's servers do not stop to collect this process's garbage; the emulator did.

    CPython's full collections traverse every object the emulator keeps, the burst's
    messages among them: they stopped this process for 23 ms early in a 10,000 burst,
    growing to 153 ms at its end, while the bot's requests waited in the socket. Stamped
    late, a request that opened one of the emulator's one-second windows let a later one
    in as the window's 51st — a 429 the bot did not cause, and its lateness counted as the
    bot's. While this is open only the young generations are collected (what was alive
    before it is frozen out of the collector's way); the bot's own process is untouched.
    """
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 2**30)  # no full collection
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def measure_burst(
    emulator: Emulator,
    driver: Driver,
    process: BotProcess,
    askers: list[User],
    channels: set[int],
    due_mono: float,
    limit: int,
    report: Report,
    *,
    command_interval: float,
    pages: DashboardLoad | None = None,
    since: Counts | None = None,
    paced_rate: float | None = None,
) -> dict[str, Any]:
    """From now (or ``since``) until every one of ``channels`` got its reminder: the figures,
    counted at the emulator; stops the bot at the end. ``pages``: members browsing the
    dashboard meanwhile.

    Counting starts now, not at ``due_mono``: the engine may send a peak's reminders a
    little before they are due, within their kind's early allowance (docs/timing.md), and
    those are the burst's too (``sent_before_due`` says how many).

    Lateness is that of each channel's first message at the emulator (on loopback: when the
    bot sent it), ``i`` its rank in the order they arrived:

    * raw, ``send − due`` (negative: early); ``first_send_after_due_s`` is the first one's;
    * queue-adjusted, ``send_i − (start + i/R)``: behind the earliest moment it could have
      gone at R a second from the burst's ``start``, the due second — or the first send, if
      that came before it. A burst the engine began early, counted from the due second,
      would read seconds *ahead* of the queue from the first send to the last, hiding every
      slot it lost on the way; counted from its own start, what remains is what the bot lost
      against R (slots missed, stalls, and its limiter's margin under R). A burst that began
      on time or late keeps ``start`` = due, so the wait for its first send counts in every
      send, as it always did;
    * paced, the same against ``paced_rate`` (the bot's own schedule: ``SEND_RATE_PER_S`` less
      its limiter's margin): what the bot lost beyond that deliberate margin, which alone
      puts the 10,000th send of a 50/s burst 0.4 s (SQLite, 0.2 %) or 1.5 s (PostgreSQL's
      shared schedule, 0.75 %) behind R.
    """
    m = len(channels)
    start = since or Counts.at(emulator)
    requests_before = start.requests
    limited_before = start.rate_limited
    sends_before = start.sends
    opens_before = start.dm_channel_creates
    token_requests_before = start.token_requests
    wait = due_mono - time.monotonic() - 0.05
    if wait > 0:
        await asyncio.sleep(wait)

    counted = sends_before
    reached: set[int] = set()

    def sent() -> int:
        # Only the sends since the last look: a scan of all of them four times a second kept
        # the emulator's loop (Discord's stand-in) busy for longer and longer as they grew.
        nonlocal counted
        new = emulator.stats.sends[counted:]
        counted += len(new)
        reached.update(ch for _, ch in new if ch in channels)
        return len(reached)

    answers: list[float] = []
    failures: list[str] = []
    stop = asyncio.Event()

    async def one_command(user: User) -> None:
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
            tasks.append(asyncio.create_task(one_command(askers[i % len(askers)])))
            i += 1
            try:
                await asyncio.wait_for(stop.wait(), command_interval)
            except TimeoutError:
                pass
        await asyncio.gather(*tasks)

    commander = asyncio.create_task(commands())
    browsing = asyncio.create_task(pages.run(stop)) if pages is not None else None
    deadline = time.monotonic() + 60 + 3 * m / limit
    while (done := sent()) < m and time.monotonic() < deadline and process.running:
        report("burst: reminders delivered", done, m)
        await asyncio.sleep(0.25)
    # A little longer, so a late duplicate would be seen.
    await asyncio.sleep(1.0)
    report("burst: reminders delivered", sent(), m)
    stop.set()
    await commander
    if browsing is not None:
        await browsing
    requests = emulator.stats.requests - requests_before
    limited = emulator.stats.rate_limited - limited_before
    token_requests = emulator.stats.token_requests[token_requests_before:]

    exit_code = await process.terminate(within=30)
    bot_output = process.output

    # --- counted at the emulator -----------------------------------------------------------
    per_channel: Counter[int] = Counter()
    first_send: dict[int, float] = {}
    for moment, channel_id in emulator.stats.sends[sends_before:]:
        if channel_id in channels:
            per_channel[channel_id] += 1
            first_send.setdefault(channel_id, moment)
    delivered = len(per_channel)
    duplicated = sum(count - 1 for count in per_channel.values())
    times = sorted(first_send.values())
    raw = [t - due_mono for t in times]
    start_mono = min(due_mono, times[0]) if times else due_mono
    adjusted = [t - (start_mono + i / limit) for i, t in enumerate(times)]
    paced = [t - (start_mono + i / paced_rate) for i, t in enumerate(times)] if paced_rate else []
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span > 0 else 0.0
    dashboard = (
        {
            "dashboard_members": len(pages.browsers),
            "dashboard_pages": len(pages.page_ms),
            "dashboard_failed": len(pages.failures),
            "dashboard_page_p50_ms": percentile(pages.page_ms, 50),
            "dashboard_page_p99_ms": percentile(pages.page_ms, 99),
        }
        if pages is not None
        else {}
    )
    return {
        **dashboard,
        "due": m,
        "delivered": delivered,
        "sent_before_due": sum(1 for t in times if t < due_mono),
        "lost": m - delivered,
        "duplicated": duplicated,
        "limit_per_s": limit,
        "delivered_per_s": rate,
        "rate_ratio": rate / limit,
        "requests": requests,
        "rate_limited": limited,
        "rate_limited_share": limited / requests if requests else 0.0,
        "token_requests": len(token_requests),
        "token_requests_per_reminder": len(token_requests) / m if m else 0.0,
        "max_token_requests_in_a_second": emulator.stats.max_token_requests_per_second(
            since=due_mono - 1
        ),
        "dm_channel_creates": emulator.stats.dm_channel_creates - opens_before,
        "lateness_p50_s": percentile(raw, 50),
        "lateness_p99_s": percentile(raw, 99),
        "lateness_adjusted_p50_s": percentile(adjusted, 50),
        "lateness_adjusted_p99_s": percentile(adjusted, 99),
        **(
            {
                "bot_paced_rate_per_s": paced_rate,
                "lateness_paced_p50_s": percentile(paced, 50),
                "lateness_paced_p99_s": percentile(paced, 99),
            }
            if paced_rate
            else {}
        ),
        "first_send_after_due_s": raw[0] if raw else float("nan"),
        "drain_s": times[-1] - due_mono if times else float("nan"),
        "slash_commands": len(answers),
        "slash_failed": len(failures),
        "slash_p50_ms": percentile(answers, 50),
        "slash_p99_ms": percentile(answers, 99),
        "rejected_bodies": len(emulator.rejections),
        "unknown_routes": len(emulator.unknown_routes),
        "bot_exit_code": exit_code,
        "bot_log_warnings": [
            line[:300]
            for line in bot_output.splitlines()
            if " WARNING " in line or " ERROR " in line
        ][:20],
    }
