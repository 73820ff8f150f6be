"""How the engine orders, paces and sheds what is due (issue #21): the send policy.

Two policies, one interface, handed to the dispatcher and the sender by the composition root
(:func:`bot.compose.build_core`); never a global switch:

* :class:`Deadlines` — the engine. It plans against the send capacity it has
  (``SEND_RATE_PER_S``, the token's, shared by every process on PostgreSQL):

  - **Prepared claims.** Whatever falls due in the next :attr:`Deadlines.prepare_s` seconds is
    claimed ahead and *held* in the sender until its due second, so the first send of a burst
    leaves as soon as its second starts (not after a claim transaction and a render).
  - **Early claims before a peak.** From the due load of the coming
    :attr:`Deadlines.horizon_s` (:func:`fill_from`) the dispatcher knows when the sender must
    start working at full capacity for nothing to wait past its due instant. From that
    moment it claims occurrences up to each kind's ``early`` allowance ahead, and they are
    **sent at claim time** (as soon as the sender reaches them): the quiet seconds before
    the peak carry part of it. An early claim is an ordinary claim (ledger row, lease,
    nonce); it is never sent before ``due − early`` because it is never claimed before then.
  - **Deadline order.** The sender's queue, and the claim itself, go by deadline
    (``due + late``), so a tight kind is never stuck behind a loose one. Ties — a peak of one
    kind at one instant — are ordered by a per-day hash of the subscription id
    (:func:`tie_rank`): when a peak cannot be met, the ones at the end of the order, who are
    skipped, are not the same members every day.
  - **Nothing sent too late.** An occurrence that could only reach Discord after its
    deadline is not sent: it is recorded ``missed`` with :attr:`~domain.enums.Reason.TOO_BUSY`
    ("skipped: too busy"), by the dispatcher if it is still in the table, by the sender if
    it waited in the queue.

* :class:`DueOrder` — the engine as it was before: due order, no tolerance, everything sent
  however late. Only ``python -m benchmarks.day --engines today,new`` builds it, to compare.

``/remind test`` goes first and is never early nor skipped; snoozes are never claimed early
and keep their kind's late tolerance; the downtime grace (``Uptime``) is unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from domain.clock import Clock
from domain.enums import Source
from domain.kinds import MEMBER_KINDS, ReminderKind, timing_for
from services import metrics
from storage.ledger import Delivery
from storage.reminders import ClaimOrder

log = logging.getLogger(__name__)

# A per-day rotation of the tie order by the golden ratio of the hash space: consecutive
# days' last-served arcs overlap only if more than 38 % of a tie is shed.
_HASH_SPACE = 2**32
_GOLDEN_STEP = 2654435769  # ≈ 2**32 / φ
_KNUTH = 2654435761


def tie_rank(subscription_id: int | None, day: int) -> int:
    """Where a subscription stands among occurrences with the same deadline on UTC ``day``
    (days since the epoch); the same formula as the claim's SQL (``storage.reminders``)."""
    base = ((subscription_id or 0) * _KNUTH) % _HASH_SPACE
    return (base + day * _GOLDEN_STEP) % _HASH_SPACE


class SendPolicy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def capacity_per_s(self) -> float | None:
        """Sends a second the plan may count on (``None``: it plans nothing)."""
        ...

    @property
    def prepare_s(self) -> int:
        """How long before its due second an occurrence is claimed (and held)."""
        ...

    @property
    def horizon_s(self) -> int:
        """How far ahead the due load is read for peaks."""
        ...

    def queue_key(self, d: Delivery, now: int) -> tuple[int, ...]:
        """The sender's order: smallest first."""
        ...

    def deadline(self, d: Delivery) -> int | None:
        """The last second at which ``d`` may still reach Discord; ``None``: no limit."""
        ...

    def too_late(self, d: Delivery, now: float) -> bool:
        """Whether ``d``, reaching its worker at ``now``, could no longer be sent in time."""
        ...

    def expired(self, kind: str, scheduled_at: int, now: float) -> bool:
        """Whether an occurrence of ``kind`` due at ``scheduled_at`` is past sending at ``now``."""
        ...

    def claim_order(self, now: int, *, fill_until: int | None = None) -> ClaimOrder | None:
        """How the dispatcher claims at ``now`` (``None``: due order, nothing ahead);
        ``fill_until``: filling for a peak at that instant, claim early up to it."""
        ...


@dataclass(frozen=True)
class DueOrder:
    """Today's engine (before #21): due order, no tolerance. For the benchmark's comparison."""

    name: str = "today"
    capacity_per_s: float | None = None  # plans nothing
    prepare_s: int = 0
    horizon_s: int = 0

    def queue_key(self, d: Delivery, now: int) -> tuple[int, ...]:
        return (d.scheduled_at,)

    def deadline(self, d: Delivery) -> int | None:
        return None

    def too_late(self, d: Delivery, now: float) -> bool:
        return False

    def expired(self, kind: str, scheduled_at: int, now: float) -> bool:
        return False

    def claim_order(self, now: int, *, fill_until: int | None = None) -> ClaimOrder | None:
        return None


def _kinds() -> Iterable[str]:
    return [*(spec.name for spec in MEMBER_KINDS), ReminderKind.DAILY_TIP.value]


@dataclass(frozen=True)
class Deadlines:
    """The engine of #21 (see the module). ``capacity_per_s``: ``SEND_RATE_PER_S``."""

    capacity_per_s: float = 49.0
    name: str = "new"
    #: Claimed this long before due and held until due (≤ a third of the 30 s lease).
    prepare_s: int = 5
    #: How far ahead the due load is read to find the next peak (the longest member kind's
    #: ``early``; the daily tip's hour is not worth the read).
    horizon_s: int = 1800
    #: Margin between "reaches its worker" and "reaches Discord" (a limiter slot, a 429
    #: window, the round trip): a send that could not make its deadline with it is skipped.
    margin_s: int = 2
    early_s: Mapping[str, int] = field(
        default_factory=lambda: {k: int(timing_for(k).early.total_seconds()) for k in _kinds()}
    )
    late_s: Mapping[str, int] = field(
        default_factory=lambda: {k: int(timing_for(k).late.total_seconds()) for k in _kinds()}
    )

    def deadline(self, d: Delivery) -> int | None:
        if d.source == Source.TEST:
            return None
        return d.scheduled_at + self.late_s.get(d.kind, 0)

    def queue_key(self, d: Delivery, now: int) -> tuple[int, ...]:
        if d.source == Source.TEST:
            return (0, 0)  # a member waiting on /remind test: first, whatever is queued
        deadline = self.deadline(d)
        assert deadline is not None
        return (deadline, tie_rank(d.subscription_id, now // 86400))

    def too_late(self, d: Delivery, now: float) -> bool:
        return d.source != Source.TEST and self.expired(d.kind, d.scheduled_at, now)

    def expired(self, kind: str, scheduled_at: int, now: float) -> bool:
        return now + self.margin_s > scheduled_at + self.late_s.get(kind, 0)

    def claim_order(self, now: int, *, fill_until: int | None = None) -> ClaimOrder | None:
        return ClaimOrder(
            ahead_s=self.prepare_s,
            early_s=dict(self.early_s) if fill_until is not None else {},
            late_s=dict(self.late_s),
            day=now // 86400,
            until=fill_until,
        )


@dataclass(frozen=True)
class Fill:
    """A peak ahead: from ``start`` the sender must send at full capacity for everything due
    up to ``until`` (the peak's instant) to leave by its due second."""

    start: int
    until: int


def fill_from(
    now: int,
    backlog: int,
    due: Iterable[tuple[int, int]],
    capacity_per_s: float,
    slack_s: float = 1.0,
) -> Fill | None:
    """When the sender must start sending at full capacity for every occurrence in ``due``
    (``(due second, count)``, ascending; several entries for one second add up) to leave by
    its due second, given ``backlog`` already queued; ``None`` if the load never asks for it
    (then nothing is claimed early).

    Backwards from the last instant: the work that must be done by ``t`` is what is due at
    ``t`` plus whatever of the later work the sender cannot do between ``t`` and the next
    instant. A busy stretch that takes more than ``slack_s`` (a burst that goes out within a
    second of its due instant is not worth sending early) must start ``work / capacity``
    before its first instant; the earliest such start is returned, with ``until``, the last
    instant of the stretches that must already have started — nothing due after it need go
    early yet.
    """
    per_second: dict[int, int] = {}
    for second, count in due:
        at = max(second, now)
        per_second[at] = per_second.get(at, 0) + count
    if backlog:
        per_second[now] = per_second.get(now, 0) + backlog
    stretches: list[Fill] = []
    carried = 0.0  # work of the later stretch not doable between this instant and the next
    stretch_end = 0
    later: int | None = None
    for at in sorted(per_second, reverse=True):
        if later is not None and carried - capacity_per_s * (later - at) > 0:
            carried -= capacity_per_s * (later - at)
        else:
            carried, stretch_end = 0.0, at
        carried += per_second[at]
        later = at
        needs = carried / capacity_per_s
        if needs > slack_s:
            stretches.append(Fill(int(at - needs), stretch_end))
    if not stretches:
        return None
    first = min(stretches, key=lambda f: f.start)
    due_now = [f for f in stretches if f.start <= now]
    if not due_now:
        return first
    return Fill(first.start, max(f.until for f in due_now))


class BusyLog:
    """Occurrences skipped because the bot was too busy: counted in ``/metrics`` at once, and
    logged as one total a minute at most — never one line per member."""

    EVERY_S = 60.0

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pending = 0
        self.total = 0
        self._last: float | None = None

    def skipped(self, count: int) -> None:
        if count <= 0:
            return
        metrics.SKIPPED_TOO_BUSY.inc(count)
        self.pending += count
        self.total += count
        self.flush()

    def flush(self, *, force: bool = False) -> None:
        now = self.clock().timestamp()
        if not self.pending or (
            not force and self._last is not None and now - self._last < self.EVERY_S
        ):
            return
        log.warning(
            "too busy: %d reminder occurrences could not be sent within their kind's late "
            "tolerance and were skipped (%d since start; see /metrics and docs/timing.md)",
            self.pending,
            self.total,
        )
        self.pending = 0
        self._last = now
