"""Several processes, one database: claims, leases, take-over, wake-ups across processes.

Each "process" is a rig (sender + dispatcher + service) with its own connection pool to one
PostgreSQL database, exactly as separate bot processes have. (A SQLite file has one bot
process; its restart after a crash is tested in test_ledger and test_dispatcher.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.compose import build_core
from services.ratelimit import SlotPacer
from storage.database import Database
from storage.ledger import Claimant
from testkit.fake_time import FakeClock
from tests.reminder_rig import (
    CONTENT,
    FakeDiscord,
    RecordingWaker,
    Rig,
    SimulatedCrash,
    make_rig,
    open_db,
    rows,
)

DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)  # 22:30 Berlin: sleep wind-down
LEASE = Claimant().lease_s


@pytest.fixture
async def databases(postgres_url):
    """Open connections ("processes") to one migrated database; all closed at the end."""
    opened: list[Database] = []

    async def connect() -> Database:
        db = await open_db(postgres_url)
        opened.append(db)
        return db

    yield connect
    for db in opened:
        await db.close()


async def subscribe_members(rig: Rig, users: range) -> None:
    """Members subscribed an hour before DUE to their 22:30 Berlin wind-down."""
    at = rig.clock.now
    rig.clock.now = DUE - timedelta(hours=1)
    for user in users:
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "sleep")
    rig.clock.now = at


async def test_processes_claiming_at_once_never_claim_the_same_occurrence(databases):
    discord = FakeDiscord()
    rigs = [await make_rig(await databases(), FakeClock(DUE), discord) for _ in range(3)]
    for rig in rigs:
        rig.dispatcher.batch = 20  # many small claims, interleaved across the processes
    await subscribe_members(rigs[0], range(1000, 1300))

    await asyncio.gather(*(rig.dispatcher.start() for rig in rigs))

    held = [d for rig in rigs for d in rig.sender.queued()]
    assert len(held) == 300
    assert len({d.nonce for d in held}) == 300, "an occurrence was claimed twice"
    owners = Counter(d.claimed_by for d in held)
    assert set(owners) <= {rig.sender.claimant.name for rig in rigs}
    await asyncio.gather(*(rig.sender.run_pending() for rig in rigs))
    assert len(discord.messages) == 300
    assert len({m.channel_id for m in discord.messages}) == 300


async def _kill_mid_burst(databases, discord: FakeDiscord) -> Rig:
    """Process A claims 50 occurrences, sends 20 and dies (-9) right after Discord accepted
    the 21st, before recording it."""
    a = await make_rig(await databases(), FakeClock(DUE), discord)
    await subscribe_members(a, range(1000, 1050))
    await a.dispatcher.start()
    assert a.sender.backlog == 50
    for _ in range(20):
        delivery = a.sender.take_next()
        await a.sender.deliver(delivery)
    discord.crash_after_next_send = True
    delivery = a.sender.take_next()
    with pytest.raises(SimulatedCrash):
        await a.sender.deliver(delivery)
    return a


async def test_a_killed_process_claims_are_sent_by_another_after_the_lease_once(databases):
    discord = FakeDiscord()
    b = await make_rig(await databases(), FakeClock(DUE), discord)
    await b.dispatcher.start()
    a = await _kill_mid_burst(databases, discord)
    db = b.db

    b.clock.now = DUE + timedelta(seconds=LEASE - 5)
    await b.run()
    assert len(discord.messages) == 21, "taken over while the lease still held"
    assert b.dispatcher.next_wake is not None
    assert b.dispatcher.next_wake <= DUE + timedelta(seconds=LEASE + 1), "wakes when it lapses"

    b.clock.now = DUE + timedelta(seconds=LEASE + 1)
    await b.run()
    assert len(discord.messages) == 50  # the 21st was resent with its nonce: deduplicated
    assert sorted(m.channel_id for m in discord.messages) == sorted(
        FakeDiscord.dm_channel_of(u) for u in range(1000, 1050)
    )
    states = await rows(db, "SELECT state, claimed_by, count(*) FROM deliveries GROUP BY 1, 2")
    assert sorted(states) == sorted(
        [("sent", a.sender.claimant.name, 20), ("sent", b.sender.claimant.name, 30)]
    )


async def test_a_living_process_keeps_its_claims_however_long_its_queue(databases):
    discord = FakeDiscord()
    a = await make_rig(await databases(), FakeClock(DUE), discord)
    b = await make_rig(await databases(), FakeClock(DUE), discord)
    await subscribe_members(a, range(1000, 1050))
    await a.dispatcher.start()
    await b.dispatcher.start()
    assert a.sender.backlog == 50
    for seconds in range(5, 4 * LEASE, 5):  # A's wake-ups while its queue drains slowly
        a.clock.now = b.clock.now = DUE + timedelta(seconds=seconds)
        assert a.dispatcher.next_wake is not None
        assert a.dispatcher.next_wake <= a.clock.now + timedelta(seconds=LEASE / 3)
        await a.dispatcher.tick()
        await b.dispatcher.tick()
        assert b.sender.backlog == 0, f"B took over A's claims at +{seconds}s"
    await a.sender.run_pending()
    assert len(discord.messages) == 50


async def test_an_engine_claims_with_the_lease_it_is_given(databases):
    """``CLAIM_LEASE_S`` (the engine's ``lease_s``): its claims hold that long unrenewed, and
    its dispatcher wakes to renew them every third of it."""
    clock = FakeClock(DUE)
    db = await databases()
    await subscribe_members(await make_rig(db, clock), range(1000, 1003))
    engine = build_core(
        db, CONTENT, FakeDiscord(), waker=RecordingWaker(), clock=clock, lease_s=12
    ).engine
    await engine.dispatcher.start()
    assert engine.sender.backlog == 3
    assert await rows(db, "SELECT DISTINCT lease_until FROM deliveries") == [
        (int(DUE.timestamp()) + 12,)
    ]
    assert engine.dispatcher.next_wake is not None
    assert engine.dispatcher.next_wake <= DUE + timedelta(seconds=4)


async def test_a_stalled_process_does_not_send_what_another_took_over(databases):
    discord = FakeDiscord()
    a = await make_rig(await databases(), FakeClock(DUE), discord)
    await subscribe_members(a, range(1000, 1001))
    await a.dispatcher.start()
    [stalled] = a.sender.queued()

    # A freezes (a long GC pause, a paused VM) past its lease; B takes the row and sends it.
    b = await make_rig(await databases(), FakeClock(DUE + timedelta(seconds=LEASE + 1)), discord)
    await b.dispatcher.start()
    await b.sender.run_pending()
    assert len(discord.messages) == 1

    a.clock.now = b.clock.now
    result = await a.sender.deliver(stalled)
    assert result.state == "taken over"
    assert len(discord.messages) == 1
    assert await rows(b.db, "SELECT state, claimed_by FROM deliveries") == [
        ("sent", b.sender.claimant.name)
    ]


async def test_a_clean_stop_hands_the_queue_to_the_others_at_once(databases):
    discord = FakeDiscord(limiter=SlotPacer(1.0))  # A gets one request a second, real time
    clock = FakeClock(DUE)
    a_db = await databases()
    a = build_core(a_db, CONTENT, discord, waker=RecordingWaker(), clock=clock).engine
    await subscribe_members(await make_rig(a_db, clock, discord), range(1000, 1040))
    await a.start()
    await a.stop(grace_seconds=0.5)  # SIGTERM while most are still queued
    sent_by_a = len(discord.messages)
    assert sent_by_a < 40

    discord.limiter = None  # B paces on its own fake clock (make_rig)
    b = await make_rig(await databases(), FakeClock(DUE + timedelta(seconds=1)), discord)
    await b.dispatcher.start()  # well within A's lease: released, not lapsed
    await b.sender.run_pending()
    assert len(discord.messages) == 40
    assert len({m.nonce for m in discord.messages}) == 40


async def listening(db: Database, count: int) -> None:
    """Wait until ``count`` connections LISTEN on this database: a dispatcher's listener
    connects in the background after ``start()``, and a change made before it listens is not
    heard by it (its next planned look finds it instead)."""
    for _ in range(1000):
        listeners = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        )
        if listeners >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} listeners expected, {listeners} listening")


async def test_a_change_in_one_process_wakes_the_dispatcher_of_another(databases):
    a = await make_rig(await databases(), FakeClock(DUE))
    b = await make_rig(await databases(), FakeClock(DUE))
    await a.dispatcher.start()
    await b.dispatcher.start()
    await listening(b.db, 2)
    wakes_before = len(b.waker.wakes)

    await subscribe_members(a, range(1000, 1001))  # /remind start through process A

    for _ in range(100):  # within a second
        if len(b.waker.wakes) > wakes_before:
            break
        await asyncio.sleep(0.01)
    assert len(b.waker.wakes) > wakes_before, "B's dispatcher was not woken"
    assert b.waker.wakes[-1] == b.clock.now  # woken to look now


async def test_a_tick_while_postgresql_is_down_retries_and_resumes(
    postgres_server, postgres_url, caplog
):
    discord = FakeDiscord()
    rig = await make_rig(await open_db(postgres_url), FakeClock(DUE), discord)
    await subscribe_members(rig, range(1000, 1005))
    postgres_server.stop()
    try:
        wake = await rig.dispatcher.tick()
        assert wake is not None and wake <= DUE + timedelta(seconds=5)
        assert "trying again shortly" in caplog.text and "Traceback" not in caplog.text
    finally:
        postgres_server.start()
    await rig.run()
    assert len(discord.messages) == 5
    await rig.db.close()


async def test_taken_over_occurrences_go_before_the_queue_of_the_process_taking_them(databases):
    discord = FakeDiscord()
    a = await make_rig(await databases(), FakeClock(DUE), discord)
    await subscribe_members(a, range(1000, 1005))
    await a.dispatcher.start()  # A claims its 5 and dies before sending any
    orphans = {FakeDiscord.dm_channel_of(u) for u in range(1000, 1005)}

    b = await make_rig(await databases(), FakeClock(DUE), discord)
    await subscribe_members(b, range(2000, 2020))  # 20 more, due at the same instant
    await b.dispatcher.start()  # B claims its own 20: a queue, not sent yet
    b.clock.now = DUE + timedelta(seconds=LEASE + 1)
    await b.dispatcher.tick()  # A's lease lapsed: B takes its 5 over
    assert b.sender.backlog == 25
    await b.sender.run_pending()
    assert {m.channel_id for m in discord.messages[:5]} == orphans, "they waited a lease already"
    assert len(discord.messages) == 25
