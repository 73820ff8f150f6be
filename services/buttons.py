"""What a reminder's Done, Snooze and Stop buttons do. Only the member the reminder is for
may press them: a reminder posted in a server channel is visible to everyone there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain.clock import Clock, utc_now
from domain.enums import Outcome
from domain.errors import UserFacingError
from domain.schedule import zone_or_utc
from domain.timeparse import parse_snooze_minutes
from services.fire_times import ts
from services.reminders import Stopped
from storage import ledger, members, reminders
from storage.database import Database
from storage.ledger import Delivery


class ReminderButtons:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.on_change = on_change

    async def _owned_delivery(self, delivery_id: int, user_id: int) -> Delivery:
        delivery = await ledger.get(self.db, delivery_id)
        if delivery is None:
            raise UserFacingError("This reminder is no longer on record.")
        if delivery.user_id != user_id:
            raise UserFacingError("This reminder belongs to someone else.")
        return delivery

    async def mark_done(self, delivery_id: int, user_id: int) -> Delivery | None:
        """Done: counts toward stats (test sends excepted). None if it was already done."""
        delivery = await self._owned_delivery(delivery_id, user_id)
        if await ledger.set_outcome(self.db, delivery_id, Outcome.DONE, ts(self.clock())):
            return delivery
        return None

    async def snooze(self, delivery_id: int, user_id: int, minutes: int = 30) -> datetime:
        """Snooze: one extra reminder ``minutes`` later, stored so it survives a restart.

        Idempotent per reminder: a second click returns the first snooze's time.
        """
        minutes = parse_snooze_minutes(minutes)
        delivery = await self._owned_delivery(delivery_id, user_id)
        if (
            delivery.subscription_id is not None
            and await reminders.get(self.db, delivery.subscription_id) is None
        ):
            # Stop was pressed (or /remind stop used) since: a snooze would bring it back once.
            raise UserFacingError(
                "You stopped these reminders, so there is nothing to snooze. "
                "Start them again with `/remind start`."
            )
        now = self.clock()
        snooze = await reminders.add_snooze(
            self.db,
            from_delivery=delivery,
            fire_at=ts(now + timedelta(minutes=minutes)),
            now=ts(now),
        )
        await ledger.set_outcome(self.db, delivery_id, Outcome.SNOOZED, ts(now))
        self.on_change()
        member = await members.get_or_default(self.db, user_id)
        zone = zone_or_utc(member.timezone)
        return datetime.fromtimestamp(snooze.fire_at, UTC).astimezone(zone)

    async def stop(self, delivery_id: int, user_id: int) -> Stopped:
        """Stop: unsubscribe from the kind of this reminder."""
        delivery = await self._owned_delivery(delivery_id, user_id)
        removed = await reminders.delete_member_subscriptions(self.db, user_id, delivery.kind)
        if removed:
            self.on_change()
        return Stopped(delivery.kind, removed)
