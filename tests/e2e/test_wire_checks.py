"""The end-to-end checks bite: a body Discord would refuse, or a step off loopback, fails."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from testkit.bot_process import REPO_ROOT, BotProcess, bot_environment
from testkit.emulator import Driver, Emulator, limits
from tests.e2e.conftest import Server, wire_problems


async def test_an_over_limit_body_is_recorded_and_fails_the_test(
    emulator: Emulator, driver: Driver, netguard_log: Path
) -> None:
    channel = driver.add_channel(driver.add_guild("G"), "tips")
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = f"{emulator.api_base}/channels/{channel.id}/messages"
        async with http.post(url, json={"embeds": [{"title": "x" * 300}]}) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 50035
    [problem] = wire_problems(emulator, netguard_log)
    assert "embeds.0.title: BASE_TYPE_MAX_LENGTH" in problem
    emulator.rejections.clear()  # this test *wanted* the rejection


async def test_the_real_bot_is_caught_sending_an_over_limit_reply(
    driver: Driver,
    bot: BotProcess,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    netguard_log: Path,
) -> None:
    # Pretend Discord's embed description limit were 10 characters: the bot's ordinary
    # answer is now over the limit, and the emulator must refuse it and fail the test.
    monkeypatch.setattr(limits, "EMBED_DESCRIPTION_MAX", 10)
    monkeypatch.setattr(limits, "EMBED_FIELD_VALUE_MAX", 10)
    with pytest.raises(AssertionError, match="Discord rejected the bot's answer"):
        await driver.slash("nutrient", user=server.member, guild=server.guild, name="magnesium")
    assert any("BASE_TYPE_MAX_LENGTH" in p for p in wire_problems(driver.emulator, netguard_log))
    driver.emulator.rejections.clear()


async def test_leaving_loopback_is_refused_and_recorded(
    emulator: Emulator, tmp_path: Path, netguard_log: Path
) -> None:
    env = bot_environment(
        api_base=emulator.api_base,
        token="t",
        database_path=tmp_path / "db.sqlite3",
        netguard_log=netguard_log,
    )
    script = (
        "import socket\n"
        "try:\n    socket.create_connection(('discord.com', 443), timeout=1)\n"
        "except OSError as e:\n    print('refused:', e)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert b"netguard" in out and b"refused" in out
    [problem] = wire_problems(emulator, netguard_log)
    assert "discord.com" in problem
    await asyncio.to_thread(netguard_log.unlink)
