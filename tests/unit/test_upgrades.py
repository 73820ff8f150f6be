"""Every upgrade path (issue #18): a database at each earlier schema version, holding the rows
that version wrote (tests/fixtures/schema/vNNNN.json), upgraded by the bot's own start-up
migration on both backends, reads back the same through today's services and fires at the
same times. A database a newer Steady wrote is refused, untouched.

A new migration without its fixture fails here: run ``python -m tests.fixtures.schema.generate``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot import migrate_db
from domain.errors import StartupError
from storage.database import Database, load_migrations
from storage.postgres import POSTGRES_MIGRATIONS_DIR
from storage.transfer import IDENTITY_TABLES
from testkit.fake_time import FakeClock
from tests.fixtures.schema import generate
from tests.reminder_rig import FakeDiscord, make_rig

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1].number
VERSIONS = [m.number for m in MIGRATIONS]


def load_fixture(version: int) -> dict[str, Any]:
    return json.loads(generate.path_of(version).read_text("utf-8"))


def migrations_of(db: Database) -> list[Any]:
    return load_migrations(POSTGRES_MIGRATIONS_DIR) if db.dialect == "postgresql" else MIGRATIONS


async def database_at(url: str, version: int) -> tuple[Database, dict[str, Any]]:
    """A database at ``version`` holding that version's fixture rows."""
    data = load_fixture(version)
    db = await Database.open(url)
    assert await db.migrate(migrations_of(db)[:version]) == version
    for table, content in data["tables"].items():
        columns = content["columns"]
        await db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            content["rows"],
        )
    if db.dialect == "postgresql":
        # Where the code's own inserts would have left each identity sequence.
        for table in IDENTITY_TABLES:
            if table in data["tables"]:
                await db.fetchval(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    return db, data


def test_every_migration_has_its_fixture_and_the_fixtures_are_current():
    """Adding migration k+1 without tests/fixtures/schema/v(k+1).json fails CI, and so does
    a fixture that no longer is what the generator writes for its version."""
    assert [m.number for m in load_migrations(POSTGRES_MIGRATIONS_DIR)] == VERSIONS
    on_disk = sorted(int(p.stem[1:]) for p in generate.HERE.glob("v*.json"))
    assert on_disk == VERSIONS, "run python -m tests.fixtures.schema.generate and commit"
    for version in VERSIONS:
        assert generate.path_of(version).read_text("utf-8") == generate.dumps(
            generate.fixture(version)
        ), f"v{version:04d}.json is stale: run python -m tests.fixtures.schema.generate"


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_older_database_upgrades_with_every_row_intact(database_url, version):
    db, data = await database_at(database_url, version)
    try:
        assert await db.migrate() == LATEST  # what start-up runs
        for table, content in data["tables"].items():
            columns, first = content["columns"], content["columns"][0]
            got = await db.fetchall(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {first}")
            expected = sorted(content["rows"], key=lambda r: (r[0] is None, r[0]))
            assert [list(r) for r in got] == expected, table
        if version >= 2:
            await reads_back_and_fires_on_time(db, data)
    finally:
        await db.close()


async def reads_back_and_fires_on_time(db: Database, data: dict[str, Any]) -> None:
    """Today's services over the upgraded rows: the same times, stats, streak; then the
    engine fires the member's next reminder and the snooze when they were due."""
    now = datetime.fromtimestamp(data["now"], UTC)
    clock = FakeClock(now)
    discord = FakeDiscord(clock)
    rig = await make_rig(db, clock, discord)
    subs = {s.kind: s for s in await rig.subscriptions.list_subscriptions(111)}
    stored = {row[1]: row[9] for row in data["tables"]["subscriptions"]["rows"] if row[2] == 111}
    assert {k: int(v.next_fire.timestamp()) for k, v in subs.items() if v.next_fire} == stored
    assert subs["hydration"].every_hours == 2 and str(subs["hydration"].zone) == "Europe/Berlin"
    stats = {s.kind: s for s in await rig.stats.stats(111)}
    assert (stats["hydration"].sent, stats["hydration"].done) == (5, 4)
    assert (stats["hydration"].snoozed, stats["hydration"].streak) == (1, 4)
    settings = await rig.member_settings.settings(111)
    assert settings.timezone == "Europe/Berlin" and settings.bed.strftime("%H:%M") == "22:30"

    await rig.dispatcher.start()
    hydration_at = datetime.fromtimestamp(stored["hydration"], UTC)
    await rig.run_until(hydration_at + timedelta(seconds=1))
    sent = sorted((m.nonce, m.channel_id) for m in discord.messages)
    assert sent == sorted([("z1", 9111), (f"s1.{_b36(stored['hydration'])}", 9111)]), (
        "the snooze and the next hydration, by DM, once each"
    )
    await rig.dispatcher.stop()


def _b36(number: int) -> str:
    from storage.ledger import base36

    return base36(number)


async def test_migrate_db_copies_an_older_sqlite_file(tmp_path, postgres_url, monkeypatch):
    source = tmp_path / "old.sqlite3"
    db, data = await database_at(f"sqlite:///{source}", 2)
    await db.close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{source}")
    await migrate_db.migrate(postgres_url, Console(file=io.StringIO()))
    target = await Database.open(postgres_url)
    try:
        for table, content in data["tables"].items():
            assert await target.fetchval(f"SELECT count(*) FROM {table}") == len(content["rows"])
        row = await target.fetchone("SELECT times, zone FROM subscriptions WHERE id = 1")
        assert tuple(row) == ("08:00,10:00,12:00,14:00,16:00,18:00,20:00", "Europe/Berlin")
    finally:
        await target.close()


# --- a newer schema ---------------------------------------------------------------------------


async def _make_newer(url: str) -> Database:
    db = await Database.open(url)
    await db.migrate()
    if db.dialect == "postgresql":
        await db.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, 'future.sql')", (LATEST + 1,)
        )
    else:
        await db.execute(f"PRAGMA user_version = {LATEST + 1}")
    return db


async def _snapshot(db: Database) -> list[Any]:
    if db.dialect == "postgresql":
        tables = await db.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "ORDER BY 1"
        )
        versions = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY 1")
        return [list(map(tuple, tables)), list(map(tuple, versions))]
    return [int(await db.fetchval("PRAGMA user_version"))]


async def test_a_newer_schema_is_refused_in_one_line_touching_nothing(database_url, tmp_path):
    db = await _make_newer(database_url)
    before = await _snapshot(db)
    await db.close()
    path = tmp_path / "steady.sqlite3"
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    db = await Database.open(database_url)
    try:
        with pytest.raises(StartupError) as refused:
            await db.migrate()
        assert await _snapshot(db) == before
    finally:
        await db.close()
    line = str(refused.value)
    assert "\n" not in line
    assert f"schema is version {LATEST + 1}, newer than this Steady knows ({LATEST})" in line
    if digest is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


async def test_the_bot_ends_start_up_with_one_line_and_exit_2_on_a_newer_schema(tmp_path):
    path = tmp_path / "steady.sqlite3"
    db = await _make_newer(f"sqlite:///{path}")
    await db.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE"))},
        "DISCORD_TOKEN": "x" * 59,
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # never reached
        "DATABASE_URL": f"sqlite:///{path}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = [line for line in err.decode().splitlines() if "cannot start" in line]
    assert lines == [
        f"steady: cannot start: the database's schema is version {LATEST + 1}, newer than this "
        f"Steady knows ({LATEST}): run the newer Steady again, or restore a backup this "
        "version took"
    ]
    assert "Traceback" not in err.decode()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST + 1
    conn.close()
