"""Storage owns its dialects: one interface, the differences behind it (storage/database.py).

The same assertions run on both backends (the ``database_url`` fixture): what a read outside
a transaction sees, the batch operations each backend writes its own way, and rows read by
column name. A last test keeps the table modules free of engine branches.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from datetime import time
from pathlib import Path

import pytest

import storage
from domain.enums import DeliveryMode, DeliveryState, PauseReason, Source
from domain.schedule import next_fire_ts
from storage import ledger, members, reminders
from storage.database import Database, is_postgres, record, records
from storage.ledger import Claimant, NewDelivery
from testkit.population import realistic

NOW = 1_717_000_000


def _new(nonce: str, state: str = DeliveryState.CLAIMED) -> NewDelivery:
    return NewDelivery(
        nonce=nonce,
        source=Source.SCHEDULE,
        subscription_id=None,
        scheduled_at=NOW,
        kind="hydration",
        user_id=1,
        guild_id=None,
        state=state,
    )


async def _subscribe(db: Database, user_id: int) -> reminders.Subscription:
    return await reminders.upsert_member_subscription(
        db,
        user_id=user_id,
        guild_id=None,
        kind="hydration",
        times="09:00",
        custom_time=None,
        every_hours=None,
        zone="UTC",
        next_fire_at=NOW,
        now=NOW - 60,
    )


async def test_a_read_outside_the_transaction_sees_only_what_is_committed(db: Database):
    """A command's read while the dispatcher's claim is open must not see the claim's rows:
    they may still roll back. Inside the transaction, its own writes are seen."""
    opened, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'uncommitted')")
            assert await tx.fetchval("SELECT value FROM bot_state WHERE key = 'k'") == "uncommitted"
            opened.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await opened.wait()
    try:
        assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'k'") is None
        assert await db.fetchall("SELECT key FROM bot_state") == []
    finally:
        release.set()
        await task
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'k'") == "uncommitted"


async def test_a_read_sees_a_write_committed_just_before(db: Database):
    await db.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'k'") == "v"


async def test_a_read_sees_a_write_committed_just_before_while_others_read(db: Database):
    """Reads from other coroutines run on the same reading connection meanwhile. A read of
    ours queued between another's execute and fetch once ran inside that statement's read
    transaction and saw the database from before our write (a /remind start that had just
    set the member's time zone read it back unset, about one read in forty)."""

    stop = asyncio.Event()

    async def others_read() -> None:
        while not stop.is_set():
            await db.fetchall("SELECT user_id FROM members")

    readers = [asyncio.create_task(others_read()) for _ in range(2)]
    stale = 0
    try:
        for user_id in range(1, 301):
            await members.update(db, user_id, NOW, timezone="Europe/Berlin")
            if (await members.get_or_default(db, user_id)).timezone is None:
                stale += 1
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert stale == 0


async def test_the_database_s_reads_cannot_write(db: Database, database_url: str):
    if database_url.startswith("sqlite"):
        with pytest.raises(Exception, match="readonly|read-only|query_only"):
            await db.fetchone("INSERT INTO bot_state (key, value) VALUES ('k', 'v') RETURNING key")


async def test_a_batch_returns_only_the_claims_it_recorded(db: Database):
    claimant = Claimant()
    async with db.transaction() as tx:
        first = await ledger.insert_claims(tx, [_new("a"), _new("b")], NOW, claimant)
    assert [d.nonce for d in first] == ["a", "b"]
    async with db.transaction() as tx:
        again = await ledger.insert_claims(
            tx, [_new("a"), _new("c"), _new("m", DeliveryState.MISSED)], NOW, claimant
        )
    # "a" was recorded before, "m" is recorded but missed: only "c" is new to send.
    assert [d.nonce for d in again] == ["c"]
    assert again[0].claimed_by == claimant.name and again[0].lease_until == NOW + 30
    states = await db.fetchall("SELECT nonce, state FROM deliveries ORDER BY nonce")
    assert [(r["nonce"], r["state"]) for r in states] == [
        ("a", "claimed"),
        ("b", "claimed"),
        ("c", "claimed"),
        ("m", "missed"),
    ]


async def test_an_advance_moves_the_next_fire_or_stops_an_unusable_schedule(db: Database):
    kept = await _subscribe(db, 1)
    broken = await _subscribe(db, 2)
    async with db.transaction() as tx:
        await tx.advance_subscriptions([(kept.id, NOW + 3600), (broken.id, None)], NOW)
    after_kept = await reminders.get(db, kept.id)
    after_broken = await reminders.get(db, broken.id)
    assert after_kept is not None and after_broken is not None
    assert (after_kept.next_fire_at, after_kept.active, after_kept.updated_at) == (
        NOW + 3600,
        True,
        NOW,
    )
    assert (after_broken.next_fire_at, after_broken.active, after_broken.paused_reason) == (
        None,
        False,
        PauseReason.INVALID_SCHEDULE,
    )


async def test_rows_are_read_by_column_name_whatever_the_order(db: Database):
    sub = await _subscribe(db, 1)
    reordered = await db.fetchone(
        "SELECT updated_at, paused_reason, active, next_fire_at, zone, every_hours, custom_time, "
        "times, channel_id, guild_id, user_id, kind, id, created_at FROM subscriptions"
    )
    assert reordered is not None
    assert record(reminders.Subscription, reordered) == sub
    in_order = await db.fetchall(f"SELECT {reminders._COLUMNS} FROM subscriptions")
    assert records(reminders.Subscription, in_order) == [sub]
    assert sub.active is True  # SQLite's 1, made a boolean


async def test_a_population_written_through_storage_reads_back_as_the_bot_reads_it(db: Database):
    """The simulated day writes its population with storage's own writers
    (``testkit.population``), so every column it stores is one storage reads."""
    population = realistic(300, seed=3)
    await population.write(db, NOW)
    for user_id, zone, wake, bed in population.members:
        assert await members.get(db, user_id) == members.Member(
            user_id=user_id,
            timezone=zone,
            wake=time.fromisoformat(wake),
            bed=time.fromisoformat(bed),
            delivery=DeliveryMode.DM,
            dm_channel_id=user_id + 1,
            created_at=NOW,
            updated_at=NOW,
        )
    for row in population.subscriptions:
        assert await reminders.get(db, row.id) == reminders.Subscription(
            **dataclasses.asdict(row),
            next_fire_at=next_fire_ts(row.times, row.zone, NOW),
            active=True,
            paused_reason=None,
            created_at=NOW,
            updated_at=NOW,
        )
    # The bot's next subscription takes an id of its own.
    assert (await _subscribe(db, 7)).id == len(population.subscriptions) + 1


async def test_only_postgresql_narrows_to_its_own_features(db: Database, database_url: str):
    assert is_postgres(db) == database_url.startswith("postgresql")


# Modules that may know which engine they run on: the interface, the two backends, and the
# PostgreSQL-only features (typed on PostgresDatabase, so they need not ask).
_BACKENDS = {"database.py", "sqlite.py", "postgres.py"}


def test_table_modules_never_branch_on_the_engine():
    folder = Path(storage.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name in _BACKENDS:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("dialect", "shared"):
                pytest.fail(f"storage/{path.name}:{node.lineno} asks the engine (.{node.attr})")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                names = ast.unparse(node)
                if "SqliteDatabase" in names or "PostgresDatabase" in names:
                    pytest.fail(f"storage/{path.name}:{node.lineno} asks the engine ({names})")
