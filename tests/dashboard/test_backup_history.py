"""The history page says how many reminders a restore from backup skipped (issue #18), as
``/remind stats`` does."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import DeliveryState, Reason
from tests.dashboard.rig import logged_in, page
from tests.reminder_rig import T0


async def test_history_counts_what_a_restore_skipped(client, emulator, alice, db):
    await logged_in(client, emulator, alice)
    assert "restored from backup" not in await page(client, "/history")
    at = int((T0 - timedelta(hours=3)).timestamp())
    await db.execute(
        "INSERT INTO deliveries (nonce, source, subscription_id, scheduled_at, kind, user_id, "
        "state, error, claimed_at, updated_at) VALUES ('s1.x', 'schedule', 1, ?, 'hydration', "
        "?, ?, ?, ?, ?)",
        (at, alice.id, DeliveryState.CANCELLED, Reason.RESTORED, at, at),
    )
    html = await page(client, "/history")
    assert "Not sent: restored from backup — 1 reminder that fell due" in html
