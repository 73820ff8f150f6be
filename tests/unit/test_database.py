"""The database opens from DATABASE_URL, on either backend, and applies numbered migrations once."""

import asyncio
from pathlib import Path

import pytest

from domain.errors import DatabaseUnavailable, StartupError
from storage import bot_state
from storage.database import MIGRATIONS_DIR, Database, Migration, load_migrations
from storage.postgres import (
    POSTGRES_MIGRATIONS_DIR,
    PostgresDatabase,
    _without_secret,
    describe_url,
    to_dollar_params,
)
from storage.sqlite import SqliteDatabase, sqlite_path_from_url
from testkit.pg_server import PostgresServer


def test_url_forms():
    assert sqlite_path_from_url("sqlite:///data/steady.sqlite3") == Path("data/steady.sqlite3")
    assert sqlite_path_from_url("sqlite:////var/lib/steady.sqlite3") == Path(
        "/var/lib/steady.sqlite3"
    )
    assert sqlite_path_from_url("sqlite://:memory:") == ":memory:"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("mysql://x", "unsupported scheme 'mysql'"),
        ("sqlite://", "expected sqlite:///path"),
        ("nonsense", "unsupported scheme"),
        ("postgresql://steady:s3cret@db:notaport/steady", "the port must be a number"),
        ("postgresql://steady:s3cret@/steady", "no host"),
        ("postgresql://steady:s3cret@db:5432", "no database name"),
        ("postgresql://steady:s3cret@[db/steady", "not a valid URL"),
    ],
)
async def test_bad_urls_give_one_line_without_the_password(url, reason):
    with pytest.raises(StartupError, match=reason) as caught:
        await Database.open(url)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_placeholders_become_numbered_outside_quotes():
    assert to_dollar_params("SELECT ? , '?' , ?") == "SELECT $1 , '?' , $2"
    assert to_dollar_params("SET a = ?1, b = ?2 WHERE c = ?1") == "SET a = $1, b = $2 WHERE c = $1"


async def test_a_short_password_is_masked_without_mangling_the_message():
    """asyncpg's own complaint (a bad ``sslmode``) names no password; a one-letter password
    must not mask every "p" in it, and the password itself never shows."""
    with pytest.raises(StartupError) as caught:
        await Database.open("postgresql://bot:p@127.0.0.1:1/steady?sslmode=bogus")
    message = str(caught.value)
    assert "sslmode" in message and "parameter" in message and "***arameter" not in message
    assert _without_secret("user=bot password=p host=x", "postgresql://bot:p@h/d") == (
        "user=bot password=*** host=x"
    )


def test_url_description_never_has_the_password():
    assert (
        describe_url("postgresql://bot:hunter2@db.local:5433/steady") == "bot@db.local:5433/steady"
    )


def test_both_backends_have_the_same_migrations():
    sqlite = [m.name for m in load_migrations(MIGRATIONS_DIR)]
    postgres = [m.name for m in load_migrations(POSTGRES_MIGRATIONS_DIR)]
    assert sqlite == postgres
    assert [m.number for m in load_migrations()] == list(range(1, len(sqlite) + 1))


async def test_migrations_apply_once_and_survive_reopen(database_url):
    db = await Database.open(database_url)
    version = await db.migrate()
    assert version == len(load_migrations())
    await bot_state.put(db, "k", "v")
    await db.close()

    db = await Database.open(database_url)
    assert await db.migrate() == version  # nothing re-applied
    assert await bot_state.get(db, "k") == "v"
    await db.close()


async def test_failed_migration_rolls_back_whole(database_url):
    db = await Database.open(database_url)
    broken = [
        Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"),
    ]
    with pytest.raises(StartupError, match="migration 0002_b.sql failed"):
        await db.migrate(broken)
    assert await db.migrate(broken[:1]) == 1  # still at version 1
    with pytest.raises(Exception):  # noqa: B017 (sqlite3 or asyncpg error: the table is absent)
        await db.fetchall("SELECT * FROM b")  # table b was rolled back with its migration
    await db.close()


async def test_a_transaction_is_all_or_nothing(database_url):
    db = await Database.open(database_url)
    await db.migrate()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value) VALUES (?, ?)", ("a", "1"))
            raise RuntimeError("changed my mind")
    assert await bot_state.get(db, "a") is None
    assert await db.execute("UPDATE bot_state SET value = 'x' WHERE key = 'a'") == 0
    await db.close()


async def test_unwritable_database_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StartupError, match="DATABASE_URL"):
        await Database.open(f"sqlite:///{blocker}/sub/db.sqlite3")


async def test_not_a_database_is_one_line(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StartupError, match="not a usable SQLite database"):
        await Database.open(f"sqlite:///{junk}")


# --- PostgreSQL only ---------------------------------------------------------------------------


async def test_wrong_password_is_one_line_without_it(postgres_server: PostgresServer):
    url = postgres_server.url(password="not-the-password")
    with pytest.raises(StartupError, match="refused the password") as caught:
        await Database.open(url)
    assert "not-the-password" not in str(caught.value)


async def test_unknown_database_is_one_line(postgres_server: PostgresServer):
    with pytest.raises(StartupError, match="no such database"):
        await Database.open(postgres_server.url("nothing_here"))


async def test_unreachable_server_is_one_line(postgres_server: PostgresServer):
    closed_port = postgres_server.url().replace(f":{postgres_server.port}/", ":1/")
    with pytest.raises(StartupError, match="cannot reach PostgreSQL at steady_test@127.0.0.1:1"):
        await Database.open(closed_port)


async def test_processes_starting_together_migrate_once(postgres_url):
    """The advisory lock: four processes' start-ups at once, each migration applied once."""
    dbs = [await Database.open(postgres_url) for _ in range(4)]
    versions = await asyncio.gather(*(db.migrate() for db in dbs))
    assert set(versions) == {len(load_migrations())}
    applied = await dbs[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
    assert [row[0] for row in applied] == list(range(1, len(load_migrations()) + 1))
    for db in dbs:
        await db.close()


async def test_the_bot_s_pool_is_open_before_the_first_burst(postgres_url):
    """The running bot opens every connection at start and keeps them: a burst of reminders
    never waits for new ones (measured: the first sends of a burst were ~0.3 s late)."""
    from storage.postgres import POOL_SIZE, PostgresDatabase

    db = await Database.open(postgres_url, warm=True)
    try:
        assert isinstance(db, PostgresDatabase)
        assert db.pool.get_size() == POOL_SIZE
        assert db.pool.get_idle_size() == POOL_SIZE
        assert await db.fetchval("SHOW jit") == "off"
    finally:
        await db.close()


async def test_a_notification_reaches_the_other_processes(postgres_url):
    one, other = await Database.open(postgres_url), await Database.open(postgres_url)
    heard = asyncio.Event()
    await other.listen_due_changes(heard.set)
    for _ in range(50):  # the listener connects in the background
        await one.announce_due_change()
        try:
            await asyncio.wait_for(heard.wait(), 0.1)
            break
        except TimeoutError:
            pass
    assert heard.is_set()
    await one.close()
    await other.close()


async def test_a_server_restart_is_unavailable_then_heals(postgres_server, postgres_url):
    db = await Database.open(postgres_url)
    assert isinstance(db, PostgresDatabase)
    await db.migrate()
    await bot_state.put(db, "k", "before")
    postgres_server.stop()
    with pytest.raises(DatabaseUnavailable):
        await bot_state.get(db, "k")
    with pytest.raises(DatabaseUnavailable):
        async with db.transaction() as tx:
            await tx.execute("UPDATE bot_state SET value = 'during'")
    postgres_server.start()
    assert await bot_state.get(db, "k") == "before"  # the pool reconnected by itself
    await db.close()


async def test_own_reads_see_committed_writes_on_their_own_connection(tmp_path: Path):
    db = await Database.open(f"sqlite:///{tmp_path / 'reads.sqlite3'}")
    await db.migrate()
    assert isinstance(db, SqliteDatabase)
    reads = await db.with_own_reads()
    try:
        assert isinstance(reads, SqliteDatabase) and reads is not db
        await reads.execute("CREATE TABLE t (x INTEGER)")  # writes go through db's connection
        await db.execute("INSERT INTO t VALUES (1)")
        assert await reads.fetchval("SELECT count(*) FROM t") == 1
        # The reading connection itself refuses to write.
        with pytest.raises(Exception, match="readonly|query_only|read-only"):
            await reads._reads_conn.execute("INSERT INTO t VALUES (2)")
    finally:
        await reads.close()  # only the reading side
    assert await db.fetchval("SELECT count(*) FROM t") == 1
    await db.close()


async def test_an_in_memory_database_reads_on_its_one_connection():
    db = await Database.open("sqlite:///:memory:")
    assert isinstance(db, SqliteDatabase)
    assert await db.with_own_reads() is db
    await db.close()
