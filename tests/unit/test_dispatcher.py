"""The dispatcher: claims, downtime catch-up, backpressure, wake planning, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from testkit.fake_time import FakeClock
from tests.reminder_rig import T0, FakeDiscord, make_rig, open_db, rows

USER = 42


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


async def subscribe(rig, kind: str = "sleep", user: int = USER, zone: str = "Europe/Berlin", **kw):
    await rig.member_settings.set_timezone(user, zone)
    return await rig.subscriptions.start(user, None, kind, **kw)


async def test_due_subscription_is_claimed_sent_and_advanced(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)  # 22:30 Berlin = 20:30 UTC
    await rig.dispatcher.start()
    assert rig.discord.messages == []
    rig.clock.now = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)
    await rig.run()
    assert len(rig.discord.messages) == 1
    (row,) = await rows(db, "SELECT state, nonce, scheduled_at, via FROM deliveries")
    assert row[0] == "sent" and row[2] == ts(rig.clock.now) and row[3] == "dm"
    assert rig.discord.messages[0].nonce == row[1]
    (nxt,) = await rows(db, "SELECT next_fire_at FROM subscriptions")
    assert nxt[0] == ts(datetime(2024, 6, 4, 20, 30, tzinfo=UTC))


async def test_wake_is_planned_just_before_earliest_due_but_never_beyond_30s(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig, user=1)  # before start(): poke is a no-op
    await rig.subscriptions.stop(1, "all")
    assert rig.waker.wakes == []
    await rig.dispatcher.start()
    assert rig.waker.wakes == [T0 + timedelta(seconds=30)]  # nothing due: the 30 s cap
    await subscribe(rig)
    assert rig.waker.wakes[-1] == T0  # poke re-plans now
    rig.clock.now = datetime(2024, 6, 3, 20, 30, 10, tzinfo=UTC) - timedelta(seconds=20)
    await rig.dispatcher.tick()
    # Prepared: claimed a few seconds ahead and held in the sender until its second.
    prepare = timedelta(seconds=rig.dispatcher.policy.prepare_s)
    assert rig.dispatcher.next_wake == datetime(2024, 6, 3, 20, 30, tzinfo=UTC) - prepare


async def test_downtime_within_grace_fires_late_once(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)
    # The bot was down from before 20:30 UTC and comes back 20 minutes late.
    rig = await make_rig(db, FakeClock(datetime(2024, 6, 3, 20, 50, tzinfo=UTC)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 1
    (row,) = await rows(db, "SELECT state, scheduled_at FROM deliveries")
    assert row == ("sent", ts(datetime(2024, 6, 3, 20, 30, tzinfo=UTC)))


async def test_downtime_beyond_grace_is_recorded_missed_not_sent(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)
    await subscribe(rig, "caffeine", user=43, time_text="22:00")  # grace 60 min
    rig = await make_rig(db, FakeClock(datetime(2024, 6, 3, 21, 15, tzinfo=UTC)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    # sleep 20:30 UTC is 45 min late (> 30): missed. caffeine 20:00 UTC is 75 min late: missed.
    assert rig.discord.messages == []
    states = await rows(db, "SELECT kind, state FROM deliveries ORDER BY kind")
    assert states == [("caffeine", "missed"), ("sleep", "missed")]
    nxt = await rows(db, "SELECT next_fire_at > ? FROM subscriptions", ts(rig.clock.now))
    assert nxt == [(1,), (1,)]


async def test_caffeine_has_a_longer_grace(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig, "caffeine", time_text="22:00")  # 20:00 UTC
    rig = await make_rig(db, FakeClock(datetime(2024, 6, 3, 20, 45, tzinfo=UTC)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 1


async def test_at_most_one_catch_up_per_subscription(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig, "hydration", every=1)  # hourly 08:00-22:00 Berlin
    # Down from 10:00 UTC to 15:10 UTC: 12:00..17:00 Berlin passed, 17:00 only 10 min ago.
    rig = await make_rig(db, FakeClock(datetime(2024, 6, 3, 15, 10, tzinfo=UTC)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert len(rig.discord.messages) == 1
    (row,) = await rows(db, "SELECT scheduled_at, state FROM deliveries")
    assert row == (ts(datetime(2024, 6, 3, 15, 0, tzinfo=UTC)), "sent")
    (nxt,) = await rows(db, "SELECT next_fire_at FROM subscriptions")
    assert nxt[0] == ts(datetime(2024, 6, 3, 16, 0, tzinfo=UTC))


async def test_no_burst_after_a_long_outage(db):
    rig = await make_rig(db, FakeClock(T0))
    for user in range(100, 160):
        await subscribe(rig, "hydration", user=user)
    rig = await make_rig(db, FakeClock(T0 + timedelta(days=3, minutes=45)))
    await rig.dispatcher.start()
    await rig.sender.run_pending()
    assert rig.discord.messages == []
    # One "missed" record per subscription, not one per missed instant.
    assert await rows(db, "SELECT count(*), count(DISTINCT subscription_id) FROM deliveries") == [
        (60, 60)
    ]


async def test_backpressure_claims_in_batches_earliest_first(db):
    rig = await make_rig(db, FakeClock(T0), max_backlog=10)
    zones = ["Asia/Kolkata", "Europe/Berlin", "America/New_York"]
    for i in range(25):
        await subscribe(rig, "sleep", user=200 + i, zone=zones[i % 3], time_text="23:30")
    await rig.dispatcher.start()
    # Run past all three zones' 23:30, only ever holding 10 in the sender.
    until = datetime(2024, 6, 4, 4, 0, tzinfo=UTC)
    while rig.clock.now < until:
        rig.clock.advance(60)
        await rig.dispatcher.tick()
        assert rig.sender.backlog <= 10
        await rig.sender.run_pending()
    assert len(rig.discord.messages) == 25
    assert len({m.nonce for m in rig.discord.messages}) == 25
    scheduled = [
        r[0] for r in await rows(db, "SELECT scheduled_at FROM deliveries ORDER BY sent_at, id")
    ]
    assert scheduled == sorted(scheduled)


async def test_backlog_full_plans_a_short_retry(db):
    rig = await make_rig(db, FakeClock(T0), max_backlog=2)
    for i in range(5):
        await subscribe(rig, "sleep", user=300 + i)
    rig.clock.now = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)
    await rig.dispatcher.start()
    assert rig.sender.backlog == 2
    assert rig.dispatcher.next_wake == rig.clock.now + timedelta(seconds=1)
    await rig.sender.run_pending()
    rig.clock.advance(1)
    await rig.run()
    await rig.run()
    assert len(rig.discord.messages) == 5  # late by seconds, never dropped


async def test_clock_jump_is_treated_like_downtime(db):
    rig = await make_rig(db, FakeClock(T0), clock_jump=timedelta(seconds=90))
    await subscribe(rig)
    await rig.dispatcher.start()
    # The machine sleeps through 20:30 UTC and wakes at 22:00 UTC: the dispatcher notices.
    rig.clock.now = datetime(2024, 6, 3, 22, 0, tzinfo=UTC)
    await rig.run()
    assert rig.discord.messages == []
    assert await rows(db, "SELECT state FROM deliveries") == [("missed",)]


async def test_snooze_survives_a_restart(db, database_url):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)
    await rig.dispatcher.start()
    await rig.run_until(datetime(2024, 6, 3, 20, 30, tzinfo=UTC))
    (delivery_id,) = (await rows(db, "SELECT id FROM deliveries"))[0]
    await rig.buttons.snooze(delivery_id, USER)
    # Restart: a new engine over the same database file.
    await db.close()
    db2 = await open_db(database_url)
    discord = rig.discord
    rig2 = await make_rig(db2, FakeClock(datetime(2024, 6, 3, 20, 45, tzinfo=UTC)), discord)
    await rig2.dispatcher.start()
    await rig2.run_until(datetime(2024, 6, 3, 21, 5, tzinfo=UTC))
    assert len(discord.messages) == 2
    snoozed = await rows(db2, "SELECT source, scheduled_at, state FROM deliveries ORDER BY id")
    assert snoozed[1] == ("snooze", ts(datetime(2024, 6, 3, 21, 0, tzinfo=UTC)), "sent")
    assert await rows(db2, "SELECT * FROM snoozes") == []
    await db2.close()


async def test_paused_member_gets_nothing_until_the_pause_ends(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)
    await rig.member_settings.pause(USER, 2)
    await rig.dispatcher.start()
    await rig.run_until(T0 + timedelta(days=2, hours=12))
    # 3rd and 4th June paused; 5th June 22:30 is after the pause ended at 12:00.
    sent = await rows(db, "SELECT scheduled_at FROM deliveries WHERE state = 'sent'")
    assert sent == [(ts(datetime(2024, 6, 5, 20, 30, tzinfo=UTC)),)]


async def test_an_unusable_row_is_deactivated_and_does_not_stall_others(db):
    rig = await make_rig(db, FakeClock(T0))
    await subscribe(rig)
    await subscribe(rig, user=43)
    await db.execute("UPDATE subscriptions SET zone = 'Mars/Olympus' WHERE user_id = 43")
    await rig.dispatcher.start()
    await rig.run_until(datetime(2024, 6, 3, 20, 31, tzinfo=UTC))
    assert len(rig.discord.messages) == 1
    assert await rows(db, "SELECT active, paused_reason FROM subscriptions WHERE user_id = 43") == [
        (0, "invalid schedule")
    ]


async def test_two_dispatchers_never_claim_the_same_occurrence(db):
    discord = FakeDiscord()
    a = await make_rig(db, FakeClock(T0), discord)
    for i in range(20):
        await subscribe(a, user=400 + i)
    b = await make_rig(db, a.clock, discord)
    a.clock.now = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)
    await a.dispatcher.start()
    await b.dispatcher.start()
    await a.sender.run_pending()
    await b.sender.run_pending()
    assert len(discord.messages) == 20


async def test_apscheduler_wakes_the_dispatcher(db):
    """Wiring through a real AsyncIOScheduler, with the real clock (due immediately)."""
    import asyncio

    from bot.compose import build_core
    from tests.reminder_rig import CONTENT

    discord = FakeDiscord()
    core = build_core(db, CONTENT, discord)
    engine = core.engine
    await core.services.member_settings.set_timezone(USER, "UTC")
    await core.services.subscriptions.start(USER, None, "sleep")
    await db.execute("UPDATE subscriptions SET next_fire_at = ?", (ts(datetime.now(UTC)) + 1,))
    await engine.start()
    try:
        for _ in range(300):
            if discord.messages:
                break
            await asyncio.sleep(0.01)
        assert len(discord.messages) == 1
        # The sent message can arrive before the tick that claimed it has planned the next
        # wake-up (the date job that fired is gone until then): wait for the tick to end.
        for _ in range(300):
            if engine.scheduler.get_job("steady-reminder-dispatcher") is not None:
                break
            await asyncio.sleep(0.01)
        assert engine.dispatcher.next_wake is not None
        assert engine.scheduler.get_job("steady-reminder-dispatcher") is not None
    finally:
        await engine.stop()
    assert not engine.scheduler.running
