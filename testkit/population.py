"""The simulated day's population: members, their subscriptions and servers' daily tips.

Rows are what ``/remind`` and ``/config daily-tip`` would have written (same columns, times
from :func:`domain.schedule.default_times`), generated from a seeded random source so that
two runs — and two engines — get the same population, and written straight into storage
with storage's own writers (``insert_rows`` of :mod:`storage.members` and
:mod:`storage.reminders`, SQLite or PostgreSQL), so the columns written are storage's.

Two populations:

* ``realistic`` — time zones drawn from a weights file (``testkit/zone_weights.csv``,
  documented there, replaceable with ``--zones``); wake-up and bedtime: a share keeps the
  defaults (07:00 and 23:00), the rest spread around them (a normal spread, 15-minute steps);
  each kind subscribed by its share of members; a share of subscriptions with an explicit
  round ``time`` (the derived time rounded to the hour or the half hour); hydration every
  2 h mostly, some 1, 3 or 4 h; one server per ``members_per_server`` members, a share of
  them with a daily tip at a round local time. Every member's DM channel is known (as it is
  once a member has used a command in DMs or the bot opened it ahead), so a reminder is one
  request.
* ``worst`` — everyone in one zone with the default times: every kind's whole share due in
  the same minute.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from domain.enums import DeliveryMode
from domain.kinds import DEFAULT_BED, DEFAULT_EVERY_HOURS, DEFAULT_WAKE, ReminderKind
from domain.schedule import default_times, format_times, next_fire_ts
from storage import members as member_storage
from storage import reminders as subscription_storage
from storage.database import Database
from storage.ledger import nonce_for_schedule

ZONE_WEIGHTS = Path(__file__).with_name("zone_weights.csv")
USER_BASE = 400_000_000_000_000_000  # snowflake-sized ids
GUILD_BASE = 900_000_000_000_000_000
WORST_ZONE = "America/New_York"


@dataclass(frozen=True)
class Mix:
    """The knobs of the realistic population (the defaults are what docs/benchmarks.md ran)."""

    kind_shares: dict[str, float] = field(
        default_factory=lambda: {
            ReminderKind.HYDRATION: 0.55,
            ReminderKind.STRETCHING: 0.30,
            ReminderKind.SLEEP: 0.45,
            ReminderKind.CAFFEINE: 0.30,
        }
    )
    default_schedule_share: float = 0.45  # keep 07:00 / 23:00
    spread_sd_minutes: float = 60.0  # the others: normal around the defaults
    round_time_share: float = 0.25  # subscriptions with an explicit round `time`
    every_shares: dict[int, float] = field(
        default_factory=lambda: {2: 0.75, 1: 0.05, 3: 0.12, 4: 0.08}
    )
    members_per_server: int = 250
    daily_tip_share: float = 0.4  # of servers
    tip_hours: tuple[int, ...] = (8, 9, 9, 9, 10, 12, 18)  # local hour of a server's tip


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    kind: str
    user_id: int | None
    guild_id: int | None
    channel_id: int | None
    times: str
    custom_time: str | None
    every_hours: int | None
    zone: str


@dataclass
class Population:
    name: str
    members: list[tuple[int, str, str, str]]  # user_id, zone, wake, bed
    subscriptions: list[SubscriptionRow]

    @property
    def servers(self) -> int:
        return sum(1 for s in self.subscriptions if s.user_id is None)

    def occurrences(self, start: int, end: int) -> Iterator[tuple[str, str, int]]:
        """``(nonce, kind, due)`` of every scheduled occurrence due in ``[start, end)``."""
        for sub in self.subscriptions:
            due = next_fire_ts(sub.times, sub.zone, start - 1)
            while due < end:
                yield nonce_for_schedule(sub.id, due), sub.kind, due
                due = next_fire_ts(sub.times, sub.zone, due)

    async def write(self, db: Database, as_of: int) -> None:
        """Insert the rows into a migrated, empty database, each subscription due next after
        ``as_of`` (as the running bot would have left it)."""
        chunk = 20_000
        for i in range(0, len(self.members), chunk):
            async with db.transaction() as tx:
                await member_storage.insert_rows(
                    tx,
                    [
                        member_storage.Member(
                            user_id=user_id,
                            timezone=zone,
                            wake=time.fromisoformat(wake),
                            bed=time.fromisoformat(bed),
                            delivery=DeliveryMode.DM,
                            dm_channel_id=user_id + 1,
                            created_at=as_of,
                            updated_at=as_of,
                        )
                        for user_id, zone, wake, bed in self.members[i : i + chunk]
                    ],
                )
        for i in range(0, len(self.subscriptions), chunk):
            async with db.transaction() as tx:
                await subscription_storage.insert_rows(
                    tx,
                    [
                        subscription_storage.Subscription(
                            id=s.id,
                            kind=s.kind,
                            user_id=s.user_id,
                            guild_id=s.guild_id,
                            channel_id=s.channel_id,
                            times=s.times,
                            custom_time=s.custom_time,
                            every_hours=s.every_hours,
                            zone=s.zone,
                            next_fire_at=next_fire_ts(s.times, s.zone, as_of),
                            active=True,
                            paused_reason=None,
                            created_at=as_of,
                            updated_at=as_of,
                        )
                        for s in self.subscriptions[i : i + chunk]
                    ],
                )
        if db.dialect == "postgresql":
            await db.fetchval(
                "SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), "
                "(SELECT max(id) FROM subscriptions))"
            )
            await db.execute("ANALYZE")
        else:
            await db.execute("ANALYZE")


def read_zone_weights(path: Path = ZONE_WEIGHTS) -> list[tuple[str, float]]:
    """``(zone, weight)`` from a weights file (format: see ``testkit/zone_weights.csv``)."""
    rows: list[tuple[str, float]] = []
    with path.open(encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip() and not line.lstrip().startswith("#"))
        for record in csv.reader(lines):
            if record[0].strip() == "zone":
                continue  # the header
            zone, weight = record[0].strip(), float(record[1])
            if weight > 0:
                rows.append((zone, weight))
    if not rows:
        raise ValueError(f"{path}: no zone with a positive weight")
    return rows


def _minutes_to_time(minutes: int) -> time:
    minutes %= 24 * 60
    return time(minutes // 60, minutes % 60)


def _spread(rng: random.Random, center: time, sd: float) -> time:
    """A time around ``center``: normal with ``sd`` minutes, in 15-minute steps, ±3 h."""
    offset = max(-180.0, min(180.0, rng.gauss(0.0, sd)))
    return _minutes_to_time(center.hour * 60 + center.minute + 15 * round(offset / 15))


def _round(t: time, rng: random.Random) -> time:
    """The time a member rounding it would pick: the nearest hour, or the nearest half hour."""
    step = 60 if rng.random() < 0.7 else 30
    minutes = t.hour * 60 + t.minute
    return _minutes_to_time(step * round(minutes / step))


def _pick(rng: random.Random, weights: dict[int, float]) -> int:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def realistic(
    members: int, *, zones: list[tuple[str, float]] | None = None, mix: Mix | None = None,
    seed: int = 21,
) -> Population:  # fmt: skip
    mix = mix or Mix()
    zones = zones or read_zone_weights()
    rng = random.Random(seed)
    names = [z for z, _ in zones]
    weights = [w for _, w in zones]
    member_rows: list[tuple[int, str, str, str]] = []
    subs: list[SubscriptionRow] = []
    for i in range(members):
        user_id = USER_BASE + i
        zone = rng.choices(names, weights=weights)[0]
        if rng.random() < mix.default_schedule_share:
            wake, bed = DEFAULT_WAKE, DEFAULT_BED
        else:
            wake = _spread(rng, DEFAULT_WAKE, mix.spread_sd_minutes)
            bed = _spread(rng, DEFAULT_BED, mix.spread_sd_minutes)
        member_rows.append((user_id, zone, wake.strftime("%H:%M"), bed.strftime("%H:%M")))
        for kind, share in mix.kind_shares.items():
            if rng.random() >= share:
                continue
            every = None
            if kind == ReminderKind.HYDRATION:
                chosen = _pick(rng, mix.every_shares)
                every = chosen if chosen != DEFAULT_EVERY_HOURS else None
            custom = None
            if rng.random() < mix.round_time_share:
                custom = _round(default_times(kind, wake, bed, every)[0], rng)
            times = default_times(kind, wake, bed, every, custom)
            subs.append(
                SubscriptionRow(
                    id=len(subs) + 1,
                    kind=kind,
                    user_id=user_id,
                    guild_id=None,
                    channel_id=None,
                    times=format_times(times),
                    custom_time=custom.strftime("%H:%M") if custom else None,
                    every_hours=every,
                    zone=zone,
                )
            )
    servers = max(1, members // mix.members_per_server)
    for g in range(servers):
        zone = rng.choices(names, weights=weights)[0]
        if rng.random() >= mix.daily_tip_share:
            continue
        guild_id = GUILD_BASE + g
        at = time(rng.choice(mix.tip_hours), 0)
        subs.append(
            SubscriptionRow(
                id=len(subs) + 1,
                kind=ReminderKind.DAILY_TIP,
                user_id=None,
                guild_id=guild_id,
                channel_id=guild_id + 1,
                times=format_times([at]),
                custom_time=None,
                every_hours=None,
                zone=zone,
            )
        )
    return Population("realistic", member_rows, subs)


def worst(members: int, *, mix: Mix | None = None, seed: int = 21) -> Population:
    """Everyone in one zone with the default times; each kind by its share."""
    mix = mix or Mix()
    rng = random.Random(seed)
    member_rows: list[tuple[int, str, str, str]] = []
    subs: list[SubscriptionRow] = []
    wake, bed = DEFAULT_WAKE.strftime("%H:%M"), DEFAULT_BED.strftime("%H:%M")
    for i in range(members):
        user_id = USER_BASE + i
        member_rows.append((user_id, WORST_ZONE, wake, bed))
        for kind, share in mix.kind_shares.items():
            if rng.random() >= share:
                continue
            subs.append(
                SubscriptionRow(
                    id=len(subs) + 1,
                    kind=kind,
                    user_id=user_id,
                    guild_id=None,
                    channel_id=None,
                    times=format_times(default_times(kind)),
                    custom_time=None,
                    every_hours=None,
                    zone=WORST_ZONE,
                )
            )
    return Population("worst", member_rows, subs)
