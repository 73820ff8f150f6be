"""``python -m bot migrate-db --to postgresql://…``: SQLite → an empty PostgreSQL, all or nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import DatabaseUnavailable
from storage import bot_state, guild_settings, reminders, transfer
from storage.database import Database
from storage.postgres import PostgresDatabase
from storage.transfer import TABLES, TransferRefused
from testkit.fake_time import FakeClock
from tests.reminder_rig import make_rig, open_db, rows

ROOT = Path(__file__).resolve().parents[2]
DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)


async def filled_sqlite(path: Path) -> None:
    """A lived-in database: members, reminders, a sent one snoozed, a server's settings."""
    db = await open_db(f"sqlite:///{path}")
    clock = FakeClock(DUE - timedelta(hours=1))
    rig = await make_rig(db, clock)
    for user in range(1000, 1030):
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, None, "sleep")
        await rig.subscriptions.start(user, None, "hydration")
    await reminders.upsert_guild_subscription(
        db, guild_id=7, kind="daily_tip", channel_id=70, times="09:00", zone="Europe/Berlin",
        next_fire_at=int((DUE + timedelta(hours=12)).timestamp()), now=int(DUE.timestamp()),
    )  # fmt: skip
    await guild_settings.set_reminder_channel(db, 7, 71)
    await bot_state.put(db, "commands_hash", "abc")
    await rig.dispatcher.start()
    clock.now = DUE
    await rig.run()
    [(first,)] = await rows(
        db, "SELECT min(id) FROM deliveries WHERE state = 'sent' AND user_id = 1000"
    )
    await rig.buttons.snooze(first, 1000)
    await db.close()


async def run_cli(*args: str, database_url: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate-db",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, (out + err).decode()


async def table_rows(db: Database, table: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY 1")]


async def test_everything_is_copied_and_counted_then_a_second_run_is_refused(
    tmp_path, postgres_url, postgres_server
):
    sqlite_url = f"sqlite:///{tmp_path / 'steady.sqlite3'}"
    await filled_sqlite(tmp_path / "steady.sqlite3")

    code, output = await run_cli("--to", postgres_url, database_url=sqlite_url)
    assert code == 0, output
    assert "Done:" in output and "deliveries" in output and "✓" in output
    assert postgres_server.password not in output

    source, target = await open_db(sqlite_url), await open_db(postgres_url)
    for table in TABLES:
        assert await table_rows(target, table) == await table_rows(source, table), table
    assert len(await table_rows(target, "snoozes")) == 1
    # New rows continue after the copied ids.
    biggest = max(row[0] for row in await table_rows(target, "subscriptions"))
    tip = await reminders.upsert_guild_subscription(
        target, guild_id=8, kind="daily_tip", channel_id=80, times="09:00", zone="UTC",
        next_fire_at=1, now=1,
    )  # fmt: skip
    assert tip.id > biggest
    await source.close()
    await target.close()

    again, output = await run_cli("--to", postgres_url, database_url=sqlite_url)
    assert again == 2
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith("steady migrate-db: the target database is not empty")
    )


async def test_a_copy_that_fails_half_way_leaves_the_target_empty_and_can_run_again(
    tmp_path, postgres_url, monkeypatch
):
    await filled_sqlite(tmp_path / "steady.sqlite3")
    monkeypatch.setattr(transfer, "CHUNK", 7)
    source = await open_db(f"sqlite:///{tmp_path / 'steady.sqlite3'}")
    target = await open_db(postgres_url)
    assert isinstance(target, PostgresDatabase)
    copied: list[int] = []

    def dies_in_deliveries(table: str, n: int) -> None:
        copied.append(n)
        if table == "deliveries":
            raise ConnectionResetError("network gone")

    with pytest.raises(DatabaseUnavailable):
        await transfer.copy_sqlite_to_postgres(source, target, dies_in_deliveries)
    assert sum(copied) > 7
    assert await transfer.non_empty_tables(target) == []  # rolled back whole

    counts = await transfer.copy_sqlite_to_postgres(source, target)
    assert all(c.source == c.target for c in counts)
    assert {c.table: c.target for c in counts}["subscriptions"] == 61
    with pytest.raises(TransferRefused, match="not empty"):
        await transfer.copy_sqlite_to_postgres(source, target)
    await source.close()
    await target.close()


@pytest.mark.parametrize(
    "source, target, expected",
    [
        ("postgresql://u:p@127.0.0.1:1/x", "postgresql://u:p@h/x", "DATABASE_URL must name the SQLite"),
        ("sqlite:///{tmp}/s.sqlite3", "mysql://x", "--to must be a postgresql://"),
        ("sqlite:///{tmp}/s.sqlite3", "postgresql://u:hunter2@127.0.0.1:1/x", "--to: cannot reach PostgreSQL"),
        ("sqlite:///{tmp}/s.sqlite3", "postgresql://u:hunter2@[127.0.0.1:1/x", "--to: not a valid URL"),
        ("sqlite:///{tmp}/typo.sqlite3", "postgresql://u:p@h/x", "no SQLite database at"),
    ],
)  # fmt: skip
async def test_a_wrong_source_or_target_is_one_line(tmp_path, source, target, expected):
    (tmp_path / "s.sqlite3").touch()  # an (empty) SQLite database
    code, output = await run_cli("--to", target, database_url=source.format(tmp=tmp_path))
    assert code == 2
    last = output.strip().splitlines()[-1]
    assert last.startswith("steady migrate-db:") and expected in last
    assert "Traceback" not in output and "hunter2" not in output
    assert not (tmp_path / "typo.sqlite3").exists(), "a mistyped source is not created"
