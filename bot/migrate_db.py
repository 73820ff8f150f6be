"""``python -m bot migrate-db --to postgresql://…``: move the SQLite database to PostgreSQL.

Reads the SQLite database named by ``DATABASE_URL`` (brought up to date with its own
migrations first), applies the PostgreSQL migrations to the target, and copies every table
in one transaction with a progress bar (rich), checking the row count of each table. A
target that already holds rows is refused; a failed copy leaves the target empty, so the
command can be run again. Stop the bot first: rows it writes during the copy would be left
behind. Afterwards, set ``DATABASE_URL`` to the PostgreSQL URL and start the bot(s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.settings import read_settings
from domain.errors import DatabaseUnavailable, StartupError
from storage.database import Database
from storage.postgres import PostgresDatabase, describe_url
from storage.sqlite import SqliteDatabase, sqlite_path_from_url
from storage.transfer import TransferRefused, copy_sqlite_to_postgres, count_rows


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot migrate-db",
        description="Copy the SQLite database in DATABASE_URL into an empty PostgreSQL database.",
    )
    parser.add_argument(
        "--to", required=True, metavar="postgresql://user:password@host:5432/database"
    )
    return parser.parse_args(argv)


def _source_url() -> str:
    url = read_settings().database_url
    if not url.startswith("sqlite://"):
        raise StartupError(
            "DATABASE_URL must name the SQLite database to copy from (sqlite:///path/to/file)"
        )
    path = sqlite_path_from_url(url)
    if isinstance(path, Path) and not path.is_file():
        # Opening it would create an empty database (the bot does that on first start), and
        # a mistyped path would then "copy" nothing, successfully.
        raise StartupError(f"DATABASE_URL: there is no SQLite database at {path}; nothing to copy")
    return url


async def _open_target(url: str) -> PostgresDatabase:
    """The PostgreSQL database of ``--to`` (its refusals name ``--to``, not DATABASE_URL)."""
    try:
        target = await Database.open(url)
    except StartupError as error:
        raise StartupError(str(error).replace("DATABASE_URL:", "--to:", 1)) from None
    assert isinstance(target, PostgresDatabase)
    return target


async def migrate(target_url: str, console: Console) -> None:
    if not target_url.startswith(("postgresql://", "postgres://")):
        raise StartupError("--to must be a postgresql://user:password@host:port/database URL")
    source = await SqliteDatabase.connect(_source_url())
    try:
        await source.migrate()
        target = await _open_target(target_url)
        try:
            await target.migrate()
            totals = await count_rows(source)
            with Progress(
                TextColumn("{task.description:<15}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                bars = {table: progress.add_task(table, total=n) for table, n in totals.items()}
                counts = await copy_sqlite_to_postgres(
                    source, target, lambda table, n: progress.advance(bars[table], n)
                )
        finally:
            await target.close()
    finally:
        await source.close()
    for count in counts:
        console.print(
            f"{count.table:<15} {count.source:>10,} rows in SQLite, {count.target:>10,} copied ✓"
        )
    console.print(
        f"Done: {sum(c.target for c in counts):,} rows copied to {describe_url(target_url)}. "
        "Set DATABASE_URL to it and start the bot."
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    try:
        asyncio.run(migrate(args.to, console))
    except (StartupError, TransferRefused) as error:
        print(f"steady migrate-db: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable:
        print(
            "steady migrate-db: lost the connection to PostgreSQL during the copy; "
            "nothing was kept, run it again",
            file=sys.stderr,
        )
        return 2
    return 0
