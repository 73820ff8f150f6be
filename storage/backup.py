"""Backups of the SQLite database, and restoring one without sending a reminder twice.

* :func:`take_backup` copies the database with SQLite's online backup API while the bot
  runs (WAL: the copy reads one consistent snapshot beside the bot's writes), into a
  temporary name in the target folder; it records the moment and the schema version inside
  the copy (``bot_state`` keys ``backup.*``), checks it (``PRAGMA integrity_check``) and only
  then renames it to its final name. A half-written backup never carries the final name.
* :class:`RunLock` is an exclusive ``flock`` on ``<database>-run.lock`` that the running bot
  holds for as long as it runs (the kernel drops it when the process ends, ``kill -9``
  included). ``restore`` takes the same lock, so it refuses while a bot runs on the file, and
  a bot started during a restore refuses to start.
* :func:`settle_restored` makes a restored copy safe to start: everything that fell due
  between the backup's moment and now is recorded as not to be sent (``Reason.RESTORED``)
  unless the replaced database's ledger says what became of it, ``next_fire_at`` moves past
  now, and the privacy deletions made after the backup are made again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from domain.enums import DeliveryState, Reason
from domain.schedule import next_fire_ts
from storage import ledger
from storage.tombstones import MEMBER_TABLES

TAKEN_AT_KEY = "backup.taken_at"
SCHEMA_KEY = "backup.schema_version"
VERSION_KEY = "backup.steady_version"
BACKUP_KEYS = (TAKEN_AT_KEY, SCHEMA_KEY, VERSION_KEY)
#: Scheduled backups are named by their moment, so sorting the names sorts them by age.
NAME_FORMAT = "steady-%Y%m%dT%H%M%SZ.sqlite3"
NAME_PATTERN = re.compile(r"^steady-\d{8}T\d{6}Z\.sqlite3$")
#: At most this many restored occurrences are written per subscription (a backup months old
#: would otherwise write thousands per member); older ones are skipped without a record.
MAX_RECORDED_PER_SUBSCRIPTION = 500
_PENDING = (DeliveryState.CLAIMED, DeliveryState.SENDING)
_FINAL_COLUMNS = (
    "state, channel_id, message_id, via, attempts, error, outcome, outcome_at, updated_at, sent_at"
)


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why in one line."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_at: int
    schema_version: int
    steady_version: str | None = None

    @property
    def taken(self) -> str:
        return datetime.fromtimestamp(self.taken_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- the lock a running bot holds -------------------------------------------------------------


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + "-run.lock")


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``<database>-run.lock``, held until :meth:`release`."""

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held open for the life of the lock)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")  # for a person looking; the lock is what counts
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@contextlib.contextmanager
def held(database: Path, refusal: str) -> Iterator[RunLock]:
    lock = RunLock(database)
    if not lock.try_acquire():
        raise BackupError(refusal)
    try:
        yield lock
    finally:
        lock.release()


# --- taking a backup ----------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_integrity(conn: sqlite3.Connection) -> str | None:
    """``None`` when ``PRAGMA integrity_check`` says ok, else its first complaint."""
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    first = str(rows[0][0]) if rows else "no answer"
    return None if first == "ok" else first


def take_backup(
    database: Path,
    target: Path,
    *,
    steady_version: str = "",
    now: float | None = None,
) -> BackupInfo:
    """Copy ``database`` to ``target`` (a file, or a folder to name one in) consistently.

    Safe while the bot writes: the copy is one read transaction of the WAL database."""
    if not database.is_file():
        raise BackupError(f"there is no SQLite database at {database}")
    taken_at = int(time.time() if now is None else now)
    if target.is_dir():
        target = target / datetime.fromtimestamp(taken_at, UTC).strftime(NAME_FORMAT)
    if target.resolve() == database.resolve():
        raise BackupError("the backup cannot overwrite the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        source = _connect(database)
        try:
            source.execute("PRAGMA query_only=ON")
            copy = sqlite3.connect(partial, isolation_level=None)
            try:
                # All pages in one step: one read transaction, so one consistent snapshot
                # (copying a few pages at a time restarts whenever the bot writes meanwhile).
                source.backup(copy)
                # One self-contained file, whatever the source's journal mode.
                copy.execute("PRAGMA journal_mode=DELETE")
                schema = int(copy.execute("PRAGMA user_version").fetchone()[0])
                copy.executemany(
                    "INSERT INTO bot_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [
                        (TAKEN_AT_KEY, str(taken_at)),
                        (SCHEMA_KEY, str(schema)),
                        (VERSION_KEY, steady_version),
                    ],
                )
                problem = check_integrity(copy)
            finally:
                copy.close()
        finally:
            source.close()
        if problem is not None:
            raise BackupError(f"the copy failed its integrity check: {problem}")
        _fsync(partial)
        os.replace(partial, target)
        with contextlib.suppress(OSError):  # the rename itself, durable where it can be
            _fsync(target.parent)
    except sqlite3.Error as error:
        raise BackupError(f"cannot back up {database}: {error}") from None
    except OSError as error:
        raise BackupError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(target, taken_at, schema, steady_version or None)


def read_info(path: Path) -> BackupInfo:
    """Check a backup file (SQLite, intact, taken by ``backup``) and say what it holds."""
    if not path.is_file():
        raise BackupError(f"there is no backup at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problem = check_integrity(conn)
            if problem is not None:
                raise BackupError(f"{path} is damaged (integrity check: {problem})")
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            values = dict(
                conn.execute(
                    "SELECT key, value FROM bot_state WHERE key IN (?, ?, ?)", BACKUP_KEYS
                ).fetchall()
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a Steady backup ({error})") from None
    if TAKEN_AT_KEY not in values:
        raise BackupError(
            f"{path} records no backup moment; take backups with `python -m bot backup`"
        )
    return BackupInfo(path, int(values[TAKEN_AT_KEY]), schema, values.get(VERSION_KEY) or None)


def backups_in(folder: Path) -> list[Path]:
    """The scheduled backups in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NAME_PATTERN.match(p.name))


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups; returns the ones deleted."""
    found = backups_in(folder)
    doomed = found[: max(len(found) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


# --- restoring ------------------------------------------------------------------------------


@dataclass
class Settled:
    """What :func:`settle_restored` did."""

    not_sent: int = 0  # occurrences recorded as "restored from backup"
    sent_meanwhile: int = 0  # occurrences the replaced ledger shows went out: recorded so
    deletions: list[int] = field(default_factory=list)  # members deleted again
    advanced: int = 0  # subscriptions whose next_fire_at moved past now
    replaced_readable: bool = False


class _Replaced:
    """The database being replaced, when it can still be read: what its ledger knows."""

    def __init__(self, conn: sqlite3.Connection | None) -> None:
        self.conn = conn

    @classmethod
    def open(cls, path: Path) -> _Replaced:
        if not path.is_file():
            return cls(None)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=5)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # its WAL into it, before it moves
            conn.execute("SELECT count(*) FROM deliveries").fetchone()
        except sqlite3.Error:
            return cls(None)
        return cls(conn)

    def outcome(self, nonce: str) -> tuple[Any, ...] | None:
        """The final fields of ``nonce``'s row there, or ``None`` (unknown or still pending)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute(
                f"SELECT {_FINAL_COLUMNS} FROM deliveries WHERE nonce = ?", (nonce,)
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[0] in _PENDING:
            return None
        return tuple(row)

    def pending(self, nonce: str) -> bool:
        if self.conn is None:
            return False
        with contextlib.suppress(sqlite3.Error):
            row = self.conn.execute(
                "SELECT state FROM deliveries WHERE nonce = ?", (nonce,)
            ).fetchone()
            return row is not None and row[0] in _PENDING
        return False

    def deleted_since(self, moment: int) -> list[int]:
        if self.conn is None:
            return []
        try:
            rows = self.conn.execute(
                "SELECT user_id FROM deleted_members WHERE deleted_at >= ?", (moment,)
            ).fetchall()
        except sqlite3.Error:  # older than migration 0006: no tombstones there
            return []
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def settle_restored(restored: Path, replaced: Path, taken_at: int, now: int) -> Settled:
    """Make the restored copy (migrated to today's schema) safe to start the bot on.

    One transaction on ``restored``; ``replaced`` (the database in place now) is only read.
    """
    report = Settled()
    old = _Replaced.open(replaced)
    report.replaced_readable = old.conn is not None
    conn = sqlite3.connect(restored, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _settle(conn, old, taken_at, now, report)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        # One self-contained file before it is moved into place: no -wal left behind to lose.
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
        old.close()
    return report


def _record(
    conn: sqlite3.Connection,
    old: _Replaced,
    report: Settled,
    now: int,
    *,
    nonce: str,
    source: str,
    subscription_id: int | None,
    scheduled_at: int,
    kind: str,
    user_id: int | None,
    guild_id: int | None,
) -> None:
    """One occurrence the restored copy never claimed: as the replaced ledger knows it, or
    as not to be sent."""
    known = old.outcome(nonce)
    conn.execute(
        "INSERT INTO deliveries (nonce, source, subscription_id, scheduled_at, kind, user_id, "
        "guild_id, state, error, claimed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (nonce) DO NOTHING",
        (
            nonce,
            source,
            subscription_id,
            scheduled_at,
            kind,
            user_id,
            guild_id,
            DeliveryState.CANCELLED,
            Reason.RESTORED,
            now,
            now,
        ),
    )
    if known is None:
        report.not_sent += 1
        return
    _copy_final(conn, nonce, known)
    report.sent_meanwhile += known[0] == DeliveryState.SENT


def _copy_final(conn: sqlite3.Connection, nonce: str, known: tuple[Any, ...]) -> None:
    columns = [c.strip() for c in _FINAL_COLUMNS.split(",")]
    conn.execute(
        f"UPDATE deliveries SET {', '.join(f'{c} = ?' for c in columns)} WHERE nonce = ?",
        (*known, nonce),
    )


def _settle(
    conn: sqlite3.Connection, old: _Replaced, taken_at: int, now: int, report: Settled
) -> None:
    # 0. No dashboard session of the backup's moment comes back: one ended since (a logout)
    # must stay ended. Members log in to the dashboard again.
    conn.execute("DELETE FROM dashboard_sessions")
    conn.execute("DELETE FROM dashboard_server_facts")

    # 1. Privacy deletions made after the backup's moment: delete those members again.
    for user_id in old.deleted_since(taken_at):
        for table in MEMBER_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
        conn.execute(
            "INSERT INTO deleted_members (user_id, deleted_at) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO NOTHING",
            (user_id, now),
        )
        report.deletions.append(user_id)

    # 2. Occurrences claimed before the backup and not yet settled in it: the replaced
    # ledger says whether they went out. Still pending there: the bot sends them (same
    # nonce). Unknown: never resent.
    pending = conn.execute(
        "SELECT nonce FROM deliveries WHERE state IN (?, ?)", _PENDING
    ).fetchall()
    for (nonce,) in pending:
        known = old.outcome(nonce)
        if known is not None:
            _copy_final(conn, nonce, known)
            report.sent_meanwhile += known[0] == DeliveryState.SENT
        elif not old.pending(nonce):
            conn.execute(
                "UPDATE deliveries SET state = ?, error = ?, updated_at = ?, claimed_by = NULL, "
                "lease_until = NULL WHERE nonce = ?",
                (DeliveryState.CANCELLED, Reason.RESTORED, now, nonce),
            )
            report.not_sent += 1

    # 3. Every scheduled instant from next_fire_at up to now: recorded, then skipped.
    subs = conn.execute(
        "SELECT id, kind, user_id, guild_id, times, zone, next_fire_at FROM subscriptions "
        "WHERE next_fire_at IS NOT NULL AND next_fire_at <= ?",
        (now,),
    ).fetchall()
    for sub_id, kind, user_id, guild_id, times, zone, next_at in subs:
        try:
            instants = []
            at = int(next_at)
            while at <= now:
                instants.append(at)
                at = next_fire_ts(times, zone, at)
                if len(instants) >= MAX_RECORDED_PER_SUBSCRIPTION:
                    instants = instants[1:]
        except Exception:  # an unusable schedule: the dispatcher deactivates it, as ever
            continue
        for instant in instants:
            _record(
                conn, old, report, now,
                nonce=ledger.nonce_for_schedule(sub_id, instant), source="schedule",
                subscription_id=sub_id, scheduled_at=instant, kind=kind, user_id=user_id,
                guild_id=guild_id,
            )  # fmt: skip
        conn.execute(
            "UPDATE subscriptions SET next_fire_at = ?, updated_at = ? WHERE id = ?",
            (at, now, sub_id),
        )
        report.advanced += 1

    # 4. Snoozes that fell due: the same, and they are used up.
    snoozes = conn.execute(
        "SELECT id, subscription_id, kind, user_id, guild_id, fire_at FROM snoozes "
        "WHERE fire_at <= ?",
        (now,),
    ).fetchall()
    for snooze_id, sub_id, kind, user_id, guild_id, fire_at in snoozes:
        _record(
            conn, old, report, now,
            nonce=ledger.nonce_for_snooze(snooze_id), source="snooze", subscription_id=sub_id,
            scheduled_at=fire_at, kind=kind, user_id=user_id, guild_id=guild_id,
        )  # fmt: skip
        conn.execute("DELETE FROM snoozes WHERE id = ?", (snooze_id,))

    # 5. The backup's own record goes; the database is live again.
    conn.execute(
        f"DELETE FROM bot_state WHERE key IN ({', '.join('?' * len(BACKUP_KEYS))})", BACKUP_KEYS
    )
