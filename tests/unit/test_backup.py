"""``python -m bot backup`` / ``restore`` (issue #18): consistent copies while the bot writes,
and a restore that never sends a reminder twice, never floods, and re-applies later privacy
deletions."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot import backup as cli
from cogs.reminders._render import stats_embed
from domain.enums import DeliveryState, Reason
from storage import tombstones
from storage.backup import (
    BACKUP_KEYS,
    TAKEN_AT_KEY,
    BackupError,
    RunLock,
    backups_in,
    read_info,
    take_backup,
)
from storage.database import load_migrations
from testkit.fake_time import FakeClock
from tests.reminder_rig import T0, FakeDiscord, make_rig, open_db, rows

ROOT = Path(__file__).resolve().parents[2]
LATEST = load_migrations()[-1].number
MEMBERS = range(100, 110)


async def restore(path: Path, now: int) -> str:
    """``restore`` as the command runs it: in a thread of its own (it runs its own loop)."""
    return await asyncio.to_thread(cli.restore, path, now=now)


def _ts(clock: FakeClock) -> int:
    return int(clock.now.timestamp())


async def _subscribed(path: Path, clock: FakeClock):
    db = await open_db(path.parent, path.name)
    rig = await make_rig(db, clock)
    for user in MEMBERS:
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "hydration", every=1)  # hourly, 08:00–22:00
        await rig.subscriptions.start(user, None, "sleep")
    await rig.dispatcher.start()
    return db, rig


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "data" / "steady.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


async def test_a_backup_taken_while_the_bot_writes_is_whole_checked_and_dated(tmp_path, database):
    clock = FakeClock(T0)
    db, rig = await _subscribed(database, clock)
    stop = asyncio.Event()

    async def keep_writing() -> None:
        i = 0
        while not stop.is_set():
            await db.execute("INSERT INTO bot_state (key, value) VALUES (?, 'x')", (f"busy{i}",))
            i += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    try:
        info = await asyncio.to_thread(take_backup, database, tmp_path / "b.sqlite3", now=1_000)
    finally:
        stop.set()
        await writer
    await db.close()
    assert info.taken_at == 1_000 and info.schema_version == LATEST
    copy = sqlite3.connect(tmp_path / "b.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
    assert copy.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 2 * len(MEMBERS)
    assert (
        dict(copy.execute("SELECT key, value FROM bot_state WHERE key LIKE 'backup.%'"))[
            TAKEN_AT_KEY
        ]
        == "1000"
    )
    copy.close()
    assert read_info(tmp_path / "b.sqlite3").taken_at == 1_000
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


async def test_a_backup_that_cannot_complete_leaves_no_file_under_the_name(tmp_path):
    source = tmp_path / "not-a-db.sqlite3"
    source.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(BackupError):
        take_backup(source, tmp_path / "out.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-db.sqlite3"]
    with pytest.raises(BackupError, match="no SQLite database"):
        take_backup(tmp_path / "missing.sqlite3", tmp_path / "out.sqlite3")


async def test_restore_sends_nothing_twice_and_floods_nobody(tmp_path, database, monkeypatch):
    """Backup at 10:00 UTC, the bot sends the 11:00 and 12:00 hydration, then the database is
    restored at 12:20: nothing from 11:00/12:00 goes out again, and 13:00 fires on time.

    The naive restore (copying the file back, what a self-hoster would do today) sends the
    12:00 reminders a second time: shown first, as the fault this guards against."""
    clock = FakeClock(T0)  # 10:00 UTC, 12:00 Berlin
    db, rig = await _subscribed(database, clock)
    backup = tmp_path / "before.sqlite3"
    take_backup(database, backup, now=_ts(clock))
    await rig.run_until(T0 + timedelta(hours=2, minutes=20))
    sent_before = {m.nonce for m in rig.discord.messages}
    assert len(sent_before) == 2 * len(MEMBERS)  # 11:00 and 12:00 Berlin... hourly
    await rig.dispatcher.stop()
    await db.close()

    # The fault: a plain copy back resends what is still within its grace.
    naive = tmp_path / "naive.sqlite3"
    shutil.copyfile(backup, naive)
    ndb = await open_db(tmp_path, "naive.sqlite3")
    naive_rig = await make_rig(ndb, clock, FakeDiscord(clock))
    await naive_rig.dispatcher.start()
    await naive_rig.run()
    assert {m.nonce for m in naive_rig.discord.messages} & sent_before  # sent twice
    await naive_rig.dispatcher.stop()
    await ndb.close()

    line = await restore(backup, _ts(clock))
    assert "marked not to be sent" in line and "kept at" in line
    assert list(database.parent.glob("steady.sqlite3.replaced-*"))

    db = await open_db(database.parent, database.name)
    fresh = FakeDiscord(clock)  # Discord's nonce memory is minutes: nothing would dedupe
    rig = await make_rig(db, clock, fresh)
    await rig.dispatcher.start()
    await rig.run()
    assert fresh.messages == []  # nothing again, no backlog
    # The replaced database's ledger said these went out: recorded as sent, not "restored".
    states = await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state")
    assert dict(states)[DeliveryState.SENT] == 2 * len(MEMBERS)
    await rig.run_until(T0 + timedelta(hours=3, minutes=1))  # 13:00 UTC = 15:00 Berlin
    assert len(fresh.messages) == len(MEMBERS)
    assert not {m.nonce for m in fresh.messages} & sent_before
    await rig.dispatcher.stop()
    await db.close()


async def test_restore_without_the_replaced_database_marks_the_gap_not_sent(tmp_path, database):
    """The database is lost (that is why one restores): every occurrence due between the
    backup and now is recorded "restored from backup", shown so in /remind stats."""
    clock = FakeClock(T0)
    db, rig = await _subscribed(database, clock)
    backup = tmp_path / "before.sqlite3"
    take_backup(database, backup, now=_ts(clock))
    await rig.run_until(T0 + timedelta(hours=2, minutes=20))
    await rig.dispatcher.stop()
    await db.close()
    for leftover in database.parent.glob("steady.sqlite3*"):
        if not leftover.name.endswith("-run.lock"):
            leftover.unlink()

    await restore(backup, _ts(clock))
    db = await open_db(database.parent, database.name)
    fresh = FakeDiscord(clock)
    rig = await make_rig(db, clock, fresh)
    await rig.dispatcher.start()
    await rig.run()
    assert fresh.messages == []
    [(restored,)] = await rows(
        db, "SELECT count(*) FROM deliveries WHERE error = ?", str(Reason.RESTORED)
    )
    assert restored == 2 * len(MEMBERS)
    stats = await rig.stats.stats(MEMBERS[0])
    hydration = next(s for s in stats if s.kind == "hydration")
    assert hydration.restored == 2 and hydration.sent == 0
    text = stats_embed(stats, 30).fields[0].value
    assert "Not sent: restored from backup (2)" in text
    await rig.dispatcher.stop()
    await db.close()


async def test_restore_reapplies_the_privacy_deletions_made_after_the_backup(tmp_path, database):
    clock = FakeClock(T0)
    db, rig = await _subscribed(database, clock)
    gone_before, gone_after = MEMBERS[0], MEMBERS[1]
    await rig.privacy.delete_all(gone_before)
    clock.advance(seconds=1)
    backup = tmp_path / "before.sqlite3"
    take_backup(database, backup, now=_ts(clock))
    clock.advance(minutes=5)
    await rig.privacy.delete_all(gone_after)
    await rig.dispatcher.stop()
    await db.close()

    line = await restore(backup, _ts(clock))
    assert "1 privacy deletions re-applied" in line
    db = await open_db(database.parent, database.name)
    for table in ("members", "subscriptions", "deliveries", "snoozes"):
        users = {r[0] for r in await rows(db, f"SELECT DISTINCT user_id FROM {table}")}
        assert gone_before not in users and gone_after not in users
    kept = await rows(db, "SELECT count(*) FROM subscriptions WHERE user_id = ?", MEMBERS[2])
    assert kept == [(2,)]
    assert set(await tombstones.since(db, 0)) == {gone_before, gone_after}
    assert await rows(
        db, f"SELECT key FROM bot_state WHERE key IN ({','.join('?' * len(BACKUP_KEYS))})",
        *BACKUP_KEYS,
    ) == []  # fmt: skip
    await db.close()


async def test_restore_upgrades_an_older_backup_and_refuses_a_newer_or_damaged_one(
    tmp_path, database
):
    old = tmp_path / "v5.sqlite3"
    db = await open_db(tmp_path, "v5.sqlite3")
    await db.close()
    conn = sqlite3.connect(old)
    # Back to schema 5: the tables of the later migrations go.
    for table in ("deleted_members", "dashboard_sessions", "dashboard_server_facts"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    take_backup(old, tmp_path / "b5.sqlite3", now=1)
    line = await restore(tmp_path / "b5.sqlite3", 2)
    assert f"upgraded from schema 5 to {LATEST}" in line
    check = sqlite3.connect(database)
    assert check.execute("PRAGMA user_version").fetchone()[0] == LATEST
    check.execute("SELECT count(*) FROM deleted_members")
    check.close()

    newer = tmp_path / "newer.sqlite3"
    shutil.copyfile(tmp_path / "b5.sqlite3", newer)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.commit()
    conn.close()
    before = database.read_bytes()
    with pytest.raises(BackupError, match="newer than this Steady"):
        await restore(newer, 3)
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray((tmp_path / "b5.sqlite3").read_bytes())
    data[4096:8192] = b"\xff" * 4096
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged|not a Steady backup"):
        await restore(damaged, 3)
    with pytest.raises(BackupError, match="records no backup moment"):
        await restore(old, 3)
    assert database.read_bytes() == before  # refused: nothing replaced


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_commands_refuse_in_one_line_while_a_bot_holds_the_file(tmp_path, database):
    db = await open_db(database.parent, database.name)
    await db.close()
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    code, out, _ = await _cli("backup", str(tmp_path / "b.sqlite3"), env=env)
    assert code == 0 and "backup written to" in out
    running = RunLock(database)  # what the running bot holds
    assert running.try_acquire()
    try:
        code, out, err = await _cli("backup", str(tmp_path / "c.sqlite3"), env=env)
        assert code == 0  # a backup is taken while the bot runs
        code, out, err = await _cli("restore", str(tmp_path / "b.sqlite3"), env=env)
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [
            f"steady restore: a Steady bot is running on {database} "
            "(it holds steady.sqlite3-run.lock); stop it first"
        ]
    finally:
        running.release()
    code, out, err = await _cli("restore", str(tmp_path / "b.sqlite3"), env=env)
    assert code == 0, err


async def test_on_postgresql_the_commands_point_at_pg_dump(tmp_path):
    env = {"DATABASE_URL": "postgresql://steady:secret@db.example:5432/steady"}
    for command in ("backup", "restore"):
        code, out, err = await _cli(command, str(tmp_path / "b"), env=env)
        assert code == 2 and out == "" and "secret" not in err
        [line] = err.strip().splitlines()
        assert "pg_dump" in line and "pg_restore" in line and "docs/operations.md#backups" in line


async def test_scheduled_backups_rotate_and_prune_the_tombstones(tmp_path, database):
    db = await open_db(database.parent, database.name)
    folder = tmp_path / "backups"
    folder.mkdir()
    await tombstones.record(db, 1, at=0)  # older than every kept backup: pruned
    for moment in (1_000, 2_000, 3_000, 4_000):
        await tombstones.record(db, moment, at=moment)
        path = await asyncio.to_thread(take_backup, database, folder, now=moment)
        assert path.path.parent == folder
    await cli.take_scheduled(db, database, folder, keep=2)
    kept = backups_in(folder)
    assert len(kept) == 2
    assert read_info(kept[0]).taken_at == 4_000
    assert await tombstones.since(db, 0) == [4_000]  # the oldest kept was taken at 4000
    await db.close()
