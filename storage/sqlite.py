"""The SQLite backend (aiosqlite): the embedded default, one bot process per file."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from domain.errors import StartupError
from storage.database import (
    MIGRATIONS_DIR,
    Database,
    Dialect,
    Migration,
    Params,
    Row,
    load_migrations,
)

log = logging.getLogger(__name__)


def sqlite_path_from_url(url: str) -> Path | str:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` or ``sqlite://:memory:``."""
    if not url.startswith("sqlite://"):
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise StartupError(
            f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path/to/file.sqlite3"
        )
    rest = url[len("sqlite://") :]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or rest == "/":
        raise StartupError("DATABASE_URL: expected sqlite:///path/to/file.sqlite3")
    # "/relative/path" → relative; "//absolute/path" → "/absolute/path".
    return Path(rest[1:])


def _check_file(path: Path) -> None:
    """Make sure SQLite can open ``path``, or end start-up with one line saying why.

    Checked with the ``sqlite3`` module before aiosqlite opens it: when aiosqlite fails to
    open a file, its worker thread outlives the event loop and prints an "Event loop is
    closed" traceback after our one line.
    """
    if path.is_dir():
        raise StartupError(
            f"DATABASE_URL: {path} is a folder; name a file in it, like "
            f"sqlite:///{path / 'steady.sqlite3'}"
        )
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise StartupError(f"DATABASE_URL: {folder} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupError(
            f"DATABASE_URL: cannot create folder {path.parent}: {error.strerror}"
        ) from None
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as error:
        raise StartupError(
            f"DATABASE_URL: cannot open {path} ({error}); is its folder writable?"
        ) from None


def _split_statements(sql: str) -> list[str]:
    # Migration files hold plain DDL/DML without triggers, so ';' ends every statement.
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class _Statements:
    """The query methods over one aiosqlite connection (shared by the database and a transaction)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, rows)


class SqliteDatabase(Database):
    """One aiosqlite connection shared by the bot.

    The connection is in autocommit mode and shared by every coroutine. An explicit
    ``BEGIN … COMMIT`` on it would swallow whatever statement another coroutine runs
    meanwhile (and roll it back with ours on error), and a second ``BEGIN`` would fail. So
    every write, one statement or many, takes one lock per database (``execute``,
    ``executemany``, ``transaction``). Reads need no lock.
    """

    dialect = "sqlite"
    shared = False

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._statements = _Statements(conn)
        self._write_lock = asyncio.Lock()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._statements.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._statements.fetchall(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._write_lock:
            return await self._statements.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._write_lock:
            await self._statements.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Statements]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error), one at a time."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @classmethod
    async def connect(cls, url: str) -> SqliteDatabase:
        path = sqlite_path_from_url(url)
        if isinstance(path, Path):
            await asyncio.to_thread(_check_file, path)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except Exception as error:  # sqlite3.OperationalError, permission errors…
            raise StartupError(f"DATABASE_URL: cannot open {path}: {error}") from None
        conn.row_factory = aiosqlite.Row
        db = cls(conn)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process crashes in WAL mode (only an OS crash may lose
            # the last commits), and much faster than FULL for the delivery ledger's writes.
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
        except Exception as error:
            await conn.close()
            raise StartupError(
                f"DATABASE_URL: {path} is not a usable SQLite database: {error}"
            ) from None
        return db

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        """Apply pending migrations, each with its ``PRAGMA user_version`` bump."""
        migrations = load_migrations(MIGRATIONS_DIR) if migrations is None else migrations
        current = int(await self.fetchval("PRAGMA user_version"))
        for migration in migrations:
            if migration.number <= current:
                continue
            try:
                async with self.transaction() as tx:
                    for statement in _split_statements(migration.sql):
                        await tx.execute(statement)
                    await tx.execute(f"PRAGMA user_version = {migration.number:d}")
            except Exception as error:
                raise StartupError(f"migration {migration.name} failed: {error}") from None
            log.info("applied migration %s", migration.name)
            current = migration.number
        return current

    async def close(self) -> None:
        await self.conn.close()

    async def with_own_reads(self) -> SqliteDatabase:
        """This database, but reading through a second connection of its own.

        aiosqlite runs a connection's statements one at a time in its thread, so on the one
        shared connection a web page's reads would queue behind the reminder sender's ledger
        writes, and hold them up in turn. WAL lets a second connection read beside the
        writer (seeing what is committed); writes still go through this connection and its
        lock. An in-memory database has no file to share: it is returned as it is.
        """
        row = await self.fetchone("PRAGMA database_list")
        path = row["file"] if row is not None else ""
        if not path:
            return self
        reads = await aiosqlite.connect(path, isolation_level=None)
        reads.row_factory = aiosqlite.Row
        await reads.execute("PRAGMA query_only=ON")
        await reads.execute("PRAGMA busy_timeout=5000")
        return _OwnReads(self, reads)


class _OwnReads(SqliteDatabase):
    """See :meth:`SqliteDatabase.with_own_reads`; ``close`` closes only the reading side."""

    def __init__(self, writer: SqliteDatabase, reads: aiosqlite.Connection) -> None:
        super().__init__(writer.conn)
        self._write_lock = writer._write_lock  # one writer lock per database, shared
        self._reads_conn = reads
        self._reads = _Statements(reads)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._reads.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._reads.fetchall(sql, params)

    async def close(self) -> None:
        await self._reads_conn.close()
