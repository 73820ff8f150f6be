"""The capacity planner (issue #21): the coming day's due load against the send capacity, and
what the engine will do with it — which reminders go late, which are skipped, and how many
more members of today's mix fit before the first skip.

Two parts:

* :func:`plan_next_day` reads the database (``storage.due_plan``: identical schedules
  grouped and counted in SQL), expands each distinct schedule's fires in the window once
  (``domain.schedule``, the engine's own rules, daylight saving included) and multiplies by
  its count: the due load, per second and kind.
* :func:`predict` is pure: from that load and the capacity it predicts what the send policy
  does, second by second, on counts (a bucket is "these many of this kind due at this
  second"), never one occurrence at a time — a day at a million subscriptions takes
  under two seconds.

**The model of** :class:`~services.engine.policy.Deadlines`. An occurrence becomes sendable
at ``due − early`` (never early: a snooze; never earlier than the engine looks ahead for a
peak, ``horizon_s``), is sent in deadline order (``due + late``) at the limiter's paced rate
(``capacity`` less the limiter's margin, as ``SlotPacer`` paces it: 0.2 %, 0.75 % on
PostgreSQL's shared schedule; fractional: 4.9 a second sends 4.9 units of count), and a bucket whose deadline can no
longer be met — its next send plus the policy's ``margin_s`` past its deadline — is skipped,
as the sender skips it. Buckets with the same deadline are a tie, which the engine interleaves
(by ``tie_rank``, a hash of the subscription id): they are sent together, each by its share.

The engine sends early only when a peak needs it (just in time: ``fill_from`` starts a busy
stretch ``work ÷ capacity`` before its first due second); this model sends whatever is
allowed as soon as capacity is free. Both predict the same skips and the same lateness past
the due second, because:

- both send only what is sendable (released, within its early allowance), in the same
  deadline order, at full capacity while they send;
- the engine idles with something sendable only when ``fill_from`` found that everything due
  in the coming half hour can still leave by its due second starting later; what the model
  sends in such a moment, the engine sends later but still on time. So from the first send
  that must wait past its due second on, both are in the same busy stretch, sending the same
  work in the same order: the same sends late, by as much, and the same skipped.

What it does **not** predict: how early a reminder goes (the model sends everything as early
as allowed; the engine only as early as a peak needs), and sub-second effects — the claim's
cost, the network, which member of a tie is skipped (the tie order, ``tie_rank``). Nor what
a stopped bot catches up (the downtime grace).

:class:`~services.engine.policy.DueOrder` (today's engine before #21, ``--engines today``) is
the same loop with nothing early, nothing skipped, in due order: first in, first out (a
second's burst interleaved, as the claim's ``ORDER BY next_fire_at, id`` mixes the kinds).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from domain.kinds import ReminderKind
from domain.schedule import next_fire_ts
from services.engine.policy import Deadlines, DueOrder, SendPolicy
from services.engine.shared_pacing import SHARED_MARGIN
from services.ratelimit import DEFAULT_MARGIN
from storage import due_plan
from storage.database import Database, is_postgres
from storage.due_plan import ScheduleGroup, SnoozeGroup

#: The kinds in the order reports list them.
KINDS = (*(k.value for k in ReminderKind if k != ReminderKind.DAILY_TIP), "daily_tip")
#: Peak minutes listed.
PEAKS = 5
#: Below this (a fraction of one occurrence, after scaling) a bucket is empty.
_EPS = 1e-9

#: ``(stage, done, total)``: "read", "expand", "predict" or "headroom".
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class Due:
    """``count`` occurrences of ``kind`` due at the second ``at``; a snooze never goes early."""

    at: int
    kind: str
    count: float
    snooze: bool = False


# --- the due load ----------------------------------------------------------------------------


def expand(
    groups: Iterable[ScheduleGroup],
    snoozes: Iterable[SnoozeGroup],
    end: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[Due]:
    """The due load before ``end``: each distinct schedule's fires from its ``fires_from``
    on, times its count, and the snoozes; summed per second and kind, ascending."""
    groups = list(groups)
    counts: dict[tuple[int, str, bool], float] = defaultdict(float)
    fires: dict[tuple[str, str, int], list[int]] = {}
    for i, group in enumerate(groups):
        key = (group.times, group.zone, group.fires_from)
        if key not in fires:
            fires[key] = _fires(group.times, group.zone, group.fires_from, end)
        for at in fires[key]:
            counts[(at, group.kind, False)] += group.count
        if progress is not None and i % 1000 == 999:
            progress(i + 1, len(groups))
    for snooze in snoozes:
        counts[(snooze.fire_at, snooze.kind, True)] += snooze.count
    if progress is not None:
        progress(len(groups), len(groups))
    return [Due(at, kind, n, snooze) for (at, kind, snooze), n in sorted(counts.items())]


def _fires(times: str, zone: str, start: int, end: int) -> list[int]:
    """The instants in ``[start, end)`` at which local ``times`` in ``zone`` fire."""
    out = []
    at = next_fire_ts(times, zone, start - 1)
    while at < end:
        out.append(at)
        at = next_fire_ts(times, zone, at)
    return out


# --- the load against the capacity -----------------------------------------------------------


@dataclass(frozen=True)
class Minute:
    at: int  # the minute's first second (UTC)
    due: float


@dataclass(frozen=True)
class LoadFigures:
    """The due load per UTC minute against ``capacity_per_minute`` (the same figures as the
    simulated day's ``population``)."""

    due: float
    due_per_kind: dict[str, float]
    capacity_per_minute: float
    peak_minutes: list[Minute]  # the busiest first
    peak_to_capacity: float
    minutes_over_capacity: int
    due_above_capacity: float

    @property
    def peak_minute_due(self) -> float:
        return self.peak_minutes[0].due if self.peak_minutes else 0.0


def per_minute(load: Iterable[Due], start: int, end: int) -> dict[int, float]:
    """Due per UTC minute (its first second) for what is due in ``[start, end)``."""
    minutes: dict[int, float] = defaultdict(float)
    for due in load:
        if start <= due.at < end:
            minutes[due.at // 60 * 60] += due.count
    return dict(sorted(minutes.items()))


def load_figures(
    load: Sequence[Due],
    capacity_per_s: float,
    start: int,
    end: int,
    minutes: dict[int, float] | None = None,
) -> LoadFigures:
    """``minutes``: :func:`per_minute` of the same load and window, if already made."""
    if minutes is None:
        minutes = per_minute(load, start, end)
    capacity = capacity_per_s * 60
    per_kind: dict[str, float] = {kind: 0.0 for kind in KINDS}
    for due in load:
        if start <= due.at < end:
            per_kind[due.kind] = per_kind.get(due.kind, 0.0) + due.count
    busiest = sorted(minutes.items(), key=lambda item: (-item[1], item[0]))[:PEAKS]
    over = [n - capacity for n in minutes.values() if n > capacity]
    peak = busiest[0][1] if busiest else 0.0
    return LoadFigures(
        due=sum(per_kind.values()),
        due_per_kind=per_kind,
        capacity_per_minute=capacity,
        peak_minutes=[Minute(at, n) for at, n in busiest],
        peak_to_capacity=peak / capacity,
        minutes_over_capacity=len(over),
        due_above_capacity=sum(over),
    )


# --- what the engine does with it ------------------------------------------------------------


@dataclass(frozen=True)
class KindPrediction:
    """Per kind (or all): due in the window, sent, skipped ("too busy"), and how late what is
    sent goes past its due instant (the positive part: 0 is on time, early or not)."""

    due: float
    sent: float
    skipped: float
    late_p50_s: float
    late_p99_s: float
    late_max_s: float


@dataclass(frozen=True)
class Prediction:
    engine: str  # "new" (Deadlines) or "today" (DueOrder)
    kinds: dict[str, KindPrediction]
    all: KindPrediction

    @property
    def skipped(self) -> float:
        return self.all.skipped


@dataclass(frozen=True)
class _Rules:
    """The numbers of one send policy the model needs."""

    name: str
    early_s: dict[str, int] = field(default_factory=dict)
    late_s: dict[str, int] | None = None  # None: due order, nothing skipped
    margin_s: float = 0.0

    @classmethod
    def of(cls, policy: SendPolicy) -> _Rules:
        if not isinstance(policy, Deadlines):
            return cls(policy.name)
        # Nothing is claimed early further ahead than the dispatcher reads the load.
        early = {kind: min(s, policy.horizon_s) for kind, s in policy.early_s.items()}
        return cls(policy.name, early, dict(policy.late_s), policy.margin_s)

    def release(self, due: Due) -> int:
        return due.at if due.snooze else due.at - self.early_s.get(due.kind, 0)

    def deadline(self, due: Due) -> float:
        return math.inf if self.late_s is None else due.at + self.late_s.get(due.kind, 0)


def predict(
    load: Sequence[Due],
    capacity_per_s: float,
    policy: SendPolicy | None = None,
    *,
    until: int | None = None,
    scale: float = 1.0,
    limiter_margin: float = DEFAULT_MARGIN,
) -> Prediction:
    """What ``policy`` (default: the engine, ``Deadlines`` at ``capacity_per_s``) does with
    ``load`` (every count times ``scale``): per kind, due, sent, skipped and lateness, for
    what is due before ``until`` (what is due after it is sent too, in its place, but not
    counted: a window's last minutes compete with what follows).

    A per-second simulation on counts (see the module for why it agrees with the engine), at
    ``capacity_per_s`` less ``limiter_margin``: what the limiter really sends."""
    rules = _Rules.of(policy or Deadlines(capacity_per_s=capacity_per_s))
    rate = capacity_per_s * (1 - limiter_margin)
    counted_until: float = math.inf if until is None else until
    by_release = sorted(load, key=rules.release)
    remaining = [d.count * scale for d in by_release]
    deadlines = [rules.deadline(d) for d in by_release]
    sent: dict[str, float] = defaultdict(float)
    skipped: dict[str, float] = defaultdict(float)
    # Lateness of what is sent, in pieces: (lateness at the middle of the piece, at its end,
    # how many) — a piece is one bucket's share of one second.
    pieces: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    # The send order: the policy's key (deadline, or due in due order), smallest first. The
    # buckets of one key are a tie, which the engine interleaves (by a hash of the
    # subscription id, or by id): they are sent together, each by its share.
    keys: list[float] = []
    ties: dict[float, list[int]] = {}
    nxt = 0
    t = rules.release(by_release[0]) if by_release else 0
    while nxt < len(by_release) or keys:
        if not keys:
            t = max(t, rules.release(by_release[nxt]))
        while nxt < len(by_release) and rules.release(by_release[nxt]) <= t:
            key = deadlines[nxt] if rules.late_s is not None else by_release[nxt].at
            if key not in ties:
                ties[key] = []
                heapq.heappush(keys, key)
            ties[key].append(nxt)
            nxt += 1
        used = 0.0  # sends made in second t
        while keys and rate - used > _EPS:
            key = keys[0]
            tie = ties[key]
            leaves = t + used / rate  # when the tie's next send leaves
            room = rate - used
            if rules.late_s is not None:  # one deadline for the whole tie: the key
                room = min(room, (key - rules.margin_s - leaves) * rate)
            if room <= _EPS:  # it can no longer reach Discord by its deadline
                for i in tie:
                    if by_release[i].at < counted_until:
                        skipped[by_release[i].kind] += remaining[i]
                heapq.heappop(keys)
                del ties[key]
                continue
            left = sum(remaining[i] for i in tie)
            n = min(left, room)
            # Its sends leave 1/capacity apart, the first at ``leaves``, interleaved.
            spread = max(n - 1, 0.0) / rate
            for i in tie:
                d = by_release[i]
                share = n * remaining[i] / left
                remaining[i] -= share
                if d.at < counted_until and share > 0:
                    sent[d.kind] += share
                    pieces[d.kind].append(
                        (leaves + spread / 2 - d.at, leaves + spread - d.at, share)
                    )
            used += n
            if left - n <= _EPS:
                heapq.heappop(keys)
                del ties[key]
        t += 1
    due: dict[str, float] = defaultdict(float)
    for d in load:
        if d.at < counted_until:
            due[d.kind] += d.count * scale
    kinds = {
        kind: _kind(due[kind], sent[kind], skipped[kind], pieces[kind])
        for kind in (*KINDS, *sorted(set(due) - set(KINDS)))
    }
    every = [p for values in pieces.values() for p in values]
    total = _kind(sum(due.values()), sum(sent.values()), sum(skipped.values()), every)
    return Prediction(rules.name, kinds, total)


def _kind(
    due: float, sent: float, skipped: float, pieces: list[tuple[float, float, float]]
) -> KindPrediction:
    p50, p99 = _percentiles(pieces, (50, 99))
    return KindPrediction(
        due=due,
        sent=sent,
        skipped=skipped,
        late_p50_s=p50,
        late_p99_s=p99,
        late_max_s=max((max(end, 0.0) for _, end, _ in pieces), default=0.0),
    )


def _percentiles(pieces: list[tuple[float, float, float]], qs: Sequence[float]) -> list[float]:
    """Nearest-rank percentiles (ascending ``qs``) of the pieces' lateness, positive part,
    weighted by count; one sort for all of them."""
    total = sum(n for _, _, n in pieces)
    if total <= 0:
        return [0.0 for _ in qs]
    out: list[float] = []
    seen = 0.0
    ordered = iter(sorted(pieces))
    middle = 0.0
    for q in qs:
        rank = q / 100 * total - _EPS
        while seen < rank:
            piece = next(ordered, None)
            if piece is None:  # a rank past the last piece, by rounding
                break
            middle, _, n = piece
            seen += n
        out.append(max(middle, 0.0))
    return out


# --- headroom --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headroom:
    """How many more members of today's mix fit before the first predicted skip: the load
    scaled by ``factor`` (every count, so the mix of kinds, zones and times stays today's)
    skips nothing; ``members`` = today's members × (factor − 1). ``factor`` < 1: already
    skipping today — the load must shrink to it for nothing to be skipped."""

    factor: float
    members: int


#: One occurrence skipped (after scaling, counts are fractional) is the first skip.
_FIRST_SKIP = 1.0
#: The bisection stops when the factor is known within this ratio.
_PRECISION = 1.005


def headroom(
    load: Sequence[Due],
    capacity_per_s: float,
    members: int,
    *,
    until: int | None = None,
    policy: SendPolicy | None = None,
    progress: Progress | None = None,
    limiter_margin: float = DEFAULT_MARGIN,
) -> Headroom:
    """The largest scale of ``load`` that ``policy`` (default: the engine) sends without a
    skip, by bisection; and how many more ``members`` that is."""

    def fits(scale: float) -> bool:
        skipped = predict(
            load, capacity_per_s, policy, until=until, scale=scale, limiter_margin=limiter_margin
        ).skipped
        return skipped < _FIRST_SKIP

    if not load:
        return Headroom(math.inf, 0)
    steps = 0

    def step() -> None:
        nonlocal steps
        steps += 1
        if progress is not None:
            progress("headroom", min(steps, 30), 30)

    if fits(1.0):
        low, high = 1.0, 2.0
        while fits(high):
            step()
            low, high = high, high * 2
            if high > 1e6:  # nothing due that could ever be too much
                return Headroom(math.inf, 0)
    else:
        low, high = 0.0, 1.0
    while high / max(low, 1e-9) > _PRECISION and high - low > 1e-6:
        step()
        middle = (low + high) / 2
        if fits(middle):
            low = middle
        else:
            high = middle
    if progress is not None:
        progress("headroom", 30, 30)
    return Headroom(low, max(0, math.floor(members * (low - 1))))


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityPlan:
    """The next ``hours`` from ``start``: the load, what the engine (``new``) and today's due
    order (``today``) would do with it, and the headroom."""

    start: int
    end: int
    capacity_per_s: float
    members: int
    subscriptions: int
    snoozes: int
    minutes: dict[int, float]  # due per UTC minute (its first second), where any is due
    load: LoadFigures
    new: Prediction
    today: Prediction | None  # None: not asked for (for_report=False)
    headroom: Headroom | None  # None: not asked for (for_report=False)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for ``--json`` (instants as unix seconds)."""
        out = asdict(self)
        out["minutes"] = [[at, n] for at, n in self.minutes.items()]
        out["load"]["peak_minute_due"] = self.load.peak_minute_due
        rounded = _rounded(out)
        assert isinstance(rounded, dict)
        return rounded


def _rounded(value: object) -> object:
    """Figures to the millisecond or thousandth of an occurrence (a count after a fractional
    capacity is fractional: 1088.1999999997 is 1088.2)."""
    if isinstance(value, float):
        return value if math.isinf(value) else round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


async def plan_next_day(
    db: Database,
    *,
    now: datetime | int,
    capacity_per_s: float,
    hours: float = 24,
    progress: Progress | None = None,
    for_report: bool = True,
    offload: bool = False,
) -> CapacityPlan:
    """Read the database and plan the ``hours`` from ``now`` against ``capacity_per_s``
    (``SEND_RATE_PER_S``; on PostgreSQL, the capacity of all processes together).

    ``for_report=False`` leaves out what only the report prints — today's due order (the
    slower prediction: a backlog all day) and the headroom's bisection (a dozen predictions);
    ``offload=True`` runs the CPU part in a worker thread, so that a running bot's event loop
    keeps sending meanwhile (services/plan_watch.py)."""
    start = int(now.timestamp()) if isinstance(now, datetime) else int(now)
    end = start + int(hours * 3600)
    # What is due just after the window competes with the window's last minutes.
    lookahead = end + max(Deadlines().early_s.values(), default=0)

    def read(done: int, total: int) -> None:
        if progress is not None:
            progress("read", done, total)

    groups = await due_plan.schedule_groups(db, start, lookahead, progress=read)
    snoozes = await due_plan.snooze_groups(db, start, lookahead)
    who = await due_plan.population(db, end)

    def expanding(done: int, total: int) -> None:
        if progress is not None:
            progress("expand", done, total)

    # Several processes share one schedule of slots on PostgreSQL, with a wider margin.
    margin = SHARED_MARGIN if is_postgres(db) else DEFAULT_MARGIN

    def compute() -> CapacityPlan:
        load = expand(groups, snoozes, lookahead, expanding)
        if progress is not None:
            progress("predict", 0, 2)
        policy = Deadlines(capacity_per_s=capacity_per_s)
        new = predict(load, capacity_per_s, policy, until=end, limiter_margin=margin)
        today = (
            predict(load, capacity_per_s, DueOrder(), until=end, limiter_margin=margin)
            if for_report
            else None
        )
        if progress is not None:
            progress("predict", 2, 2)
        minutes = per_minute(load, start, end)
        room = (
            headroom(
                load,
                capacity_per_s,
                who.members,
                until=end,
                policy=policy,
                progress=progress,
                limiter_margin=margin,
            )
            if for_report
            else None
        )
        return CapacityPlan(
            start=start,
            end=end,
            capacity_per_s=capacity_per_s,
            members=who.members,
            subscriptions=who.subscriptions,
            snoozes=sum(s.count for s in snoozes if s.fire_at < end),
            minutes=minutes,
            load=load_figures(load, capacity_per_s, start, end, minutes),
            new=new,
            today=today,
            headroom=room,
        )

    return await asyncio.to_thread(compute) if offload else compute()
