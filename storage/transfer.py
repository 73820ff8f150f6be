"""Copying a SQLite database into an empty PostgreSQL one (``python -m bot migrate-db``).

The copy is one PostgreSQL transaction: the rows of every table (read from SQLite in
``rowid`` order, a chunk at a time, written with ``COPY``), the identity sequences moved
past the copied ids, and a row count per table compared with the source. Any failure —
a count that differs, the network, a kill — rolls all of it back, so the target is empty
again and the command can simply be run again. A target that already holds rows is refused:
the copy never merges into, or overwrites, a database in use.

Both schemas come from the numbered migrations (the source is brought up to date first), so
the tables and columns are the same on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from storage.database import Database
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase

# Parents before children (snoozes reference subscriptions).
TABLES = (
    "bot_state",
    "members",
    "subscriptions",
    "snoozes",
    "deliveries",
    "guild_settings",
    "deleted_members",
)
# Tables whose id is an identity column on PostgreSQL: the next id must follow the copied ones.
IDENTITY_TABLES = ("subscriptions", "snoozes", "deliveries")
CHUNK = 5_000

Progress = Callable[[str, int], None]  # (table, rows copied just now)


class TransferRefused(Exception):
    """The copy cannot or must not go ahead (the message says why, in one line)."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


async def count_rows(db: Database) -> dict[str, int]:
    return {table: int(await db.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}


async def non_empty_tables(db: Database) -> list[str]:
    return [table for table, count in (await count_rows(db)).items() if count]


async def _columns(target: PostgresDatabase, table: str) -> list[str]:
    rows = await target.fetchall(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )
    return [row["column_name"] for row in rows]


async def copy_sqlite_to_postgres(
    source: SqliteDatabase, target: PostgresDatabase, progress: Progress = lambda _t, _n: None
) -> list[TableCount]:
    """Copy every table in one transaction; raises :class:`TransferRefused` (target left as it
    was) if the target holds rows or a table's count differs after the copy."""
    busy = await non_empty_tables(target)
    if busy:
        raise TransferRefused(
            f"the target database is not empty (rows in {', '.join(busy)}); "
            "migrate-db only copies into an empty database"
        )
    expected = await count_rows(source)
    counts: list[TableCount] = []
    async with target.connection() as conn, conn.transaction():
        for table in TABLES:
            columns = await _columns(target, table)
            listed = ", ".join(columns)
            last_rowid = -(2**63)
            while True:
                chunk = await source.fetchall(
                    f"SELECT {listed}, rowid AS copied_rowid FROM {table} WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?",
                    (last_rowid, CHUNK),
                )
                if not chunk:
                    break
                last_rowid = chunk[-1]["copied_rowid"]
                # COPY takes tuples in the order of ``columns``, the order they were selected.
                records = [tuple(row)[:-1] for row in chunk]
                try:
                    await conn.copy_records_to_table(table, records=records, columns=columns)
                except (asyncpg.PostgresError, asyncpg.DataError) as error:
                    raise TransferRefused(
                        f"{table}: PostgreSQL refused a row ({error.__class__.__name__}: "
                        f"{str(error).splitlines()[0][:200]}); nothing was kept"
                    ) from None
                progress(table, len(records))
            copied = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
            if copied != expected[table]:
                raise TransferRefused(
                    f"{table}: {expected[table]} rows in SQLite but {copied} copied; "
                    "nothing was kept, run it again"
                )
            counts.append(TableCount(table, expected[table], copied))
        for table in IDENTITY_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        # Fresh statistics: until autovacuum gets to them, the planner takes the new tables
        # for empty and scans a million rows where one index seek would do.
        for table in TABLES:
            await conn.execute(f"ANALYZE {table}")
    return counts
