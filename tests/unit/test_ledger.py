"""Exactly once: the delivery ledger, nonces, and crashes at every point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.kinds import MEMBER_KINDS
from storage import ledger
from storage.ledger import Claimant
from testkit.fake_time import FakeClock
from tests.reminder_rig import T0, FakeDiscord, SimulatedCrash, make_rig, open_db, rows

USER = 42
DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)  # 22:30 Berlin: sleep wind-down


def test_nonces_are_deterministic_short_and_distinct():
    biggest = 2**63 - 1
    far = int(datetime(2099, 12, 31, tzinfo=UTC).timestamp())
    assert len(ledger.nonce_for_schedule(biggest, far)) <= 25
    assert len(ledger.nonce_for_test_send(biggest, far, "stretching")) <= 25
    assert len(ledger.nonce_for_snooze(biggest)) <= 25
    assert ledger.nonce_for_schedule(12, 1717446600) == ledger.nonce_for_schedule(12, 1717446600)
    samples = {
        ledger.nonce_for_schedule(1, 23),
        ledger.nonce_for_schedule(12, 3),
        ledger.nonce_for_schedule(1, 24),
        ledger.nonce_for_snooze(1),
        ledger.nonce_for_test_send(1, 23, "sleep"),
        ledger.nonce_for_test_send(1, 23, "hydration"),
    }
    assert len(samples) == 6
    codes = {ledger.kind_code(spec.kind) for spec in MEMBER_KINDS}
    assert len(codes) == len(MEMBER_KINDS), "two kinds' test sends in one second would clash"
    assert ledger.base36(0) == "0" and ledger.base36(35) == "z" and ledger.base36(36) == "10"


async def _subscribed_rig(db, clock, discord=None, users=(USER,)):
    """Members subscribed an hour before ``clock`` says, so their wind-down is due at DUE."""
    at = clock.now
    clock.now = DUE - timedelta(hours=1)
    rig = await make_rig(db, clock, discord)
    for user in users:
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "sleep")
    clock.now = at
    return rig


async def test_claim_then_send_then_record(db):
    rig = await _subscribed_rig(db, FakeClock(DUE))
    await rig.dispatcher.start()
    (claimed,) = await rows(db, "SELECT state, attempts FROM deliveries")
    assert claimed == ("claimed", 0)
    await rig.sender.run_pending()
    (sent,) = await rows(db, "SELECT state, attempts, channel_id, message_id FROM deliveries")
    assert sent[:3] == ("sent", 1, FakeDiscord.dm_channel_of(USER))
    assert sent[3] == rig.discord.messages[0].id


async def test_crash_between_send_and_record_resends_with_same_nonce_once(db, database_url):
    discord = FakeDiscord()
    rig = await _subscribed_rig(db, FakeClock(DUE), discord)
    await rig.dispatcher.start()
    discord.crash_after_next_send = True
    with pytest.raises(SimulatedCrash):
        await rig.sender.run_pending()
    assert await rows(db, "SELECT state FROM deliveries") == [("sending",)]
    assert len(discord.messages) == 1
    # kill -9, restart a minute later: a new process over the same file.
    await db.close()
    db2 = await open_db(database_url)
    rig2 = await make_rig(db2, FakeClock(DUE + timedelta(minutes=1)), discord)
    await rig2.dispatcher.start()
    await rig2.sender.run_pending()
    assert len(discord.messages) == 1  # Discord returned the first message for the nonce
    (row,) = await rows(db2, "SELECT state, message_id, attempts FROM deliveries")
    assert row == ("sent", discord.messages[0].id, 2)
    await db2.close()


async def test_in_flight_row_older_than_the_nonce_window_is_not_resent(db):
    discord = FakeDiscord()
    rig = await _subscribed_rig(db, FakeClock(DUE), discord)
    await rig.dispatcher.start()
    discord.crash_after_next_send = True
    with pytest.raises(SimulatedCrash):
        await rig.sender.run_pending()
    discord._by_nonce.clear()  # Discord forgot the nonce: a resend would duplicate
    rig2 = await make_rig(db, FakeClock(DUE + timedelta(minutes=20)), discord)
    await rig2.dispatcher.start()
    await rig2.sender.run_pending()
    assert len(discord.messages) == 1
    assert await rows(db, "SELECT state FROM deliveries") == [("unconfirmed",)]


async def test_claimed_but_never_sent_is_sent_after_restart(db):
    discord = FakeDiscord()
    rig = await _subscribed_rig(db, FakeClock(DUE), discord)
    await rig.dispatcher.start()  # claimed, then "killed" before any send
    rig2 = await make_rig(db, FakeClock(DUE + timedelta(minutes=5)), discord)
    await rig2.dispatcher.start()
    await rig2.sender.run_pending()
    assert len(discord.messages) == 1
    assert await rows(db, "SELECT state FROM deliveries") == [("sent",)]


async def test_kill_mid_burst_loses_none_and_doubles_none(db):
    discord = FakeDiscord()
    users = range(1000, 1050)
    rig = await _subscribed_rig(db, FakeClock(DUE), discord, users=users)
    await rig.dispatcher.start()
    assert rig.sender.backlog == 50
    # Send 20, then die right after Discord accepted the 21st.
    for _ in range(20):
        delivery = rig.sender.take_next()
        await rig.sender.deliver(delivery)
    discord.crash_after_next_send = True
    delivery = rig.sender.take_next()
    with pytest.raises(SimulatedCrash):
        await rig.sender.deliver(delivery)
    states = dict(await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert states == {"sent": 20, "sending": 1, "claimed": 29}
    # SQLite: the restarted process owns what the last run left at once. PostgreSQL:
    # other processes may share the database, so the dead one's leases must lapse first.
    after = timedelta(seconds=Claimant().lease_s + 1 if db.shared else 5)
    rig2 = await make_rig(db, FakeClock(DUE + after), discord)
    await rig2.dispatcher.start()
    await rig2.sender.run_pending()
    assert len(discord.messages) == 50
    assert sorted(m.channel_id for m in discord.messages) == [
        FakeDiscord.dm_channel_of(u) for u in users
    ]
    assert await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY state") == [("sent", 50)]


async def test_crash_inside_the_claim_transaction_leaves_the_row_due(db):
    rig = await _subscribed_rig(db, FakeClock(DUE))

    def exploding_plan(sub):
        raise SimulatedCrash()

    from storage import reminders

    with pytest.raises(SimulatedCrash):
        await reminders.claim_due(db, int(DUE.timestamp()), 10, exploding_plan, Claimant())
    assert await rows(db, "SELECT * FROM deliveries") == []
    (nxt,) = await rows(db, "SELECT next_fire_at FROM subscriptions")
    assert nxt[0] == int(DUE.timestamp())
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 1


async def test_outcome_rules(db):
    rig = await _subscribed_rig(db, FakeClock(DUE))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    (delivery_id,) = (await rows(db, "SELECT id FROM deliveries"))[0]
    assert await ledger.set_outcome(db, delivery_id, "snoozed", 1)
    assert await ledger.set_outcome(db, delivery_id, "done", 2)  # done wins
    assert not await ledger.set_outcome(db, delivery_id, "snoozed", 3)
    assert (await ledger.get(db, delivery_id)).outcome == "done"


async def test_prune_keeps_recent_and_pending_rows(db):
    rig = await _subscribed_rig(db, FakeClock(T0))
    await rig.run_until(T0 + timedelta(days=3))
    assert len(await rows(db, "SELECT * FROM deliveries")) == 3
    removed = await ledger.prune(db, int((T0 + timedelta(days=1, hours=12)).timestamp()))
    assert removed == 2
