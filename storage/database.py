"""The database: one storage API over two backends, and their numbered migrations.

``DATABASE_URL`` picks the backend: ``sqlite:///…`` (the embedded default, one process,
:mod:`storage.sqlite`) or ``postgresql://user:pass@host:port/db`` (several processes on one
database, :mod:`storage.postgres`). The table modules (``storage.members``, ``.reminders``,
``.ledger``…) and everything above them see only :class:`Database` and :class:`Queries`:

* ``fetchone`` / ``fetchall`` / ``fetchval`` read, ``execute`` (returns the row count) and
  ``executemany`` write, one statement each, committed on their own;
* ``async with db.transaction() as tx`` runs several statements atomically (``tx`` has the
  same five methods). A write whose rows are read back (``RETURNING``) goes through a
  transaction too: on SQLite the ``fetch*`` methods of the database take no write lock.

SQL is written once, with ``?`` placeholders (``?1``, ``?2`` to reuse one), in the dialect
both engines share (``ON CONFLICT … DO UPDATE``, ``RETURNING``, partial indexes). The
PostgreSQL backend rewrites placeholders to ``$1…``. Where the SQL must differ (claiming
with ``FOR UPDATE SKIP LOCKED``, schema versions, advisory locks, LISTEN/NOTIFY), the
table module asks ``db.dialect`` or the backend implements a method of its own.

Migrations: ``storage/migrations/NNNN_name.sql`` for SQLite and
``storage/migrations/postgresql/NNNN_name.sql`` for PostgreSQL, the same numbers and names
for the same change. Each pending one is applied in its own transaction together with the
record of the schema version, so a crash mid-migration leaves the previous version.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from domain.errors import StartupError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class Row(Protocol):
    """A result row: by position or by column name (``aiosqlite.Row`` and ``asyncpg.Record``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Any: ...

    def __len__(self) -> int: ...


class Queries(Protocol):
    """What a table module runs SQL on: the database itself or an open transaction."""

    dialect: Dialect

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...


DueChanged = Callable[[], None]


class Database(ABC):
    """One database, whichever engine. Open it with :meth:`open`."""

    dialect: ClassVar[Dialect]
    #: Whether several bot processes may share this database (claims then carry leases that
    #: others honour); a SQLite file has exactly one bot process.
    shared: ClassVar[bool]

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        """Several statements committed together (rolled back on any error)."""

    @abstractmethod
    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        """Apply pending migrations; returns the schema version now in force."""

    @abstractmethod
    async def close(self) -> None: ...

    # --- telling other processes that something became due -----------------------------

    async def announce_due_change(self) -> None:
        """Tell the other processes' dispatchers to look again (no-op with one process)."""
        return None

    async def listen_due_changes(self, callback: DueChanged) -> None:
        """Call ``callback`` when another process announces a change (no-op with one process)."""
        return None

    @staticmethod
    async def open(url: str, *, warm: bool = False) -> Database:
        """Connect to ``DATABASE_URL``, or raise :class:`StartupError` with one line (no secret).

        ``warm``: the running bot's connection pool opens every connection up front and keeps
        them (PostgreSQL), so the first burst of reminders does not wait for new ones."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("postgresql", "postgres"):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(url, warm=warm)
        if scheme == "sqlite":
            from storage.sqlite import SqliteDatabase

            return await SqliteDatabase.connect(url)
        shown = scheme or url.split(":", 1)[0][:20]
        raise StartupError(
            f"DATABASE_URL: unsupported scheme {shown!r}; use sqlite:///path/to/file.sqlite3 "
            "or postgresql://user:password@host:port/database"
        )


def skip_locked(tx: Queries) -> str:
    """Appended to a claiming ``SELECT``: on PostgreSQL, rows another process is claiming right
    now are skipped rather than waited for (and never claimed twice). SQLite has one writer
    at a time (``BEGIN IMMEDIATE``), so there is nothing to skip."""
    return " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise StartupError(f"{directory.name}/{path.name}: name must be NNNN_name.sql")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StartupError(f"{directory}: numbers must run 1, 2, 3… without gaps: {numbers}")
    return migrations
