"""One send schedule for every process of the bot token: a GCRA row in PostgreSQL.

GCRA keeps one number, the *theoretical arrival time* (TAT): the moment the next request
may go. Reserving ``count`` slots ``interval`` apart moves it to
``max(TAT, now) + count × interval`` and hands out the slots from the old value — one
``UPDATE`` on one row, atomic under PostgreSQL's row lock, so processes can never be given
overlapping slots, and an idle schedule restarts at *now* instead of saving capacity up.

The row lives in ``bot_state`` (key ``send_rate_tat``, seconds since the epoch as text) so no
migration is needed. Times are PostgreSQL's clock (``statement_timestamp()``): the processes
may run on machines whose clocks disagree, the database is the one clock they share. The
caller maps them onto its own monotonic clock with the ``now`` returned alongside.

PostgreSQL only (a SQLite file has one process, which paces itself): the functions take a
:class:`PostgresDatabase`, so mypy refuses them any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a bot on SQLite never loads asyncpg
    from storage.postgres import PostgresDatabase

KEY = "send_rate_tat"
_NOW = "extract(epoch FROM statement_timestamp())::float8"


async def reserve(db: PostgresDatabase, count: int, interval: float) -> tuple[float, float]:
    """Reserve ``count`` consecutive slots; returns (first slot, database now), epoch seconds."""
    span = count * interval
    row = await db.fetchone(
        f"INSERT INTO bot_state (key, value) VALUES (?1, ({_NOW} + ?2::float8)::text) "
        "ON CONFLICT (key) DO UPDATE SET value = "
        f"(GREATEST(bot_state.value::float8, {_NOW}) + ?2::float8)::text "
        f"RETURNING value::float8 - ?2::float8 AS first_slot, {_NOW} AS db_now",
        (KEY, span),
    )
    assert row is not None  # an upsert with RETURNING always returns its row
    return float(row["first_slot"]), float(row["db_now"])


async def hold_until(db: PostgresDatabase, seconds_from_now: float) -> None:
    """Nobody gets a slot for ``seconds_from_now`` (Discord answered a global 429)."""
    await db.execute(
        f"INSERT INTO bot_state (key, value) VALUES (?1, ({_NOW} + ?2::float8)::text) "
        "ON CONFLICT (key) DO UPDATE SET value = "
        f"GREATEST(bot_state.value::float8, {_NOW} + ?2::float8)::text",
        (KEY, seconds_from_now),
    )
