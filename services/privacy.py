"""``/privacy export`` and ``/privacy delete`` (and the dashboard's privacy page): everything
Steady stores about a member, out or gone."""

from __future__ import annotations

from collections.abc import Callable

from domain.clock import Clock, utc_now
from storage import ledger, members, reminders
from storage.database import Database


class Privacy:
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

    async def export(self, user_id: int) -> dict[str, object]:
        """Everything stored about the member, JSON-ready."""
        member = await members.get(self.db, user_id)
        subs = await reminders.for_member(self.db, user_id)
        snoozes = await reminders.snoozes_for_member(self.db, user_id)
        deliveries = await ledger.for_user_since(self.db, user_id, 0)
        return {
            "user_id": str(user_id),
            "exported_at": self.clock().isoformat(),
            "settings": members.as_export(member) if member else None,
            "subscriptions": [reminders.as_export(s) for s in subs],
            "snoozes": [{"kind": s.kind, "fire_at": s.fire_at} for s in snoozes],
            "deliveries": [ledger.as_export(d) for d in deliveries],
        }

    async def delete_all(self, user_id: int) -> None:
        """Settings, caches, subscriptions, snoozes, ledger and dashboard sessions, at once
        (one transaction): the member is logged out of the dashboard in every browser."""
        await reminders.delete_member_data(self.db, user_id, int(self.clock().timestamp()))
        self.on_change()
