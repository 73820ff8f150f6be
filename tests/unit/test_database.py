"""The database opens from DATABASE_URL and applies numbered migrations exactly once."""

from pathlib import Path

import pytest

from bot.errors import StartupError
from storage import bot_state
from storage.database import Database, Migration, load_migrations, sqlite_path_from_url


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
        ("postgresql://u@h/db", "PostgreSQL is not supported"),
        ("sqlite://", "expected sqlite:///path"),
        ("nonsense", "unsupported scheme"),
    ],
)
def test_bad_urls_give_one_line(url, reason):
    with pytest.raises(StartupError, match=reason):
        sqlite_path_from_url(url)


def test_shipped_migrations_are_numbered_without_gaps():
    migrations = load_migrations()
    assert [m.number for m in migrations] == list(range(1, len(migrations) + 1))


async def test_migrations_apply_once_and_survive_reopen(tmp_path):
    url = f"sqlite:///{tmp_path}/steady.sqlite3"
    db = await Database.open(url)
    version = await db.migrate()
    assert version == len(load_migrations())
    await bot_state.put(db, "k", "v")
    await db.close()

    db = await Database.open(url)
    assert await db.migrate() == version  # nothing re-applied
    assert await bot_state.get(db, "k") == "v"
    await db.close()


async def test_failed_migration_rolls_back_whole(tmp_path):
    db = await Database.open(f"sqlite:///{tmp_path}/t.sqlite3")
    broken = [
        Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"),
    ]
    with pytest.raises(StartupError, match="migration 0002_b.sql failed"):
        await db.migrate(broken)
    async with db.conn.execute("PRAGMA user_version") as cursor:
        assert (await cursor.fetchone())[0] == 1
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'") as cursor:
        assert await cursor.fetchone() is None  # table b was rolled back with its migration
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
