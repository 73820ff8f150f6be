"""The PostgreSQL backend (asyncpg): several bot processes sharing one database.

* A connection pool; one-statement calls take any connection, a transaction holds one.
* SQL arrives with SQLite's ``?`` / ``?N`` placeholders and is rewritten to ``$N`` once
  per statement text (cached); quoted literals are left alone.
* Connection trouble while running (server restarting, network gone) surfaces as
  :class:`~DatabaseUnavailable`, whichever asyncpg error it was; the pool
  reconnects by itself once the server is back.
* Migrations run under a session advisory lock, so processes starting together apply each
  one once; the applied versions are rows of ``schema_migrations``.
* ``announce_due_change`` is a ``NOTIFY`` on channel ``steady_due``; ``listen_due_changes``
  keeps one extra connection ``LISTEN``-ing (reconnecting after a restart, and then calling
  back once, since a notification sent while it was away is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import asyncpg

from domain.enums import DeliveryState, PauseReason
from domain.errors import DatabaseUnavailable, StartupError
from storage.database import (
    MIGRATIONS_DIR,
    Database,
    DueChanged,
    Migration,
    Params,
    Row,
    load_migrations,
    refuse_newer_schema,
)

if TYPE_CHECKING:
    from storage.ledger import Claimant, NewDelivery

log = logging.getLogger(__name__)

POSTGRES_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
NOTIFY_CHANNEL = "steady_due"
# pg_advisory_lock key for migrations: any constant the bot uses for nothing else ("Steady").
MIGRATION_LOCK = 0x537465616479
CONNECT_TIMEOUT_S = 10.0
#: Connections per process: the dispatcher, eight senders, the send-rate row and commands.
POOL_SIZE = 10
URL_HINT = "postgresql://user:password@host:5432/database"


# --- URLs and errors ------------------------------------------------------------------------


def describe_url(url: str) -> str:
    """``user@host:port/database``: what a message may show of the URL (never the password)."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{user}{parts.hostname or '?'}{port}{parts.path or ''}"


def check_url(url: str) -> None:
    """Refuse a malformed URL with one line, before asyncpg sees it."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise StartupError(f"DATABASE_URL: not a valid URL ({URL_HINT})") from None
    try:
        parts.port  # noqa: B018 (a non-numeric or out-of-range port raises here)
    except ValueError:
        raise StartupError(f"DATABASE_URL: the port must be a number ({URL_HINT})") from None
    if not parts.hostname:
        raise StartupError(f"DATABASE_URL: no host ({URL_HINT})")
    if parts.path in ("", "/"):
        raise StartupError(f"DATABASE_URL: no database name ({URL_HINT})")


def _without_secret(text: str, url: str) -> str:
    """``text`` with the URL's password masked wherever it stands on its own.

    Only where it stands on its own (not inside a longer word): a short password such as
    "p" must not turn asyncpg's "parameter" into "***arameter"."""
    password = urlsplit(url).password
    if password:
        for form in {password, unquote(password)}:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text


# Errors that mean "the server is not there right now", not "this statement is wrong".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


def _is_connection_lost(error: Exception) -> bool:
    """An asyncpg client-side error that means "this connection is gone", not a bug.

    ``InterfaceError``: a statement on a connection asyncpg already saw closing.
    ``InternalClientError`` "cannot switch to state …; another operation (2) is in progress":
    when the server shuts down it sends each idle connection a FATAL message, then hangs up.
    asyncpg puts a connection that gets a message while idle in its error state (2) until the
    hang-up is read; a statement started in between fails with this before anything is sent.
    The pool throws that connection away on release, so trying again reconnects.
    """
    text = str(error)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return "another operation" in text
    return "closed" in text or "not connected" in text


@contextlib.contextmanager
def _unavailable_as_one_error() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise DatabaseUnavailable(f"PostgreSQL unavailable: {error.__class__.__name__}") from None
    except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as error:
        if _is_connection_lost(error):
            raise DatabaseUnavailable("PostgreSQL connection lost") from None
        raise


# --- placeholders ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def to_dollar_params(sql: str) -> str:
    """``?`` → ``$1, $2…`` in order; ``?3`` → ``$3``; text inside quotes is left alone."""
    out: list[str] = []
    count = 0
    i = 0
    quote: str | None = None
    while i < len(sql):
        char = sql[i]
        if quote:
            out.append(char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            j = i + 1
            while j < len(sql) and sql[j].isdigit():
                j += 1
            if j > i + 1:
                out.append("$" + sql[i + 1 : j])
            else:
                count += 1
                out.append(f"${count}")
            i = j
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _rowcount(status: str) -> int:
    """asyncpg returns the command tag (``UPDATE 3``, ``INSERT 0 1``): its last number."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


# --- the backend ----------------------------------------------------------------------------


class _Statements:
    """The query methods over one pooled connection inside a transaction."""

    #: See :class:`~storage.database.Transaction`: processes claiming at the same moment
    #: each get different rows, and none waits for another.
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        with _unavailable_as_one_error():
            return await self.conn.fetchrow(to_dollar_params(sql), *params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with _unavailable_as_one_error():
            return list(await self.conn.fetch(to_dollar_params(sql), *params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        with _unavailable_as_one_error():
            return await self.conn.fetchval(to_dollar_params(sql), *params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _unavailable_as_one_error():
            return _rowcount(await self.conn.execute(to_dollar_params(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(row) for row in rows]
        if batch:
            with _unavailable_as_one_error():
                await self.conn.executemany(to_dollar_params(sql), batch)

    # Batches: one statement over arrays (``unnest``), a single round trip and plan for the
    # whole batch instead of one per row — what kept the claim under 5,000/s
    # (docs/benchmarks.md).

    async def insert_deliveries(
        self, rows: Sequence[NewDelivery], now: int, claimant: Claimant, returning: str
    ) -> list[Row]:
        if not rows:
            return []
        return await self.fetchall(
            "WITH inserted AS (INSERT INTO deliveries (nonce, source, subscription_id, scheduled_at, kind, "
            "user_id, guild_id, state, error, claimed_at, updated_at, claimed_by, lease_until) "
            "SELECT n, src, sub, sched, k, u, g, st, e, ?10, ?10, ?11, ?12 FROM unnest("
            "?1::text[], ?2::text[], ?3::bigint[], ?4::bigint[], ?5::text[], ?6::bigint[], "
            "?7::bigint[], ?8::text[], ?9::text[]) AS t(n, src, sub, sched, k, u, g, st, e) "
            "ON CONFLICT (nonce) DO NOTHING RETURNING *) "
            f"SELECT {returning} FROM inserted WHERE state = '{DeliveryState.CLAIMED}'",
            (
                [r.nonce for r in rows],
                [r.source for r in rows],
                [r.subscription_id for r in rows],
                [r.scheduled_at for r in rows],
                [r.kind for r in rows],
                [r.user_id for r in rows],
                [r.guild_id for r in rows],
                [r.state for r in rows],
                [r.error for r in rows],
                now,
                claimant.name,
                claimant.lease_until(now),
            ),
        )

    async def advance_subscriptions(
        self, next_fires: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        if not next_fires:
            return
        await self.execute(
            "UPDATE subscriptions AS s SET next_fire_at = v.next_at, updated_at = ?3, "
            "active = CASE WHEN v.next_at IS NULL THEN 0 ELSE s.active END, "
            f"paused_reason = CASE WHEN v.next_at IS NULL THEN '{PauseReason.INVALID_SCHEDULE}' "
            "ELSE s.paused_reason END "
            "FROM unnest(?1::bigint[], ?2::bigint[]) AS v(id, next_at) WHERE s.id = v.id",
            ([f[0] for f in next_fires], [f[1] for f in next_fires], now),
        )


class PostgresDatabase(Database):
    dialect = "postgresql"
    shared = True

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, url: str, *, max_size: int = POOL_SIZE, warm: bool = False
    ) -> PostgresDatabase:
        """A pool of up to ``max_size`` connections.

        ``warm`` (the running bot): every connection is opened now and kept however long it
        idles. A new connection costs a backend start, a SCRAM exchange and asyncpg's type
        look-ups for the claim's arrays, and a pool that had shrunk while the bot was quiet
        opened them exactly when a burst of reminders came due: the first sends of a burst
        went out ~0.3 s late. JIT is off: these are short queries, and JIT compiling
        asyncpg's type look-up takes longer than the query (asyncpg's own advice).
        """
        check_url(url)
        where = describe_url(url)
        try:
            pool = await asyncpg.create_pool(
                dsn=url,
                min_size=max_size if warm else 1,
                max_size=max_size,
                max_inactive_connection_lifetime=0 if warm else 300.0,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"jit": "off"},
            )
        except asyncpg.InvalidPasswordError:
            raise StartupError(
                f"DATABASE_URL: PostgreSQL refused the password for {where}"
            ) from None
        except asyncpg.InvalidCatalogNameError:
            raise StartupError(f"DATABASE_URL: no such database on the server: {where}") from None
        except asyncpg.InvalidAuthorizationSpecificationError as error:
            raise StartupError(
                f"DATABASE_URL: PostgreSQL refused {where}: {_without_secret(error.message, url)}"
            ) from None
        except TimeoutError:
            raise StartupError(
                f"DATABASE_URL: no answer from PostgreSQL at {where} within {CONNECT_TIMEOUT_S:g} s"
            ) from None
        except OSError as error:
            reason = error.strerror or error.__class__.__name__
            raise StartupError(
                f"DATABASE_URL: cannot reach PostgreSQL at {where}: {reason}"
            ) from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as error:
            detail = _without_secret(str(error).splitlines()[0] if str(error) else "", url)
            raise StartupError(
                f"DATABASE_URL: cannot connect to PostgreSQL at {where}: "
                f"{error.__class__.__name__}: {detail}"
            ) from None
        assert pool is not None
        return cls(pool, url)

    # --- one statement -------------------------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        with _unavailable_as_one_error():
            return await self.pool.fetchrow(to_dollar_params(sql), *params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with _unavailable_as_one_error():
            return list(await self.pool.fetch(to_dollar_params(sql), *params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        with _unavailable_as_one_error():
            return await self.pool.fetchval(to_dollar_params(sql), *params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _unavailable_as_one_error():
            return _rowcount(await self.pool.execute(to_dollar_params(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(row) for row in rows]
        if batch:
            with _unavailable_as_one_error():
                await self.pool.executemany(to_dollar_params(sql), batch)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Statements]:
        with _unavailable_as_one_error():
            async with self.pool.acquire() as conn, conn.transaction():
                yield _Statements(conn)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A raw pooled connection, for what only PostgreSQL has (``COPY``)."""
        with _unavailable_as_one_error():
            async with self.pool.acquire() as conn:
                yield conn

    # --- migrations ----------------------------------------------------------------------

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        migrations = load_migrations(POSTGRES_MIGRATIONS_DIR) if migrations is None else migrations
        try:
            async with self.pool.acquire() as conn:
                # Two processes starting together: the second waits here, then finds
                # everything applied. A session lock (not one per transaction) so that
                # each migration still commits on its own.
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    return await self._apply(conn, migrations)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        except _UNAVAILABLE + (asyncpg.InterfaceError,) as error:
            raise StartupError(
                f"DATABASE_URL: lost PostgreSQL at {describe_url(self.url)} while migrating: "
                f"{error.__class__.__name__}"
            ) from None

    @staticmethod
    async def _apply(conn: asyncpg.Connection, migrations: list[Migration]) -> int:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        refuse_newer_schema(current, migrations)
        for migration in migrations:
            if migration.number <= current:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.number,
                        migration.name,
                    )
            except asyncpg.PostgresError as error:
                raise StartupError(f"migration {migration.name} failed: {error}") from None
            log.info("applied migration %s", migration.name)
            current = migration.number
        return int(current)

    # --- NOTIFY / LISTEN -------------------------------------------------------------------

    async def announce_due_change(self) -> None:
        await self.execute("SELECT pg_notify(?, '')", (NOTIFY_CHANNEL,))

    async def listen_due_changes(self, callback: DueChanged) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(callback), name="steady-listen")

    async def _listen(self, callback: DueChanged, retry_s: float = 1.0) -> None:
        connected_before = False
        while True:
            try:
                conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
            except Exception as error:  # down or restarting: try again shortly
                log.debug("LISTEN connection failed: %s", error.__class__.__name__)
                await asyncio.sleep(retry_s)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_args: callback())
                if connected_before:
                    log.info("listening for reminder changes again")
                    callback()  # whatever was announced while we were away
                connected_before = True
                while not lost.is_set():
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow the
                    # cancellation close() sends, and this loop would never end.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(10.0):
                            await lost.wait()
                    if not lost.is_set():  # a dead peer sends no goodbye: ask now and then
                        async with asyncio.timeout(5.0):
                            await conn.execute("SELECT 1")
            except Exception as error:
                log.debug("LISTEN connection lost: %s", error.__class__.__name__)
            finally:
                with contextlib.suppress(Exception):
                    conn.terminate()
            await asyncio.sleep(retry_s)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self.pool.close()
