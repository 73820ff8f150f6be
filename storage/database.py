"""The database: one storage API over two backends, and their numbered migrations.

``DATABASE_URL`` picks the backend: ``sqlite:///…`` (the embedded default, one process,
:mod:`storage.sqlite`) or ``postgresql://user:pass@host:port/db`` (several processes on one
database, :mod:`storage.postgres`). The table modules (``storage.members``, ``.reminders``,
``.ledger``…) and everything above them see only :class:`Database`, :class:`Queries` and
:class:`Transaction`:

* ``fetchone`` / ``fetchall`` / ``fetchval`` read, ``execute`` (returns the row count) and
  ``executemany`` write, one statement each, committed on their own;
* ``async with db.transaction() as tx`` runs several statements atomically (``tx`` has the
  same five methods, and the batch operations below). A write whose rows are read back
  (``RETURNING``) goes through a transaction too: the ``fetch*`` methods of the database only
  read (on SQLite their connection is read-only).

SQL is written once, with ``?`` placeholders (``?1``, ``?2`` to reuse one), in the dialect
both engines share (``ON CONFLICT … DO UPDATE``, ``RETURNING``, partial indexes). The
PostgreSQL backend rewrites placeholders to ``$1…``. Table modules never ask which engine
they run on: where the SQL must differ, the backend does it (Red's rule for its config
drivers, one interface and the differences behind it):

* ``tx.skip_locked``, appended to a claiming ``SELECT``: ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, nothing on SQLite (one writer at a time, nothing to skip);
* ``tx.insert_deliveries`` (a claim batch into the ledger) and ``tx.advance_subscriptions``
  (their next fire times): one ``unnest`` statement per batch on PostgreSQL, where every
  statement is a round trip; ``executemany`` on SQLite, which runs in the process;
* schema versions, migration locks, LISTEN/NOTIFY: methods of each backend.

Features only PostgreSQL has — the send rate shared by every process
(:mod:`storage.send_rate`), IDENTIFY locks (:mod:`storage.identify`), the copy of
``migrate-db`` (:mod:`storage.transfer`) — take a :class:`~storage.postgres.PostgresDatabase`,
so mypy refuses them a SQLite database; a caller narrows once with :func:`is_postgres`.

Rows are read by column name (``row["next_fire_at"]``, or :func:`records` for rows made
into a dataclass), never by position: a column added to a ``SELECT`` cannot shift the others.

**What a read sees.** ``db.fetchone`` / ``fetchall`` / ``fetchval`` see only committed data,
on both backends: PostgreSQL reads on a pooled connection (READ COMMITTED), SQLite on a
read-only connection of its own beside the writer's (WAL lets it read while the writer
writes). So a command's reply, a dashboard page, ``/healthz`` or the dispatcher's "is
anything due?" never see another coroutine's transaction half-way — on SQLite that
transaction runs on the shared writer connection, and a read there would see rows that may
still roll back. Reads that must see their own uncommitted writes, or decide what to write,
go inside the transaction (``tx.fetch*``). The only exception is an in-memory SQLite
database (``sqlite://:memory:``, tests), which has no file a second connection could open;
its reads share the writer's connection. The dashboard reads on yet another connection
(:meth:`~storage.sqlite.SqliteDatabase.with_own_reads`), so page loads neither wait for nor
hold up the engine's reads.

Migrations: ``storage/migrations/NNNN_name.sql`` for SQLite and
``storage/migrations/postgresql/NNNN_name.sql`` for PostgreSQL, the same numbers and names
for the same change. Each pending one is applied in its own transaction together with the
record of the schema version, so a crash mid-migration leaves the previous version.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeGuard, TypeVar

from domain.errors import StartupError

if TYPE_CHECKING:  # the backends and the ledger import this module
    from storage.ledger import Claimant, NewDelivery
    from storage.postgres import PostgresDatabase

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]
T = TypeVar("T")


class Row(Protocol):
    """A result row (``sqlite3.Row`` and ``asyncpg.Record``): read it by column name."""

    def __getitem__(self, key: str, /) -> Any: ...

    def __iter__(self) -> Any: ...

    def __len__(self) -> int: ...

    def keys(self) -> Iterable[str]: ...


def records(cls: type[T], rows: Sequence[Row]) -> list[T]:
    """``rows`` as instances of the dataclass ``cls``, each column given to the field of its name.

    Names are matched once per result, not per row (a claim builds thousands of rows a
    second, and ``sqlite3.Row`` finds a name by comparing it with every column): when the
    columns are the fields in order, as the table modules select them, the rows go in
    positionally; otherwise by name. A column no field has is an error either way."""
    if not rows:
        return []
    make: Callable[..., T] = cls
    dataclass_type: type = cls
    names = tuple(rows[0].keys())
    if _fields_in_order(dataclass_type, names):
        return [make(*row) for row in rows]
    return [make(**dict(zip(names, row, strict=True))) for row in rows]


def record(cls: type[T], row: Row) -> T:
    """One row as ``cls`` (see :func:`records`)."""
    return records(cls, [row])[0]


@functools.cache
def _fields_in_order(cls: type, names: tuple[str, ...]) -> bool:
    return names == tuple(field.name for field in dataclasses.fields(cls))[: len(names)]


class Queries(Protocol):
    """What a table module runs SQL on: the database itself or an open transaction."""

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...


class Transaction(Queries, Protocol):
    """An open transaction, with the operations whose SQL differs between the engines."""

    #: Appended to a claiming ``SELECT … LIMIT ?``: rows another process is claiming right
    #: now are skipped rather than waited for, and never claimed twice (PostgreSQL's
    #: ``FOR UPDATE SKIP LOCKED``; empty on SQLite, whose one writer has nothing to skip).
    skip_locked: str

    async def insert_deliveries(
        self, rows: Sequence[NewDelivery], now: int, claimant: Claimant, returning: str
    ) -> list[Row]:
        """Insert ledger rows owned by ``claimant`` (an occurrence already recorded, same
        nonce, is left as it is); returns the columns ``returning`` of the rows in state
        ``claimed`` this call recorded, in no particular order."""
        ...

    async def advance_subscriptions(
        self, next_fires: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        """``(subscription id, next_fire_at)`` for each claimed subscription; a ``None`` next
        fire deactivates it as an invalid schedule."""
        ...


DueChanged = Callable[[], None]


class Database(ABC):
    """One database, whichever engine. Open it with :meth:`open`."""

    #: The engine's name, for messages; table modules never branch on it (see above).
    dialect: ClassVar[Dialect]
    #: Whether several bot processes may share this database (claims then carry leases that
    #: others honour); a SQLite file has exactly one bot process.
    shared: ClassVar[bool]
    #: Why writes fail right now while reads work (a full SQLite disk), for ``/healthz``;
    #: ``None`` when they succeed.
    write_problem: str | None = None

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    @abstractmethod
    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (``None`` without a row)."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
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


def is_postgres(db: Database) -> TypeGuard[PostgresDatabase]:
    """Narrow ``db`` to PostgreSQL for what only it has (the shared send rate, IDENTIFY
    locks), without importing asyncpg into a process that runs on SQLite."""
    return db.dialect == "postgresql"


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def refuse_newer_schema(current: int, migrations: list[Migration]) -> None:
    """A database a newer Steady wrote: end start-up with one line before anything is touched
    (its tables may mean what this code does not know)."""
    latest = migrations[-1].number if migrations else 0
    if current > latest:
        raise StartupError(
            f"the database's schema is version {current}, newer than this Steady knows "
            f"({latest}): run the newer Steady again, or restore a backup this version took"
        )


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
