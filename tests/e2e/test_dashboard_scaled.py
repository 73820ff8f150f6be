"""The dashboard as its own process (``python -m bot dashboard``): two web replicas and two bot
processes (shards 0 and 1 of 2) on one throwaway PostgreSQL, against the emulator.

* Sessions live in the database: log in through replica A, act through replica B, restart A
  and stay logged in, log out through B and be refused at A.
* Server pages come from Discord's REST API: a server whose shard lives in the other bot
  process is configurable; a member demoted at Discord loses the page within the cache time
  (``DASHBOARD_FACTS_TTL_S``), and a form is refused at once.
* A change reaches the engine at once: the web process sends ``NOTIFY steady_due``.
* Every request of the web process takes its slot from the token's one shared schedule.
* A member who subscribes on the web has their DM channel opened ahead, by the web process:
  their reminder is one request when it is due.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import send_rate
from storage.database import Database
from testkit.bot_process import bot_environment
from testkit.dashboard import dashboard_env
from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms
from tests.e2e.conftest import StartBot
from tests.e2e.reminder_helpers import local_time_ahead, start_bot_at, wait_for_reminders
from tests.e2e.web_helpers import FACTS_TTL_S, Browser, StartWeb, WebProcess, notified


# postgres_url first: fixtures are torn down in reverse, so the processes stop before it goes.
async def test_two_replicas_beside_two_shards_share_sessions_and_wake_the_engine(
    postgres_url: str, driver: Driver, start_bot: StartBot, start_web: StartWeb
) -> None:
    driver.emulator.gateway.max_concurrency = 2
    owner = driver.add_user("olivia")
    driver.add_guild("Shard zero", owner=owner, shard=(0, 2))
    other = driver.add_guild("Shard one", owner=owner, shard=(1, 2))
    bots = {"DATABASE_URL": postgres_url, "SHARD_COUNT": "2"}
    await start_bot(SHARD_IDS="0", **bots)
    await start_bot(SHARD_IDS="1", **bots)
    web_a, a = await start_web()
    _, b = await start_web()
    browser = Browser(driver.emulator)
    listener, heard = await notified(postgres_url)
    try:
        await browser.log_in(a, owner)
        page = await browser.get(f"{b}/reminders")
        assert page.status == 200 and "olivia" in await page.text()

        # A server whose shard the other bot process owns, configured through replica B.
        general = driver.channel(other, "general")
        server_page = f"{b}/servers/{other.id}"
        done = await browser.post(
            f"{server_page}/reminder-channel",
            {"channel": str(general.id)},
            csrf=await browser.csrf(server_page),
        )
        assert done.status == 303, await done.text()
        db = await Database.open(postgres_url)
        try:
            stored = await db.fetchval(
                "SELECT reminder_channel_id FROM guild_settings WHERE guild_id = ?", (other.id,)
            )
        finally:
            await db.close()
        assert stored == general.id

        # A reminder started on the web wakes the bot processes' dispatchers (NOTIFY).
        csrf = await browser.csrf(f"{b}/reminders")
        await browser.post(f"{b}/settings/timezone", {"zone": "Europe/Lisbon"}, csrf=csrf)
        heard.clear()
        started = await browser.post(
            f"{b}/reminders/start", {"kind": "sleep", "time": "23:55"}, csrf=csrf
        )
        assert started.status == 303
        await asyncio.wait_for(heard.wait(), timeout=5)

        # Restart A (on a port of its own again: the cookie names the host, not the port,
        # as behind a load balancer): the session is still there.
        assert await web_a.terminate() == 0
        _, a = await start_web()
        again = await browser.get(f"{a}/reminders")
        assert again.status == 200 and "olivia" in await again.text()

        # Log out through B: refused at A.
        out = await browser.post(f"{b}/logout", {}, csrf=await browser.csrf(f"{b}/reminders"))
        assert out.status == 302
        refused = await browser.get(f"{a}/reminders")
        assert refused.status == 302 and refused.headers["Location"].startswith("/login")
    finally:
        await listener.close()
        await browser.http.close()


@pytest.mark.serial  # a bot on a faked clock: when the channel is opened is what it asserts
async def test_a_member_who_subscribes_on_the_web_has_their_dm_channel_opened_ahead(
    postgres_url: str, driver: Driver, start_bot: StartBot, start_web: StartWeb
) -> None:
    member = driver.add_user("mika")
    # The bot's clock starts at the real time (the web process keeps it), 60x fast.
    _, clock = await start_bot_at(start_bot, datetime.now(UTC), speed=60, DATABASE_URL=postgres_url)
    _, web = await start_web()
    browser = Browser(driver.emulator)
    try:
        await browser.log_in(web, member)
        csrf = await browser.csrf(f"{web}/reminders")
        await browser.post(f"{web}/settings/timezone", {"zone": "Europe/Lisbon"}, csrf=csrf)
        due = local_time_ahead(clock, "Europe/Lisbon", minutes=3)
        started = await browser.post(
            f"{web}/reminders/start", {"kind": "sleep", "time": f"{due:%H:%M}"}, csrf=csrf
        )
        assert started.status == 303
        await driver.emulator.wait_until(
            lambda: driver.stats.dm_channel_creates == 1, within=5, what="the DM opened ahead"
        )
        assert clock.now() < due, "opened only when the reminder was due"
        [reminder] = await wait_for_reminders(driver, member, within=15)
        assert reminder.channel_id == driver.dm_channel(member).id
        # The reminder itself was one request: no second open when it was due.
        assert driver.stats.dm_channel_creates == 1
        assert driver.stats.by_route["POST /channels/{channel_id}/messages"] == 1
    finally:
        await browser.http.close()


async def test_a_demoted_member_loses_the_page_within_the_cache_time(
    postgres_url: str, driver: Driver, start_web: StartWeb
) -> None:
    mod = driver.add_user("mika")
    guild = driver.add_guild("Twitch Support", members=[mod])
    mods = driver.add_role(guild, "Mods", perms.MANAGE_GUILD)
    driver.give_role(guild, mod, mods)
    _, base = await start_web()
    page = f"{base}/servers/{guild.id}"
    browser = Browser(driver.emulator)
    try:
        await browser.log_in(base, mod)
        assert (await browser.get(page)).status == 200
        csrf = await browser.csrf(page)
        guild.members[mod.id].role_ids.remove(mods.id)
        demoted_at = time.monotonic()
        # A form is judged on the member's roles now, never on the cached answer.
        form = await browser.post(
            f"{page}/reminder-channel",
            {"channel": str(driver.channel(guild, "general").id)},
            csrf=csrf,
        )
        assert form.status == 403 and "Manage Server" in await form.text()
        while (await browser.get(page)).status == 200:
            assert time.monotonic() - demoted_at < FACTS_TTL_S + 1.5, "still shown"
            await asyncio.sleep(0.2)
    finally:
        await browser.http.close()


async def test_the_web_process_takes_its_slots_from_the_tokens_one_schedule(
    postgres_url: str, driver: Driver, emulator: Emulator, start_web: StartWeb
) -> None:
    owner = driver.add_user("olivia")
    guild = driver.add_guild("Twitch Support", owner=owner)
    _, base = await start_web()
    browser = Browser(driver.emulator)
    db = await Database.open(postgres_url)
    try:
        await browser.log_in(base, owner)
        requests, token_requests = emulator.stats.requests, len(emulator.stats.token_requests)
        # Another process of the token was told by Discord to wait 2 s (a global 429): the
        # web process, asking about a server it has not seen, waits for the same schedule.
        await send_rate.hold_until(db, 2.0)
        began = time.monotonic()
        page = await browser.get(f"{base}/servers/{guild.id}")
        assert page.status == 200, await page.text()
        assert time.monotonic() - began >= 1.8
        asked = emulator.stats.requests - requests
        assert asked >= 3  # the server, the member, the channels (and the bot's own roles)
        # Every one of them counted against the bot token's one global limit.
        assert len(emulator.stats.token_requests) - token_requests == asked
        assert re.search(r"general", await page.text())
    finally:
        await db.close()
        await browser.http.close()


async def test_the_web_process_on_sqlite_says_why_it_cannot_start(
    emulator: Emulator, tmp_path: Path, netguard_log: Path
) -> None:
    env = dashboard_env(emulator, 9)  # never opened: it refuses before it listens
    web = WebProcess(
        bot_environment(
            api_base=emulator.api_base,
            token=emulator.world.token,
            database_path=tmp_path / "steady.sqlite3",
            netguard_log=netguard_log,
            extra=env,
        )
    )
    await web.start()
    assert await web.wait() == 2
    [line] = [line for line in web.lines if "cannot start" in line]
    assert "needs DATABASE_URL=postgresql://" in line and "Traceback" not in web.output
