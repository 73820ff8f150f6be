"""Prometheus metrics, served on ``GET /metrics`` by bot/health.py.

prometheus-client, not hand-written text: it gets the exposition format, label escaping,
histogram buckets and the process_* metrics (RSS, CPU, open files) right for free.

The metrics live in the default registry, as prometheus-client intends, so any module can
count without being handed an object: the sender counts deliveries, the HTTP trace counts
429s, and the multi-process claim code counts ``CLAIMS_TAKEN_OVER``. Values are per
process; Prometheus sums them across replicas.
"""

from __future__ import annotations

import aiohttp
from prometheus_client import Counter, Gauge, Histogram

from domain.enums import DeliveryState, Source
from services.ratelimit import limit_scope

DELIVERIES = Counter(
    "steady_reminder_deliveries",
    "Reminder occurrences finished by this process, by outcome (sent, failed, cancelled, missed).",
    ["outcome"],
)
LATENESS = Histogram(
    "steady_reminder_lateness_seconds",
    "Seconds between an occurrence's scheduled time and its send (test sends excluded).",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600),
)
SKIPPED_TOO_BUSY = Counter(
    "steady_reminders_skipped_too_busy",
    "Reminder occurrences not sent because they could not reach Discord within their kind's "
    "late tolerance (more due than the send rate; recorded 'skipped: too busy').",
)
RATE_LIMITED = Counter(
    "steady_discord_rate_limited",
    "429 answers from Discord to this process, by scope (global, user, shared).",
    ["scope"],
)
DUE_BACKLOG = Gauge(
    "steady_reminders_due_backlog",
    "Occurrences due and not yet sent: due in the database plus queued in this process.",
)
CLAIMS_TAKEN_OVER = Counter(
    "steady_claims_taken_over",
    "Claims whose lease expired (their process died) that this process took over.",
)
SHARDS_CONNECTED = Gauge(
    "steady_shards_connected", "Gateway shards of this process that are connected."
)
DISPATCHER_TICK_AGE = Gauge(
    "steady_dispatcher_last_tick_age_seconds", "Seconds since the dispatcher last woke up."
)

# The capacity plan of the next 24 hours (services/plan_watch.py), kept by one process only.
PLAN_PEAK_TO_CAPACITY = Gauge(
    "steady_plan_peak_to_capacity",
    "The next 24 hours' busiest minute of due reminders against a minute of SEND_RATE_PER_S.",
)
PLAN_PREDICTED_SKIPS = Gauge(
    "steady_plan_predicted_skips",
    "Reminder occurrences the capacity plan predicts will be skipped as too busy in the next "
    "24 hours, by kind.",
    ["kind"],
)
PLAN_AGE = Gauge("steady_plan_age_seconds", "Seconds since the capacity plan was made.")


def observe_delivery(outcome: str, source: str, lateness_s: float | None) -> None:
    """One occurrence finished (``outcome`` is its final ledger state)."""
    DELIVERIES.labels(outcome).inc()
    if outcome == DeliveryState.SENT and source != Source.TEST and lateness_s is not None:
        LATENESS.observe(max(lateness_s, 0.0))


async def count_rate_limits(
    _session: aiohttp.ClientSession, _context: object, params: aiohttp.TraceRequestEndParams
) -> None:
    """An aiohttp trace hook: every 429 on the wire, including those discord.py retries."""
    if params.response.status == 429:
        RATE_LIMITED.labels(limit_scope(params.response.headers)).inc()


def rate_limit_trace() -> aiohttp.TraceConfig:
    """A trace for discord.py's HTTP session that counts its 429s."""
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(count_rate_limits)
    return trace
