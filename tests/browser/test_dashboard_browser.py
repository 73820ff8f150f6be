"""The dashboard in a real browser, inside the real bot, logging in through the emulator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testkit.dashboard import dashboard_env
from testkit.emulator import Driver, Emulator
from testkit.emulator.state import User
from testkit.ports import on_a_free_port_async
from tests.browser.conftest import DESKTOP, PHONE
from tests.e2e.conftest import Server, StartBot
from tests.e2e.reminder_helpers import (
    DONE,
    button_ids,
    local_time_ahead,
    start_bot_at,
    title,
    wait_for_reminders,
)
from tests.e2e.web_helpers import StartWeb

ZONE = "Europe/Lisbon"


async def log_in(context, base_url: str, user: User):
    """Click "Log in with Discord", type the username on the (emulated) Discord page, go back."""
    page = await context.new_page()
    await page.goto(base_url + "/")
    await page.get_by_role("link", name="Log in with Discord").click()
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(base_url + "/reminders")
    return page


async def shoot(page, folder: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(folder / f"dashboard-{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


@pytest.mark.serial  # a bot on a faked clock: timing is what it asserts
async def test_a_member_changes_a_reminder_and_the_bot_sends_it_then(
    browser,
    screenshots: Path,
    start_bot: StartBot,
    emulator: Emulator,
    driver: Driver,
    server: Server,
):
    start = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    # 10× fast, not more: a login started on the dashboard expires after 10 minutes of the
    # bot's (faked) clock, and a browser on a busy machine can take well over the 10 real
    # seconds that would leave at 60×.
    (_, clock), port = await on_a_free_port_async(
        lambda port: start_bot_at(start_bot, start, speed=10, **dashboard_env(emulator, port))
    )
    base_url = f"http://127.0.0.1:{port}"

    mine = await browser.new_context(viewport=DESKTOP)
    page = await log_in(mine, base_url, server.member)
    # Keyboard only: type into the labelled field and press Enter.
    await page.get_by_label("Time zone").fill("lisbon")
    await page.get_by_label("Time zone").press("Enter")
    await page.get_by_text(f"Your time zone is now {ZONE}.").wait_for()

    sleep_card = page.locator("#kind-sleep")
    await sleep_card.get_by_label("Time").fill("23:50")
    await sleep_card.get_by_role("button", name="Start").click()
    await page.get_by_text("Sleep wind-down reminders on at 23:50").wait_for()
    first = await sleep_card.locator(".next strong").inner_text()
    assert first.endswith("23:50")

    soon = local_time_ahead(clock, ZONE, minutes=3)
    await sleep_card.get_by_label("Time").fill(soon.strftime("%H:%M"))
    await sleep_card.get_by_role("button", name="Save").click()
    await page.get_by_text(f"reminders on at {soon:%H:%M}").wait_for()
    assert (await sleep_card.locator(".next strong").inner_text()).endswith(f"{soon:%H:%M}")

    # A wrong value is refused beside its field, with the command's wording.
    await sleep_card.get_by_label("Time").fill("half past never")
    await sleep_card.get_by_role("button", name="Save").click()
    error = page.locator("#start-sleep-time-error")
    await error.wait_for()
    assert await sleep_card.get_by_label("Time").get_attribute("aria-invalid") == "true"
    # Focus is on the summary at the top (a phone shows it first), which links to the field.
    focused = await page.evaluate("document.activeElement.className")
    assert focused == "error-summary", focused
    await shoot(page, screenshots, "reminders")

    [reminder] = await wait_for_reminders(driver, server.member, within=60)
    assert title(reminder).startswith("🌙")
    assert clock.now() >= soon
    await driver.click(reminder, button_ids(reminder)[DONE], user=server.member)

    history = await mine.new_page()
    await history.goto(base_url + "/history")
    assert await history.locator("svg.chart rect.done").count() == 1
    done_row = history.get_by_role("row", name=re.compile("Sleep wind-down"))
    assert "1 day" in await done_row.inner_text()  # the streak
    await shoot(history, screenshots, "history")
    # The chart's axis text stays readable at phone width.
    await history.set_viewport_size(PHONE)
    tick = await history.locator("svg.chart text.tick").first.bounding_box()
    assert tick is not None and tick["height"] >= 11, tick
    await history.set_viewport_size(DESKTOP)

    # Someone else, in another browser, sees none of it.
    theirs = await browser.new_context(viewport=PHONE)
    other = await log_in(theirs, base_url, server.owner)
    text = await other.locator("main").inner_text()
    assert soon.strftime("%H:%M") not in text and ZONE not in re.sub(r"\(type.*?\)", "", text)
    assert await other.locator("#kind-sleep .off").inner_text() == "Off"

    # Logging out ends it: the next page sends the browser to Discord to log in again.
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(base_url + "/")
    await page.goto(base_url + "/reminders")
    assert page.url.startswith(emulator.authorize_url)
    await mine.close()
    await theirs.close()


async def test_an_admin_sets_the_reminder_channel_and_a_member_is_refused(
    browser,
    screenshots: Path,
    start_bot: StartBot,
    emulator: Emulator,
    driver: Driver,
    server: Server,
):
    reminders = driver.add_channel(server.guild, "reminders")
    _, port = await on_a_free_port_async(lambda port: start_bot(**dashboard_env(emulator, port)))
    base_url = f"http://127.0.0.1:{port}"

    admin = await browser.new_context(viewport=DESKTOP)
    page = await log_in(admin, base_url, server.owner)
    await page.get_by_role("link", name="Servers").click()
    await shoot(page, screenshots, "servers")
    await page.get_by_role("link", name=server.guild.name).click()
    card = page.locator("article", has=page.get_by_role("heading", name="Reminder channel"))
    await card.get_by_label("Channel").select_option(label="#reminders")
    await card.get_by_role("button", name="Set reminder channel").click()
    await page.get_by_text("Reminder channel set.").wait_for()
    assert await page.locator("#reminder-state").inner_text() == "#reminders"
    await shoot(page, screenshots, "server")
    # The command sees what the page set: one service, one database.
    shown = await driver.slash("config show", user=server.owner, guild=server.guild)
    assert f"<#{reminders.id}>" in shown.text

    member = await browser.new_context(viewport=PHONE)
    other = await log_in(member, base_url, server.member)
    await other.get_by_role("link", name="Servers").click()
    assert await other.get_by_role("link", name=server.guild.name).count() == 0
    response = await other.goto(f"{base_url}/servers/{server.guild.id}")
    assert response is not None and response.status == 403
    assert "Manage Server" in await other.locator("main").inner_text()
    await admin.close()
    await member.close()


async def test_the_dashboard_as_its_own_process_in_a_browser(
    postgres_url: str,
    browser,
    start_bot: StartBot,
    start_web: StartWeb,
    emulator: Emulator,
    driver: Driver,
    server: Server,
):
    """``python -m bot dashboard`` beside the bot on PostgreSQL: the server page from
    Discord's REST API, the setting seen by the bot's ``/config show``."""
    reminders = driver.add_channel(server.guild, "reminders")
    await start_bot(DATABASE_URL=postgres_url)
    _, base_url = await start_web()
    admin = await browser.new_context(viewport=PHONE)
    page = await log_in(admin, base_url, server.owner)
    await page.get_by_role("link", name="Servers").click()
    await page.get_by_role("link", name=server.guild.name).click()
    card = page.locator("article", has=page.get_by_role("heading", name="Reminder channel"))
    await card.get_by_label("Channel").select_option(label="#reminders")
    await card.get_by_role("button", name="Set reminder channel").click()
    await page.get_by_text("Reminder channel set.").wait_for()
    assert await page.locator("#reminder-state").inner_text() == "#reminders"
    shown = await driver.slash("config show", user=server.owner, guild=server.guild)
    assert f"<#{reminders.id}>" in shown.text
    await admin.close()
