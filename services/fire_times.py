"""When a member's reminders fire next: the one rule every reminder service uses.

A reminder fires at the first of its local times after now — or, while the member's reminders
are paused, after the pause ends (nothing is recorded for the paused days). A member
subscription's times follow the member's wake-up time and bedtime unless the member chose a
time; a server's daily tip keeps its stored time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from domain.kinds import ReminderKind
from domain.schedule import default_times, format_times, next_fire, parse_times, zone_named
from storage import reminders
from storage.database import Database
from storage.members import Member
from storage.reminders import Reschedule, Subscription


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def fire_after(member: Member, now: datetime) -> datetime:
    """Fire times are computed after now, or after the end of a pause."""
    if member.paused_until is not None and member.paused_until > ts(now):
        return datetime.fromtimestamp(member.paused_until, UTC)
    return now


def next_fire_at(times: Sequence[time], zone: str, member: Member, now: datetime) -> int:
    """The next fire (a stored timestamp) of ``times``, local to ``zone``, for ``member``."""
    return ts(next_fire(list(times), zone_named(zone), fire_after(member, now)))


def times_for(sub: Subscription, member: Member) -> list[time]:
    """The local times ``sub`` fires at with the member's schedule as it is now."""
    if sub.kind == ReminderKind.DAILY_TIP:
        return list(parse_times(sub.times))
    custom = time.fromisoformat(sub.custom_time) if sub.custom_time else None
    return default_times(sub.kind, member.wake, member.bed, sub.every_hours, custom)


@dataclass(frozen=True)
class Replanned:
    subscription: Subscription  # as stored
    times: list[time]
    zone: str
    next_fire_at: int | None  # None while the subscription is paused (DMs closed…)


def replan(
    subs: Sequence[Subscription], member: Member, now: datetime, zone: str | None = None
) -> list[Replanned]:
    """Times and next fire of ``subs`` re-derived from ``member`` (in ``zone``, if it moves)."""
    out = []
    for sub in subs:
        where = zone or sub.zone
        times = times_for(sub, member)
        nxt = next_fire_at(times, where, member, now) if sub.active else None
        out.append(Replanned(sub, times, where, nxt))
    return out


async def reschedule_member(
    db: Database, member: Member, now: datetime, zone: str | None = None
) -> None:
    """Store the re-derived times and next fire of all the member's subscriptions."""
    plans = replan(await reminders.for_member(db, member.user_id), member, now, zone)
    changes = [
        Reschedule(p.subscription.id, format_times(p.times), p.zone, p.next_fire_at) for p in plans
    ]
    await reminders.reschedule(db, changes, ts(now))
