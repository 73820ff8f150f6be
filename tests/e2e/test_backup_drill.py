"""The backup drill (issue #18): the real bot under a burst of reminders, ``python -m bot
backup`` taken mid-burst, the bot stopped, ``python -m bot restore``, the bot started again.

Every reminder due before the backup is sent exactly once overall (the restored backup still
has some of them due or in flight: the replaced database's ledger says they went out), none
is sent twice, and the next ones fire on time. A plain copy of the backup back into place
would send the ones that went out after the backup again (tests/unit/test_backup.py shows it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.subscriptions import Subscriptions
from storage.database import Database
from storage.members import set_dm_channel
from testkit.bot_process import REPO_ROOT, bot_environment
from testkit.emulator import Driver, Emulator
from testkit.emulator.state import User
from tests.e2e.conftest import StartBot
from tests.e2e.reminder_helpers import faketime_env, reminders_for, start_bot_at

BURST = 300  # due at 09:00: six seconds of sending at 50/s
NEXT = 40  # due at 09:12, after the restore
MINUTE = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def seed(database_url: str, members: list[tuple[User, str]], driver: Driver) -> None:
    db = await Database.open(database_url)
    try:
        await db.migrate()
        an_hour_ago = MINUTE - timedelta(hours=1)
        subscriptions = Subscriptions(db, clock=lambda: an_hour_ago)
        for member, at in members:
            await subscriptions.start(member.id, None, "stretching", at, None, "UTC")
            dm = driver.dm_channel(member)
            await set_dm_channel(db, member.id, dm.id, int(an_hour_ago.timestamp()))
    finally:
        await db.close()


async def run_cli(
    emulator: Emulator, netguard_log: Path, database: Path, at: datetime, *args: str
) -> tuple[int, str]:
    """``python -m bot <args>`` on the bot's database, with its clock at ``at``."""
    env = bot_environment(
        api_base=emulator.api_base,
        token=emulator.world.token,
        database_path=database,
        netguard_log=netguard_log,
        extra=faketime_env(at, 1),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, (out + err).decode()


@pytest.mark.serial  # a burst on a faked clock: timing is what it asserts
async def test_backup_mid_burst_then_restore_sends_every_reminder_exactly_once(
    driver: Driver,
    emulator: Emulator,
    start_bot: StartBot,
    tmp_path: Path,
    netguard_log: Path,
) -> None:
    burst = [driver.add_user(f"burst{i:03d}") for i in range(BURST)]
    later = [driver.add_user(f"later{i:03d}") for i in range(NEXT)]
    database = tmp_path / "steady.sqlite3"  # start_bot's database
    await seed(
        f"sqlite:///{database}", [(m, "9:00") for m in burst] + [(m, "9:12") for m in later], driver
    )

    bot, clock = await start_bot_at(start_bot, MINUTE - timedelta(seconds=2), speed=1)
    await driver.emulator.wait_until(
        lambda: len(driver.stats.sends) >= BURST // 5, within=20, what="the burst to start"
    )
    backup = tmp_path / "backups" / "mid-burst.sqlite3"
    code, output = await run_cli(
        emulator, netguard_log, database, clock.now(), "backup", str(backup)
    )
    assert code == 0, output
    snapshot = sqlite3.connect(backup)
    [(sent_in_backup,)] = snapshot.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'")
    snapshot.close()
    assert sent_in_backup < BURST, "the backup was taken after the burst: not a drill"

    await driver.emulator.wait_until(
        lambda: all(reminders_for(driver, m) for m in burst), within=30, what="the whole burst"
    )
    assert await bot.terminate() == 0

    # Eleven minutes later (the bot's clock): Discord has long forgotten the nonces (it keeps
    # them a few minutes; the emulator 5 real minutes), while what went out after the backup
    # is still within its 30-minute grace, so a plain copy back would send it all again.
    emulator.nonces.clear()
    restart = MINUTE + timedelta(minutes=11, seconds=30)
    code, output = await run_cli(emulator, netguard_log, database, restart, "restore", str(backup))
    assert code == 0, output
    assert "restored" in output and "kept at" in output

    bot, _ = await start_bot_at(start_bot, restart, speed=1)  # on the restored database
    with bot.log_on_failure():
        await driver.emulator.wait_until(
            lambda: all(reminders_for(driver, m) for m in later),
            within=90,
            what="the 09:12 reminders after the restore",
        )
        await asyncio.sleep(2)  # anything sent twice would come now
        assert await bot.terminate() == 0

    counts = Counter(m.username for m in burst + later for _ in reminders_for(driver, m))
    wrong = {m.username: counts[m.username] for m in burst + later if counts[m.username] != 1}
    assert not wrong, f"members without exactly one reminder: {wrong}"
    # On time: by the ledger, each 09:12 reminder left within seconds of 09:12 (bot's clock).
    check = sqlite3.connect(database)
    lateness = [
        row[0]
        for row in check.execute(
            f"SELECT sent_at - scheduled_at FROM deliveries WHERE state = 'sent' "
            f"AND user_id IN ({','.join(str(m.id) for m in later)})"
        )
    ]
    check.close()
    assert len(lateness) == NEXT and max(lateness) <= 10, lateness
