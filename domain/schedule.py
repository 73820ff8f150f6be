"""Schedule maths: when does a local wall-clock time next happen in a time zone?

Pure functions over ``zoneinfo`` (tzdata), no I/O, no clock. Everything the dispatcher
and the service decide about time goes through :func:`next_fire` / :func:`previous_fire`,
so the daylight-saving rules live in exactly one place:

* A wall time that does not exist that day (spring forward: 02:30 in New York on the March
  change) fires once, at the first valid instant after it — the instant the clocks jump
  (03:00 EDT). Several requested times inside one gap collapse into that one instant.
* A wall time that happens twice (fall back: 01:30 in New York on the November change)
  fires once, at its first occurrence (``fold=0``).

Resolved instants are monotonic in wall time within a day, which is what lets both
functions stop at the first candidate past ``after``. The common case costs two
``utcoffset`` calls per candidate; only gaps (a few per year per zone) do a short
binary search for the transition instant.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.kinds import DEFAULT_BED, DEFAULT_EVERY_HOURS, DEFAULT_WAKE, spec_of

_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)
# A request whose days are all skipped by the zone (Samoa skipped 30 Dec 2011) still finds
# the next valid day well within this many days.
_MAX_DAYS_SCANNED = 4


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for a stored IANA name; cached so hot paths never re-read tzdata."""
    return ZoneInfo(name)


def stored_instant(ts: int | None, zone_name: str) -> datetime | None:
    """A stored instant (unix seconds, or none) as an aware time in the named zone."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).astimezone(zone_named(zone_name))


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The zone to show a member's times in: theirs, or UTC while they have not set one."""
    return zone_named(name or "UTC")


def _wall_to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time, with the gap and fold rules applied."""
    off0 = zone.utcoffset(naive)
    off1 = zone.utcoffset(naive.replace(fold=1))
    assert off0 is not None and off1 is not None
    if off0 >= off1:
        # Ordinary time (equal offsets) or a repeated hour (off0 > off1): the first
        # occurrence, i.e. the pre-transition offset.
        return (naive - off0).replace(tzinfo=UTC)
    # Gap: the wall time is skipped. PEP 495 maps fold=0 to the earlier offset, so
    # ``naive - off1`` lies before the transition and ``naive - off0`` after it; the
    # transition instant (the first valid instant after the skipped time) is in between.
    lo = int((naive - off1 - _EPOCH).total_seconds())  # offset here is still the old one
    hi = int((naive - off0 - _EPOCH).total_seconds())  # offset here is already the new one
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == off1:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _check_inputs(local_times: Sequence[time], after: datetime) -> None:
    if not local_times:
        raise ValueError("local_times must not be empty")
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")


def next_fire(local_times: Sequence[time], zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after ``after`` at which one of ``local_times`` fires.

    ``local_times`` are naive wall-clock times in ``zone`` (sorted or not); the result is
    an aware UTC datetime.
    """
    _check_inputs(local_times, after)
    times = sorted(local_times) if len(local_times) > 1 else local_times
    return datetime.fromtimestamp(_scan_next(times, zone, after.timestamp()), UTC)


def previous_fire(local_times: Sequence[time], zone: ZoneInfo, at_or_before: datetime) -> datetime:
    """The latest instant at or before ``at_or_before`` at which one of ``local_times`` fires.

    The mirror of :func:`next_fire` over the same set of instants; used to find the one
    occurrence worth catching up after downtime.
    """
    _check_inputs(local_times, at_or_before)
    limit = at_or_before.astimezone(UTC)
    times = sorted(local_times, reverse=True)
    # Instants of the next local day can still be at or before ``limit`` when that day
    # starts inside a gap, so scanning starts one day later.
    day: date = limit.astimezone(zone).date() + _ONE_DAY
    for _ in range(_MAX_DAYS_SCANNED + 1):
        for t in times:
            instant = _wall_to_utc(datetime.combine(day, t), zone)
            if instant <= limit:
                return instant
        day -= _ONE_DAY
    raise AssertionError("no fire time found within the scan window")  # pragma: no cover


def wall_time_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local datetime to its UTC instant with the same gap/fold rules as reminders."""
    return _wall_to_utc(local.replace(tzinfo=None), zone)


# --- Default times ---------------------------------------------------------------------


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _clock(minutes: int) -> time:
    minutes %= 24 * 60
    return time(minutes // 60, minutes % 60)


def default_times(
    kind: str,
    wake: time = DEFAULT_WAKE,
    bed: time = DEFAULT_BED,
    every: int | None = None,
    custom: time | None = None,
) -> list[time]:
    """The local times a member's reminder of ``kind`` fires at, sorted.

    A repeating kind (hydration) fires every ``every`` hours (default 2) from wake+1h — or
    from ``custom``, which is then the day's first reminder — up to bed−1h. Any other kind
    fires once, its ``before_bed`` before bedtime, or at ``custom`` instead. A bedtime at or
    before the wake time is after midnight (wake 07:00, bed 01:00).
    """
    spec = spec_of(kind)
    if spec.repeats:
        step = (every or DEFAULT_EVERY_HOURS) * 60
        w = _minutes(wake)
        b = _minutes(bed)
        if b <= w:
            b += 24 * 60
        last = b - 60
        if custom is None:
            first = w + 60
        else:
            first = _minutes(custom)
            if first < w:  # e.g. 00:30 with bed 01:00 belongs to the end of the waking day
                first += 24 * 60
        minutes = list(range(first, last + 1, step)) or [first]
        return sorted({_clock(m) for m in minutes})
    if custom is not None:
        return [custom.replace(second=0, microsecond=0)]
    assert spec.before_bed is not None
    return [_clock(_minutes(bed) - int(spec.before_bed.total_seconds()) // 60)]


def format_times(times: Sequence[time]) -> str:
    """Storage form of a list of local times: ``"09:00,11:00"``."""
    return ",".join(t.strftime("%H:%M") for t in sorted(times))


@lru_cache(maxsize=4096)
def _parse_times_cached(text: str) -> tuple[time, ...]:
    return tuple(time.fromisoformat(part) for part in text.split(","))


def parse_times(text: str) -> tuple[time, ...]:
    """Inverse of :func:`format_times` (cached: the dispatcher parses the same few strings)."""
    return _parse_times_cached(text)


def _wall_to_utc_ts(naive: datetime, zone: ZoneInfo) -> int:
    """:func:`_wall_to_utc` in unix seconds, without building aware datetimes (hot path)."""
    off0 = zone.utcoffset(naive)
    off1 = zone.utcoffset(naive.replace(fold=1))
    assert off0 is not None and off1 is not None  # a ZoneInfo always has an offset
    if off0 >= off1:
        return int((naive - off0 - _EPOCH).total_seconds())
    return int(_wall_to_utc(naive, zone).timestamp())  # a gap: a few per year per zone


def next_fire_ts(times_text: str, zone_name: str, after_ts: int) -> int:
    """:func:`next_fire` over stored forms: times text, zone name, unix seconds.

    The dispatcher's hot path: the same scan as :func:`next_fire`, in integers.
    """
    return _scan_next(parse_times(times_text), zone_named(zone_name), after_ts)


def _scan_next(times: Sequence[time], zone: ZoneInfo, after_ts: float) -> int:
    """The scan behind :func:`next_fire` and :func:`next_fire_ts`, in unix seconds.

    ``times`` are sorted. Wall times on earlier local days always resolve to instants before
    the start of ``after``'s local day; resolution is monotonic in wall time, so on that
    first day every time at or before ``after``'s own wall time resolves at or before
    ``after`` and is skipped without resolving it.
    """
    local = datetime.fromtimestamp(after_ts, zone)
    day: date = local.date()
    first = bisect_right(times, local.time())
    for _ in range(_MAX_DAYS_SCANNED):
        for i in range(first, len(times)):
            instant = _wall_to_utc_ts(datetime.combine(day, times[i]), zone)
            if instant > after_ts:
                return instant
        first = 0
        day += _ONE_DAY
    raise AssertionError("no fire time found within the scan window")  # pragma: no cover


def previous_fire_ts(times_text: str, zone_name: str, at_or_before_ts: int) -> int:
    at = datetime.fromtimestamp(at_or_before_ts, UTC)
    return int(previous_fire(parse_times(times_text), zone_named(zone_name), at).timestamp())
