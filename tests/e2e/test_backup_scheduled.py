"""The real bot and its backups (issue #18): BACKUP_DIR takes one at start-up (none there yet)
and rotates; while the bot runs, ``restore`` refuses in one line and a second bot on the same
SQLite file is refused at start; ``backup`` works beside it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage.backup import backups_in, read_info
from testkit.bot_process import REPO_ROOT, bot_environment
from testkit.emulator import Emulator
from tests.e2e.conftest import StartBot


async def run_cli(emulator: Emulator, netguard_log: Path, database: Path, *args: str):
    env = bot_environment(
        api_base=emulator.api_base,
        token=emulator.world.token,
        database_path=database,
        netguard_log=netguard_log,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_the_running_bot_backs_up_on_schedule_and_holds_its_file(
    emulator: Emulator, start_bot: StartBot, tmp_path: Path, netguard_log: Path
) -> None:
    folder = tmp_path / "backups"
    database = tmp_path / "steady.sqlite3"  # start_bot's database
    bot = await start_bot(BACKUP_DIR=str(folder), BACKUP_EVERY_HOURS="24", BACKUP_KEEP="2")
    with bot.log_on_failure():
        await emulator.wait_until(lambda: backups_in(folder), within=15, what="a backup")
        [first] = backups_in(folder)
        assert read_info(first).schema_version >= 6
        assert bot.logged("scheduled backups: every 24 h into")

        code, out, err = await run_cli(
            emulator, netguard_log, database, "backup", str(tmp_path / "by-hand.sqlite3")
        )
        assert code == 0 and "backup written to" in out, err

        code, out, err = await run_cli(
            emulator, netguard_log, database, "restore", str(tmp_path / "by-hand.sqlite3")
        )
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [
            f"steady restore: a Steady bot is running on {database} "
            "(it holds steady.sqlite3-run.lock); stop it first"
        ]

        second = await start_bot(wait_ready=False)
        assert await second.wait() == 2
        [line] = [line for line in second.lines if "cannot start" in line]
        assert "another Steady process (or a restore) is using" in line
        assert "Traceback" not in second.output
    assert bot.running
