"""A full disk on SQLite (issue #18), made with ``PRAGMA max_page_count``: writes fail with
``SQLITE_FULL``; reads and the fact commands go on, writing commands say "try again in a
moment", the sender keeps what it claimed and retries, ``/healthz`` says why, one log line
says it started and one that it ended; nothing is lost or sent twice once space returns."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

import pytest

from bot.health import Health
from cogs.tree import DATABASE_AWAY
from domain.errors import DatabaseUnavailable
from storage.database import Database
from testkit.fake_time import FakeClock
from tests.reminder_rig import T0, make_rig, open_db, rows

MEMBERS = range(1000, 1200)  # enough ledger rows that claiming them needs new pages


async def fill_up(db: Database) -> None:
    """No page left: the file may not grow, and the free pages inside are used up."""
    pages = await db.fetchval("PRAGMA page_count")
    await db.conn.execute(f"PRAGMA max_page_count = {int(pages)}")
    with pytest.raises((DatabaseUnavailable, sqlite3.OperationalError)):
        for i in range(100_000):
            await db.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)", (f"filler{i}", "x" * 400)
            )


async def test_a_full_database_answers_waits_and_loses_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    db = await open_db(tmp_path)
    db.full_quiet_s = 0.3  # (30 s in the bot)
    clock = FakeClock(T0)  # 10:00 UTC
    rig = await make_rig(db, clock)
    for user in MEMBERS:
        await rig.member_settings.set_timezone(user, "UTC")
        await rig.subscriptions.start(user, None, "stretching", "10:30")
    await rig.dispatcher.start()
    clock.now = T0 + timedelta(minutes=30)
    await rig.dispatcher.tick()  # all claimed and queued, then the disk fills
    assert rig.sender.backlog == len(MEMBERS)

    await fill_up(db)
    assert db.write_problem == "database full: writes failing"
    # Reads (and so /remind list, and the fact commands, which read no database) go on.
    assert len(await rig.subscriptions.list_subscriptions(MEMBERS[0])) == 1
    # Commands that write: small ones may still fit a page; soon they are refused with
    # DatabaseUnavailable, which every front-end answers with DATABASE_AWAY.
    with pytest.raises(DatabaseUnavailable):
        for user in range(1, 500):
            await rig.subscriptions.start(user, None, "sleep", zone_text="UTC")
    assert "try again in a moment" in DATABASE_AWAY
    health = Health(1, [0], [0], 1.0, True, database_write_problem=db.write_problem)
    assert not health.ok and health.as_json()["database"] == {
        "reachable": True,
        "writes": "database full: writes failing",
    }

    # The sender keeps every claim and retries while the disk is full.
    rig.sender.database_retry_s = 0.01
    rig.sender.sleep = asyncio.sleep  # its retry waits in real time, the clock stays put
    await rig.sender.start()
    try:
        await asyncio.sleep(0.5)
        [(pending,)] = await rows(
            db, "SELECT count(*) FROM deliveries WHERE state IN ('claimed', 'sending')"
        )
        assert pending > 0, "the full disk never got in the way: not a test"
        [(lost,)] = await rows(
            db, "SELECT count(*) FROM deliveries WHERE state NOT IN ('claimed', 'sending', 'sent')"
        )
        assert lost == 0

        await db.conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
        for _ in range(500):
            [(sent,)] = await rows(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'")
            if sent == len(MEMBERS) and db.write_problem is None:
                break
            await db.execute("UPDATE bot_state SET value = 'x' WHERE key = 'filler0'")
            await asyncio.sleep(0.02)
    finally:
        await rig.sender.stop()
    assert sent == len(MEMBERS)
    assert db.write_problem is None
    per_channel = [len(rig.discord.to(rig.discord.dm_channel_of(u))) for u in MEMBERS]
    assert set(per_channel) == {1}
    full_lines = [r for r in caplog.records if "SQLite database full (" in r.getMessage()]
    again_lines = [r for r in caplog.records if "writable again" in r.getMessage()]
    assert len(full_lines) == 1 and len(again_lines) == 1
    await rig.subscriptions.start(999, None, "sleep", zone_text="UTC")  # writes work again
    await db.close()


async def test_a_failed_commit_leaves_no_transaction_open(tmp_path):
    """SQLite rolls back by itself on SQLITE_FULL: the bot's ROLLBACK must not hide the error
    nor leave the shared connection inside a transaction (every later write would fail)."""
    db = await open_db(tmp_path)
    await fill_up(db)
    with pytest.raises(DatabaseUnavailable):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value) VALUES ('a', ?)", ("y" * 9000,))
    await db.conn.execute("PRAGMA max_page_count = 1073741823")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bot_state (key, value) VALUES ('b', 'ok')")
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'b'") == "ok"
    await db.close()


async def test_the_dispatcher_says_it_once_and_claims_when_there_is_room(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    db = await open_db(tmp_path)
    clock = FakeClock(T0)
    rig = await make_rig(db, clock)
    for user in MEMBERS:
        await rig.member_settings.set_timezone(user, "UTC")
        await rig.subscriptions.start(user, None, "stretching", "10:30")
    await rig.dispatcher.start()
    await fill_up(db)
    clock.now = T0 + timedelta(minutes=30)
    for _ in range(3):
        await rig.run()  # the claim needs pages: refused, retried, never a traceback
        clock.advance(seconds=5)
    assert rig.discord.messages == []
    said = [r for r in caplog.records if r.getMessage().startswith("reminder dispatcher: ")]
    assert [r.getMessage() for r in said] == [
        "reminder dispatcher: SQLite database full; trying again shortly"
    ]
    await db.conn.execute("PRAGMA max_page_count = 1073741823")
    await rig.run()
    assert len(rig.discord.messages) == len(MEMBERS)
    assert len({m.nonce for m in rig.discord.messages}) == len(MEMBERS)
    await rig.dispatcher.stop()
    await db.close()
