"""The SQLite backend (aiosqlite): the embedded default, one bot process per file.

Two connections to the file: the writer, shared by every coroutine and serialised by one
lock, and a read-only one for the database's ``fetch*`` (see ``storage.database``: a read
never sees a transaction half-way). Batch writes are ``executemany``: SQLite runs in the
process, so a statement per row costs no round trip.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from domain.enums import DeliveryState, PauseReason
from domain.errors import DatabaseUnavailable, StartupError
from storage.database import (
    MIGRATIONS_DIR,
    Database,
    Migration,
    Params,
    Row,
    load_migrations,
    refuse_newer_schema,
)

if TYPE_CHECKING:
    from storage.ledger import Claimant, NewDelivery

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


_INSERT_DELIVERIES = (
    "INSERT INTO deliveries (nonce, source, subscription_id, scheduled_at, kind, user_id, "
    "guild_id, state, error, claimed_at, updated_at, claimed_by, lease_until) "
    "VALUES {values} ON CONFLICT (nonce) DO NOTHING"
)
_DELIVERY_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_DELIVERY = _INSERT_DELIVERIES.format(values=_DELIVERY_VALUES)
#: 13 parameters a row: 500 rows stay far below SQLite's limit of 32,766 per statement.
_ROWS_PER_INSERT = 500
_ADVANCE = (
    "UPDATE subscriptions SET next_fire_at = CAST(?1 AS BIGINT), updated_at = ?2, "
    "active = CASE WHEN CAST(?1 AS BIGINT) IS NULL THEN 0 ELSE active END, "
    "paused_reason = CASE WHEN CAST(?1 AS BIGINT) IS NULL "
    f"THEN '{PauseReason.INVALID_SCHEDULE}' ELSE paused_reason END WHERE id = ?3"
)


class _Statements:
    """The query methods over one aiosqlite connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    # Each read runs whole (execute, fetch, done) in one call to the connection's thread.
    # With execute and fetch as two calls, another coroutine's read on the same connection
    # can run in between while this statement is still open, and so inside this statement's
    # read transaction: it would see the database as it was before a write that committed
    # before it began (a /remind start read back the member it had just updated without the
    # time zone it had just set).
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        rows = list(await self.conn.execute_fetchall(sql, params))
        return rows[0][0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, rows)


class _Transaction(_Statements):
    """The writer connection inside ``BEGIN IMMEDIATE`` (see :class:`Transaction`)."""

    skip_locked = ""  # one writer at a time: no other claim can be running

    async def insert_deliveries(
        self, rows: Sequence[NewDelivery], now: int, claimant: Claimant, returning: str
    ) -> list[Row]:
        """Missed rows by ``executemany``; claimed ones by multi-row ``INSERT … RETURNING``,
        which returns exactly the rows it inserted (not those whose nonce was recorded
        before), like PostgreSQL's batch."""
        name, until = claimant.name, claimant.lease_until(now)
        claimed: list[tuple[object, ...]] = []
        other: list[tuple[object, ...]] = []
        for r in rows:
            values = (
                r.nonce,
                r.source,
                r.subscription_id,
                r.scheduled_at,
                r.kind,
                r.user_id,
                r.guild_id,
                r.state,
                r.error,
                now,
                now,
                name,
                until,
            )
            (claimed if r.state == DeliveryState.CLAIMED else other).append(values)
        if other:
            await self.executemany(_INSERT_DELIVERY, other)
        found: list[Row] = []
        for start in range(0, len(claimed), _ROWS_PER_INSERT):
            chunk = claimed[start : start + _ROWS_PER_INSERT]
            found += await self.fetchall(
                _INSERT_DELIVERIES.format(values=",".join(_DELIVERY_VALUES for _ in chunk))
                + f" RETURNING {returning}",
                [value for values in chunk for value in values],
            )
        return found

    async def advance_subscriptions(
        self, next_fires: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        if next_fires:
            await self.executemany(
                _ADVANCE, [(next_at, now, sub_id) for sub_id, next_at in next_fires]
            )


class SqliteDatabase(Database):
    """A SQLite file: one writer connection shared by the bot, and one for its reads.

    The writer is in autocommit mode and shared by every coroutine. An explicit
    ``BEGIN … COMMIT`` on it would swallow whatever statement another coroutine runs
    meanwhile (and roll it back with ours on error), and a second ``BEGIN`` would fail. So
    every write, one statement or many, takes one lock per database (``execute``,
    ``executemany``, ``transaction``). Reads go to the read-only connection and take no lock;
    in WAL mode they see what is committed, never a transaction still open on the writer.
    """

    dialect = "sqlite"
    shared = False
    #: Seconds without a refused write before a full database counts as writable again.
    full_quiet_s = 30.0
    _full_at = 0.0

    def __init__(
        self,
        conn: aiosqlite.Connection,
        reads: aiosqlite.Connection | None = None,
        *,
        write_lock: asyncio.Lock | None = None,
        owns_writer: bool = True,
    ) -> None:
        self.conn = conn
        self._reads_conn = reads
        self._writer = _Transaction(conn)
        self._reads = _Statements(reads) if reads is not None else self._writer
        self._write_lock = write_lock or asyncio.Lock()
        self._owns_writer = owns_writer

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._reads.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._reads.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._reads.fetchval(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._write_lock:
            with self._full_is_unavailable():
                return await self._writer.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._write_lock:
            with self._full_is_unavailable():
                await self._writer.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error), one at a time."""
        async with self._write_lock:
            with self._full_is_unavailable():
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                    await self.conn.execute("COMMIT")
                except BaseException:
                    # A full disk may have rolled the transaction back already (SQLite does
                    # for SQLITE_FULL): a second ROLLBACK would hide the real error.
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise

    @contextmanager
    def _full_is_unavailable(self) -> Iterator[None]:
        """A write refused for lack of space (``SQLITE_FULL``: the disk, or ``max_page_count``)
        is :class:`DatabaseUnavailable`, like PostgreSQL going away: commands answer "try
        again in a moment", the sender keeps its claims and retries, ``/healthz`` says why.
        One log line when it starts, one when writes have gone through again for a while."""
        try:
            yield
        except sqlite3.Error as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                raise
            if self.write_problem is None:
                log.error(
                    "SQLite database full (no disk space, or its max_page_count): writes "
                    "wait until there is room again"
                )
            self.write_problem = "database full: writes failing"
            self._full_at = time.monotonic()
            raise DatabaseUnavailable("SQLite database full") from None
        # A nearly full file takes small writes and refuses larger ones: it is over once
        # writes have gone through for a while with none refused, not at the first success.
        if self.write_problem is not None and time.monotonic() - self._full_at >= self.full_quiet_s:
            self.write_problem = None
            log.warning("SQLite database writable again")

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
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process crashes in WAL mode (only an OS crash may lose
            # the last commits), and much faster than FULL for the delivery ledger's writes.
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            # After the writer switched the file to WAL, so the reader opens it in WAL too.
            reads = await _open_reads(path) if isinstance(path, Path) else None
        except Exception as error:
            await conn.close()
            raise StartupError(
                f"DATABASE_URL: {path} is not a usable SQLite database: {error}"
            ) from None
        return cls(conn, reads)

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        """Apply pending migrations, each with its ``PRAGMA user_version`` bump."""
        migrations = load_migrations(MIGRATIONS_DIR) if migrations is None else migrations
        current = int(await self._writer.fetchval("PRAGMA user_version"))
        refuse_newer_schema(current, migrations)
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
        if self._reads_conn is not None:
            await self._reads_conn.close()
        if self._owns_writer:
            await self.conn.close()

    async def with_own_reads(self) -> SqliteDatabase:
        """This database, but reading through another connection of its own (the dashboard).

        aiosqlite runs a connection's statements one at a time in its thread, so on a shared
        reading connection a web page's reads would queue behind the engine's, and hold
        them up in turn. WAL lets any number of connections read beside the writer (seeing
        what is committed); writes still go through this database's writer and its lock, and
        ``close`` closes only the new reading connection. An in-memory database has no file
        to share: it is returned as it is.
        """
        row = await self._writer.fetchone("PRAGMA database_list")
        path = row["file"] if row is not None else ""
        if not path:
            return self
        return SqliteDatabase(
            self.conn,
            await _open_reads(Path(path)),
            write_lock=self._write_lock,  # one writer lock per database, shared
            owns_writer=False,
        )


async def _open_reads(path: Path) -> aiosqlite.Connection:
    reads = await aiosqlite.connect(str(path), isolation_level=None)
    reads.row_factory = aiosqlite.Row
    try:
        await reads.execute("PRAGMA query_only=ON")
        await reads.execute("PRAGMA busy_timeout=5000")
    except BaseException:
        await reads.close()
        raise
    return reads
