"""The dashboard inside the real bot process: what a page changes, the bot does."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from testkit.dashboard import DashboardBrowser, dashboard_env
from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms
from testkit.ports import on_a_free_port_async
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import local_time_ahead, start_bot_at, title, wait_for_reminders


async def test_dashboard_needs_its_secret_to_start(start_bot: StartBot, emulator: Emulator):
    env = dashboard_env(emulator, 9)  # never opened: the bot refuses before it listens
    env["DASHBOARD_SECRET"] = ""
    process = await start_bot(wait_ready=False, **env)
    assert await process.wait() == 2
    assert "Traceback" not in process.output
    errors = [line for line in process.lines if "cannot start" in line]
    assert len(errors) == 1 and "DASHBOARD_SECRET is not set" in errors[0], process.output


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_a_time_changed_on_the_page_is_when_the_bot_sends_it(
    start_bot: StartBot, emulator: Emulator, driver: Driver, server: Server
):
    start = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    (_, clock), port = await on_a_free_port_async(
        lambda port: start_bot_at(start_bot, start, speed=60, **dashboard_env(emulator, port))
    )
    browser = DashboardBrowser(f"http://127.0.0.1:{port}", emulator)
    try:
        await browser.log_in(server.member)
        await browser.submit("/settings/timezone", {"zone": "Europe/Lisbon"})
        await browser.submit("/reminders/start", {"kind": "sleep", "time": "23:55"})
        # The member's DM channel is opened ahead, as after /remind start in a server.
        await emulator.wait_until(
            lambda: driver.stats.dm_channel_creates == 1, within=5, what="the DM opened ahead"
        )
        soon = local_time_ahead(clock, "Europe/Lisbon", minutes=3)
        response = await browser.submit(
            "/reminders/start", {"kind": "sleep", "time": soon.strftime("%H:%M")}
        )
        assert response.status == 303
        html = await browser.page("/reminders")
        assert re.search(rf"Next: <strong>[^<]*{soon:%H:%M}</strong>", html), html
        [reminder] = await wait_for_reminders(driver, server.member, within=15)
        assert title(reminder).startswith("🌙")
        assert clock.now() >= soon  # not before the new time
        assert driver.stats.dm_channel_creates == 1  # the reminder itself was one request
    finally:
        await browser.close()


async def test_losing_manage_server_loses_the_server_page_at_the_next_request(
    start_bot: StartBot, emulator: Emulator, driver: Driver, server: Server
):
    _, port = await on_a_free_port_async(lambda port: start_bot(**dashboard_env(emulator, port)))
    mods = driver.add_role(server.guild, "Mods", perms.MANAGE_GUILD)
    driver.give_role(server.guild, server.member, mods)
    browser = DashboardBrowser(f"http://127.0.0.1:{port}", emulator)
    path = f"/servers/{server.guild.id}"
    try:
        await browser.log_in(server.member)
        # Allowed as soon as the bot has heard of the new role (GUILD_ROLE_CREATE).
        for _ in range(50):
            if (await browser.http.get(path)).status == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a member with Manage Server never got the server page")
        server.guild.members[server.member.id].role_ids.remove(mods.id)
        refused = await browser.http.get(path)
        assert refused.status == 403
        assert "Manage Server" in await refused.text()
    finally:
        await browser.close()
