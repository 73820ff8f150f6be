"""``python -m bot backup PATH`` and ``python -m bot restore PATH``, and the scheduled backups.

Exit codes (docs/operations.md#backups): 0 done; 2 refused or failed with one line on
stderr saying why, and nothing changed — including on PostgreSQL, where the line says to use
``pg_dump``/``pg_restore`` (or the provider's backups) instead.

``restore`` replaces the SQLite file of ``DATABASE_URL`` with the backup: it refuses while a
bot runs on that file (the bot holds ``<file>-run.lock``), checks the backup (integrity, a
schema version this code can read; an older one is upgraded with the bot's own migrations),
keeps the file it replaces beside it (``<file>.replaced-<moment>``), and settles the copy
(:func:`storage.backup.settle_restored`) so that nothing is sent twice and no backlog floods.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot import __version__
from bot.settings import Settings
from domain.errors import StartupError
from storage import tombstones
from storage.backup import (
    BackupError,
    backups_in,
    held,
    lock_path,
    read_info,
    rotate,
    settle_restored,
    take_backup,
)
from storage.database import Database, load_migrations
from storage.sqlite import SqliteDatabase, sqlite_path_from_url

log = logging.getLogger(__name__)

POSTGRES_LINE = (
    "DATABASE_URL is PostgreSQL: back it up with pg_dump and restore with pg_restore "
    "(or use your provider's backups); see docs/operations.md#backups"
)


def database_path(url: str) -> Path:
    """The SQLite file of ``DATABASE_URL``; PostgreSQL gets the one line about pg_dump."""
    if url.split("://", 1)[0].lower() in ("postgresql", "postgres"):
        raise BackupError(POSTGRES_LINE)
    try:
        path = sqlite_path_from_url(url)
    except StartupError as error:
        raise BackupError(str(error)) from None
    if not isinstance(path, Path):
        raise BackupError("DATABASE_URL is an in-memory database: there is nothing to back up")
    return path


def _database_url() -> str:
    try:
        return Settings().database_url
    except ValidationError as error:
        raise BackupError(f"settings are invalid: {error.errors()[0]['msg']}") from None


# --- backup -----------------------------------------------------------------------------------


def backup(target: Path) -> str:
    info = take_backup(database_path(_database_url()), target, steady_version=__version__)
    return f"backup written to {info.path} (schema {info.schema_version}, taken {info.taken})"


# --- restore ----------------------------------------------------------------------------------


async def _upgrade(url: str) -> int:
    db = await SqliteDatabase.connect(url)
    try:
        return await db.migrate()
    finally:
        await db.close()


def _move_aside(database: Path, stamp: str) -> Path | None:
    """The database being replaced, renamed beside itself with its WAL (never deleted)."""
    if not database.exists():
        return None
    aside = database.with_name(f"{database.name}.replaced-{stamp}")
    os.replace(database, aside)
    for suffix in ("-wal", "-shm"):
        extra = database.with_name(database.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    return aside


def restore(source: Path, *, now: int | None = None) -> str:
    database = database_path(_database_url())
    refusal = (
        f"a Steady bot is running on {database} (it holds {lock_path(database).name}); "
        "stop it first"
    )
    with held(database, refusal):
        info = read_info(source)
        latest = load_migrations()[-1].number
        if info.schema_version > latest:
            raise BackupError(
                f"{source} has schema version {info.schema_version}, newer than this Steady "
                f"knows ({latest}); restore it with that newer Steady"
            )
        now = int(time.time()) if now is None else now
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        staging = database.with_name(f"{database.name}.restoring")
        for leftover in (staging, *(staging.with_name(staging.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging)
            try:
                schema = asyncio.run(_upgrade(f"sqlite:///{staging.resolve()}"))
            except StartupError as error:
                raise BackupError(f"cannot upgrade the backup: {error}") from None
            settled = settle_restored(staging, database, info.taken_at, now)
            aside = _move_aside(database, stamp)
            os.replace(staging, database)
        except OSError as error:
            raise BackupError(
                f"cannot restore into {database}: {error.strerror or error}"
            ) from None
        finally:
            staging.unlink(missing_ok=True)
    upgraded = (
        f", upgraded from schema {info.schema_version} to {schema}"
        if schema != info.schema_version
        else ""
    )
    kept = f"; the replaced database is kept at {aside}" if aside else ""
    unread = (
        ""
        if settled.replaced_readable or aside is None
        else " (the replaced database could not be read: occurrences since the backup are all "
        "recorded as not sent, and later privacy deletions could not be re-applied)"
    )
    return (
        f"restored {source} (taken {info.taken}{upgraded}) into {database}: "
        f"{settled.not_sent} reminders due since then marked not to be sent, "
        f"{settled.sent_meanwhile} recorded as sent meanwhile, "
        f"{len(settled.deletions)} privacy deletions re-applied{kept}{unread}"
    )


# --- the command line -------------------------------------------------------------------------


def main(command: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m bot {command}",
        description=(
            "Write a consistent copy of the SQLite database while the bot runs."
            if command == "backup"
            else "Replace the SQLite database with a backup (stop the bot first)."
        ),
    )
    parser.add_argument(
        "path",
        type=Path,
        help="the backup file (or, for backup, a folder to name one in)",
    )
    args = parser.parse_args(argv)
    try:
        line = backup(args.path) if command == "backup" else restore(args.path)
    except BackupError as error:
        print(f"steady {command}: {error}", file=sys.stderr)
        return 2
    print(line)
    return 0


# --- scheduled backups in the bot process -----------------------------------------------------


async def take_scheduled(db: Database, database: Path, folder: Path, keep: int) -> Path:
    """One backup into ``folder``, then the oldest beyond ``keep`` removed, and the tombstones
    older than the oldest kept backup forgotten."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    info = await asyncio.to_thread(take_backup, database, folder, steady_version=__version__)
    removed = await asyncio.to_thread(rotate, folder, keep)
    kept = backups_in(folder)
    if removed and kept:
        with contextlib.suppress(BackupError):
            oldest = await asyncio.to_thread(read_info, kept[0])
            await tombstones.prune(db, oldest.taken_at)
    log.info("backup written to %s (%d kept, %d rotated out)", info.path, len(kept), len(removed))
    return info.path


async def run_scheduled(
    db: Database, database: Path, folder: Path, every_hours: float, keep: int
) -> None:
    """Every ``every_hours``, a backup into ``folder``; the first as soon as the newest one
    there is that old (at once on a fresh folder). A failed backup is one log line and is
    tried again at the next interval; the bot goes on."""
    every_s = every_hours * 3600
    while True:
        kept = backups_in(folder)
        age = time.time() - kept[-1].stat().st_mtime if kept else every_s
        if age < every_s:
            await asyncio.sleep(every_s - age)
            continue
        try:
            await take_scheduled(db, database, folder, keep)
        except BackupError as error:
            log.error("scheduled backup failed: %s", error)
        except Exception:
            log.exception("scheduled backup failed")
        await asyncio.sleep(every_s)
