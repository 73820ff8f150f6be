"""Schedule maths: daylight-saving gaps and folds, half-hour zones, default times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.schedule import (
    default_times,
    format_times,
    next_fire,
    next_fire_ts,
    parse_times,
    previous_fire,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
AUCKLAND = ZoneInfo("Pacific/Auckland")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
ZONES = [NY, BERLIN, LORD_HOWE, KOLKATA, AUCKLAND, SAO_PAULO]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(times: list[time], zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = next_fire(times, zone, after)
        out.append(after)
    return out


# --- fixed cases ---------------------------------------------------------------------------


def test_ordinary_day_fires_at_local_time_in_utc():
    assert next_fire([time(21, 30)], BERLIN, utc(2024, 6, 1, 12)) == utc(2024, 6, 1, 19, 30)


def test_result_is_strictly_after():
    at = utc(2024, 6, 1, 19, 30)
    assert next_fire([time(21, 30)], BERLIN, at) == utc(2024, 6, 2, 19, 30)
    assert next_fire([time(21, 30)], BERLIN, at - timedelta(seconds=1)) == at


def test_accepts_any_aware_after():
    after = datetime(2024, 6, 1, 8, 0, tzinfo=KOLKATA)
    assert next_fire([time(9)], KOLKATA, after) == utc(2024, 6, 1, 3, 30)


def test_kolkata_half_hour_offset():
    assert fires([time(9)], KOLKATA, utc(2024, 1, 1), 2) == [
        utc(2024, 1, 1, 3, 30),
        utc(2024, 1, 2, 3, 30),
    ]


def test_new_york_spring_forward_gap_fires_once_at_first_valid_instant():
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    got = fires([time(2, 30)], NY, utc(2024, 3, 9, 12), 3)
    assert got == [utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 30), utc(2024, 3, 12, 6, 30)]
    assert got[0].astimezone(NY).time() == time(3, 0)


def test_new_york_fall_back_fold_fires_once():
    # 2024-11-03: 01:00-02:00 happens twice; 01:30 fires at its first occurrence only.
    got = fires([time(1, 30)], NY, utc(2024, 11, 2, 12), 3)
    assert got == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30), utc(2024, 11, 5, 6, 30)]


def test_times_inside_one_gap_collapse_into_one_fire():
    got = fires([time(2), time(2, 30), time(3), time(4)], NY, utc(2024, 3, 10, 0), 3)
    assert got == [utc(2024, 3, 10, 7), utc(2024, 3, 10, 8), utc(2024, 3, 11, 6)]


def test_berlin_gap_and_fold():
    assert next_fire([time(2, 30)], BERLIN, utc(2024, 3, 30, 12)) == utc(2024, 3, 31, 1, 0)
    got = fires([time(2, 30)], BERLIN, utc(2024, 10, 26, 12), 2)
    assert got == [utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)]


def test_lord_howe_thirty_minute_shift():
    # 2024-10-06 02:00 +10:30 -> 02:30 +11:00; 02:15 does not exist.
    first = next_fire([time(2, 15)], LORD_HOWE, utc(2024, 10, 5, 0))
    assert first == utc(2024, 10, 5, 15, 30)
    assert first.astimezone(LORD_HOWE).time() == time(2, 30)
    # 2025-04-06 02:00 +11:00 -> 01:30 +10:30; 01:45 happens twice, fires once.
    got = fires([time(1, 45)], LORD_HOWE, utc(2025, 4, 5, 0), 2)
    assert got == [utc(2025, 4, 5, 14, 45), utc(2025, 4, 6, 15, 15)]


def test_southern_hemisphere_auckland():
    # Spring forward 2024-09-29 02:00 -> 03:00 (September: southern spring).
    assert next_fire([time(2, 30)], AUCKLAND, utc(2024, 9, 28, 0)) == utc(2024, 9, 28, 14)
    # Fall back 2024-04-07 03:00 -> 02:00: 02:30 fires once, in daylight time.
    got = fires([time(2, 30)], AUCKLAND, utc(2024, 4, 6, 0), 2)
    assert got == [utc(2024, 4, 6, 13, 30), utc(2024, 4, 7, 14, 30)]


def test_sao_paulo_gap_at_midnight():
    # 2018-11-04 00:00 -03 jumped to 01:00 -02: the day started at 01:00.
    got = next_fire([time(0, 30)], SAO_PAULO, utc(2018, 11, 3, 12))
    assert got == utc(2018, 11, 4, 3, 0)
    assert got.astimezone(SAO_PAULO) == datetime(2018, 11, 4, 1, 0, tzinfo=SAO_PAULO)


def test_skipped_calendar_day_fires_once_at_start_of_next_day():
    apia = ZoneInfo("Pacific/Apia")  # 2011-12-30 did not exist in Samoa
    got = fires([time(9)], apia, utc(2011, 12, 29, 12), 3)
    local = [g.astimezone(apia).replace(tzinfo=None) for g in got]
    assert local == [
        datetime(2011, 12, 29, 9),
        datetime(2011, 12, 31, 0),
        datetime(2011, 12, 31, 9),
    ]


def test_previous_fire_mirrors_next_fire():
    times = [time(1, 30), time(9)]
    assert previous_fire(times, NY, utc(2024, 11, 3, 7)) == utc(2024, 11, 3, 5, 30)
    assert previous_fire([time(2, 30)], NY, utc(2024, 3, 10, 7)) == utc(2024, 3, 10, 7)
    assert previous_fire([time(2, 30)], NY, utc(2024, 3, 10, 6, 59)) == utc(2024, 3, 9, 7, 30)


def test_invalid_inputs():
    with pytest.raises(ValueError):
        next_fire([], NY, utc(2024, 1, 1))
    with pytest.raises(ValueError):
        next_fire([time(9)], NY, datetime(2024, 1, 1))


def test_stored_forms_round_trip():
    times = [time(21), time(9, 5)]
    assert format_times(times) == "09:05,21:00"
    assert parse_times("09:05,21:00") == (time(9, 5), time(21))
    after = int(utc(2024, 6, 1, 12).timestamp())
    assert next_fire_ts("21:30", "Europe/Berlin", after) == int(utc(2024, 6, 1, 19, 30).timestamp())


# --- default times --------------------------------------------------------------------------


def test_default_times_from_default_schedule():
    assert default_times("hydration") == [time(h) for h in (8, 10, 12, 14, 16, 18, 20, 22)]
    assert default_times("stretching") == [time(22)]
    assert default_times("sleep") == [time(22, 30)]
    assert default_times("caffeine") == [time(15)]


def test_default_times_bed_after_midnight_wraps():
    wake, bed = time(9), time(1)
    assert default_times("hydration", wake, bed) == [
        time(0),
        time(10),
        time(12),
        time(14),
        time(16),
        time(18),
        time(20),
        time(22),
    ]
    assert default_times("stretching", wake, bed) == [time(0)]
    assert default_times("sleep", wake, bed) == [time(0, 30)]
    assert default_times("caffeine", wake, bed) == [time(17)]


def test_hydration_every_and_custom_first_time():
    assert default_times("hydration", every=3) == [time(8), time(11), time(14), time(17), time(20)]
    assert default_times("hydration", every=4, custom=time(9, 15)) == [
        time(9, 15),
        time(13, 15),
        time(17, 15),
        time(21, 15),
    ]
    # A first time after bed-1h still gives that one reminder.
    assert default_times("hydration", custom=time(22, 45)) == [time(22, 45)]


def test_custom_time_replaces_derived_time():
    assert default_times("sleep", custom=time(21, 45)) == [time(21, 45)]


# --- properties -----------------------------------------------------------------------------


@cache
def transitions(zone: ZoneInfo) -> list[datetime]:
    """UTC instants (to the hour) around which the zone's offset changed, 2015-2030."""
    out = []
    at = utc(2015, 1, 1)
    prev = at.astimezone(zone).utcoffset()
    while at < utc(2030, 1, 1):
        nxt = at + timedelta(hours=6)
        off = nxt.astimezone(zone).utcoffset()
        if off != prev:
            out.append(nxt)
            prev = off
        at = nxt
    return out or [utc(2024, 1, 1)]


minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
time_lists = st.lists(minute_times, min_size=1, max_size=5)


@st.composite
def zone_and_after(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        # Near a daylight-saving change, where the interesting cases are.
        base = draw(st.sampled_from(transitions(zone)))
        after = base + timedelta(seconds=draw(st.integers(-40 * 3600, 40 * 3600)))
    else:
        after = draw(
            st.datetimes(datetime(2000, 1, 1), datetime(2036, 1, 1), timezones=st.just(UTC))
        )
    return zone, after


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@settings(max_examples=400, deadline=None)
@given(zone_and_after(), time_lists)
def test_next_fire_properties(zone_after: tuple[ZoneInfo, datetime], times: list[time]):
    zone, after = zone_after
    result = next_fire(times, zone, after)
    assert result.tzinfo is UTC
    assert result > after
    local = result.astimezone(zone)
    if local.time() not in times:
        # Only allowed for a requested time skipped by a gap: the result is the first valid
        # instant after it, i.e. the moment the offset changed.
        before = result - timedelta(seconds=1)
        assert before.astimezone(zone).utcoffset() != local.utcoffset()
        assert any(
            not _exists(datetime.combine(day, t), zone)
            for t in times
            for day in (local.date(), local.date() - timedelta(days=1))
        )
    # Nothing fires strictly between ``after`` and the result.
    assert previous_fire(times, zone, result) == result
    assert previous_fire(times, zone, result - timedelta(seconds=1)) <= after


@settings(max_examples=200, deadline=None)
@given(zone_and_after(), time_lists)
def test_consecutive_fires_never_repeat_nor_skip_a_day(
    zone_after: tuple[ZoneInfo, datetime], times: list[time]
):
    zone, after = zone_after
    got = fires(times, zone, after, 6)
    assert all(a < b for a, b in zip(got, got[1:], strict=False))
    # With at least one time a day, fires are never more than a day (+ a DST shift) apart.
    assert all(b - a <= timedelta(hours=25) for a, b in zip(got, got[1:], strict=False))
    # Every requested wall time that exists on a day in the range is among the fires.
    first_day = got[0].astimezone(zone).date()
    last = got[-1]
    for offset in range(1, 3):
        day = first_day + timedelta(days=offset)
        for t in times:
            naive = datetime.combine(day, t)
            if _exists(naive, zone):
                instant = naive.replace(tzinfo=zone).astimezone(UTC)
                if instant <= last:
                    assert instant in got


@settings(max_examples=200, deadline=None)
@given(zone_and_after(), time_lists)
def test_one_fire_per_time_per_local_day(zone_after: tuple[ZoneInfo, datetime], times: list[time]):
    zone, after = zone_after
    got = fires(times, zone, after, 12)
    per_day: dict[object, int] = {}
    for instant in got:
        day = instant.astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert all(count <= len(set(times)) for count in per_day.values())
