"""The database connection and its numbered migrations.

SQLite through aiosqlite is the embedded default. Migrations are the numbered files in
``storage/migrations`` (``0001_initial.sql``, ``0002_….sql``); each pending file is applied
in its own transaction together with the bump of ``PRAGMA user_version``, so a crash
mid-migration leaves the database at the previous version, never half-way.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.errors import StartupError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def sqlite_path_from_url(url: str) -> Path | str:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` or ``sqlite://:memory:``."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        raise StartupError(
            "DATABASE_URL: PostgreSQL is not supported by this version yet; "
            "use sqlite:///path/to/file.sqlite3"
        )
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
    return Path(rest[1:]) if not rest.startswith("//") else Path(rest[1:])


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise StartupError(f"storage/migrations/{path.name}: name must be NNNN_name.sql")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StartupError(f"storage/migrations: numbers must run 1, 2, 3… without gaps: {numbers}")
    return migrations


def _split_statements(sql: str) -> list[str]:
    # Migration files hold plain DDL/DML without triggers, so ';' ends every statement.
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class Database:
    """One aiosqlite connection shared by the bot; all SQL lives in ``storage`` modules.

    The connection is in autocommit mode and shared by every coroutine. An explicit
    ``BEGIN … COMMIT`` on it would swallow whatever statement another coroutine runs
    meanwhile (and roll it back with ours on error), and a second ``BEGIN`` would fail. So
    every write, one statement or many, goes through :meth:`write` or :meth:`transaction`,
    which take one lock per database. Reads need no lock.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error), one at a time."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """Autocommit statements, kept out of any transaction another coroutine holds."""
        async with self._write_lock:
            yield self.conn

    @classmethod
    async def open(cls, url: str) -> Database:
        path = sqlite_path_from_url(url)
        if isinstance(path, Path):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StartupError(
                    f"DATABASE_URL: cannot create folder {path.parent}: {error.strerror}"
                ) from None
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
        """Apply pending migrations; returns the schema version now in force."""
        migrations = load_migrations() if migrations is None else migrations
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = row[0]
        for migration in migrations:
            if migration.number <= current:
                continue
            try:
                async with self.transaction() as conn:
                    for statement in _split_statements(migration.sql):
                        await conn.execute(statement)
                    await conn.execute(f"PRAGMA user_version = {migration.number:d}")
            except Exception as error:
                raise StartupError(f"migration {migration.name} failed: {error}") from None
            log.info("applied migration %s", migration.name)
            current = migration.number
        return current

    async def close(self) -> None:
        await self.conn.close()
