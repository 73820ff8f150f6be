"""``/remind stats`` and the dashboard's history page: what a member did with their
reminders over the last 30 days.

Both read one count (:func:`count_days`), so the streak in ``/remind stats``, the totals
table and the chart can't disagree. The rule:

* a reminder counts on the member's **local day it was scheduled for** — a sleep reminder
  at 23:45 marked Done at 00:10 is that evening's habit, not the next day's;
* the window is the last ``days`` local days, today included;
* test sends (``/remind test``) never count;
* *sent* counts reminders that reached the member, *done* and *snoozed* the buttons pressed;
* *skipped* counts reminders the bot did not send because it was too busy to send them
  within their kind's tolerance ("skipped: too busy", issue #21) — shown as such, never as
  the member's own miss (it is not in *sent*, and a streak does not count it either way);
* a kind's *streak* is the run of consecutive days with a Done, ending today — or yesterday,
  while today's reminder may still be ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.clock import Clock, utc_now
from domain.enums import DeliveryState, Outcome, Reason, Source
from domain.kinds import MEMBER_KINDS
from domain.schedule import zone_or_utc
from services.fire_times import ts
from storage import ledger, members
from storage.database import Database
from storage.ledger import Delivery

STATS_DAYS = 30
#: How ``/remind stats`` and the history page name reminders skipped for capacity.
SKIPPED_TOO_BUSY = Reason.TOO_BUSY.value  # "skipped: too busy"
SKIPPED_NOTE = (
    "Skipped: too busy — the bot had more reminders due than Discord lets it send in time, "
    "so it skipped these rather than send them late. They don't count against you."
)


@dataclass(frozen=True)
class KindStats:
    kind: str
    sent: int
    done: int
    snoozed: int
    streak: int  # consecutive local days, up to today, with a Done
    restored: int = 0  # not sent: fell due between a backup's moment and its restore
    skipped: int = 0  # not sent: the bot was too busy (not the member's miss)


@dataclass(frozen=True)
class DayCounts:
    day: date  # the member's local date
    sent: int
    done: int
    snoozed: int
    skipped: int = 0


@dataclass
class Tally:
    """One kind's counts on one day."""

    sent: int = 0
    done: int = 0
    snoozed: int = 0
    restored: int = 0  # "not sent: restored from backup" (python -m bot restore)
    skipped: int = 0  # "skipped: too busy"


def skipped_too_busy(d: Delivery) -> bool:
    """Not sent because the bot was over capacity (the ledger's ``missed`` with
    ``Reason.TOO_BUSY``), as opposed to downtime or anything the member did."""
    return d.state == DeliveryState.MISSED and d.error == Reason.TOO_BUSY


def count_days(
    rows: Iterable[Delivery], zone: ZoneInfo, today: date, days: int
) -> dict[date, dict[str, Tally]]:
    """The one count: per local day of the window (oldest first), per kind (see the module)."""
    first = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, Tally]] = {
        first + timedelta(days=i): {spec.name: Tally() for spec in MEMBER_KINDS}
        for i in range(days)
    }
    for d in rows:
        if d.source == Source.TEST:
            continue
        day = datetime.fromtimestamp(d.scheduled_at, UTC).astimezone(zone).date()
        tally = counts.get(day, {}).get(d.kind)
        if tally is None:
            continue  # outside the window, or not a member's kind
        tally.sent += d.state == DeliveryState.SENT
        tally.done += d.outcome == Outcome.DONE
        tally.snoozed += d.outcome == Outcome.SNOOZED
        tally.restored += d.error == Reason.RESTORED
        tally.skipped += skipped_too_busy(d)
    return counts


def kind_stats(counts: dict[date, dict[str, Tally]], today: date) -> list[KindStats]:
    out = []
    for spec in MEMBER_KINDS:
        per_day = {day: kinds[spec.name] for day, kinds in counts.items()}
        day = today if per_day[today].done else today - timedelta(days=1)
        streak = 0
        while day in per_day and per_day[day].done:
            streak += 1
            day -= timedelta(days=1)
        out.append(
            KindStats(
                kind=spec.name,
                sent=sum(t.sent for t in per_day.values()),
                done=sum(t.done for t in per_day.values()),
                snoozed=sum(t.snoozed for t in per_day.values()),
                streak=streak,
                restored=sum(t.restored for t in per_day.values()),
                skipped=sum(t.skipped for t in per_day.values()),
            )
        )
    return out


def day_counts(counts: dict[date, dict[str, Tally]]) -> list[DayCounts]:
    return [
        DayCounts(
            day,
            sent=sum(t.sent for t in kinds.values()),
            done=sum(t.done for t in kinds.values()),
            snoozed=sum(t.snoozed for t in kinds.values()),
            skipped=sum(t.skipped for t in kinds.values()),
        )
        for day, kinds in counts.items()
    ]


class ReminderStats:
    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    async def _counts(self, user_id: int, days: int) -> tuple[dict[date, dict[str, Tally]], date]:
        now = self.clock()
        zone = zone_or_utc((await members.get_or_default(self.db, user_id)).timezone)
        today = now.astimezone(zone).date()
        # A day longer than the window, whatever the zone's offsets; count_days keeps the days.
        since = ts(now - timedelta(days=days + 1))
        rows = await ledger.for_user_since(self.db, user_id, since)
        return count_days(rows, zone, today, days), today

    async def stats(self, user_id: int, days: int = STATS_DAYS) -> list[KindStats]:
        """Sent / done / snoozed and the Done streak per kind (``/remind stats``, the totals)."""
        counts, today = await self._counts(user_id, days)
        return kind_stats(counts, today)

    async def daily_history(self, user_id: int, days: int = STATS_DAYS) -> list[DayCounts]:
        """The same counts per local day, oldest first (the dashboard's chart)."""
        counts, _ = await self._counts(user_id, days)
        return day_counts(counts)

    async def history(
        self, user_id: int, days: int = STATS_DAYS
    ) -> tuple[list[DayCounts], list[KindStats]]:
        """Both, from one read of the ledger (the dashboard's history page)."""
        counts, today = await self._counts(user_id, days)
        return day_counts(counts), kind_stats(counts, today)
