"""What a real browser showed (#20, item 7), one test each: reload-safe forms, error pages in
the site's layout, focus on the first error, accessible names per reminder, caching and
headers, and the rate-limited refresh of the server list."""

from __future__ import annotations

import re

import pytest

from dashboard.app import make_templates
from dashboard.server_pages import REFRESH_EVERY_S
from testkit.emulator import Driver
from tests.dashboard.rig import FakeServers, client_for, log_in, make_dashboard, post

LAYOUT = '<main id="main">'


@pytest.fixture
def place(driver: Driver, alice):
    return driver.add_guild("Calm", owner=alice, channels=("general", "reminders"))


async def test_a_form_address_opened_or_reloaded_goes_to_its_page(client, emulator, alice, place):
    await log_in(client, emulator, alice)
    for form, page in (
        ("/reminders/start", "/reminders"),
        ("/settings/timezone", "/reminders"),
        ("/privacy/delete", "/privacy"),
        (f"/servers/{place.id}/daily-tip", f"/servers/{place.id}"),
        ("/logout", "/"),
    ):
        response = await client.get(form, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == page, form
    # A successful form redirects (post/redirect/get); the refused one shows the page.
    done = await post(client, "/settings/timezone", {"zone": "Europe/Lisbon"})
    assert done.status == 303 and done.headers["Location"] == "/reminders"


async def test_404_405_and_500_are_pages_of_the_site(
    client, emulator, alice, driver, services, clock
):
    missing = await client.get("/no-such-page")
    assert missing.status == 404
    text = await missing.text()
    assert LAYOUT in text and "Page not found" in text
    assert missing.headers["Cache-Control"] == "no-store"
    await log_in(client, emulator, alice)
    wrong = await post(client, "/history", {})  # a page, not a form
    assert wrong.status == 405 and LAYOUT in await wrong.text()
    assert "GET" in wrong.headers["Allow"]

    class Broken(FakeServers):
        async def member_permissions(self, guild_id, user_id, *, fresh=False):
            raise RuntimeError("boom")

    guild = driver.add_guild("Calm", owner=alice)
    broken = await client_for(make_dashboard(emulator, services, clock, servers=Broken(emulator)))
    try:
        await log_in(broken, emulator, alice)
        failed = await broken.get(f"/servers/{guild.id}")
        assert failed.status == 500
        text = await failed.text()
        assert LAYOUT in text and "Something went wrong" in text and "boom" not in text
        assert "Log out" in text  # the member's own layout, still logged in
    finally:
        await broken.close()


async def test_focus_goes_to_a_summary_of_the_errors_that_links_to_each(client, emulator, alice):
    await log_in(client, emulator, alice)
    await post(client, "/settings/timezone", {"zone": "Europe/Lisbon"})
    refused = await post(client, "/reminders/start", {"kind": "sleep", "time": "half past never"})
    html = await refused.text()
    assert refused.status == 400
    summary = re.search(r'<div class="error-summary"[^>]*>', html)
    assert summary and "autofocus" in summary.group(0) and 'role="alert"' in summary.group(0)
    # The summary comes before the forms, and links to the message beside the field.
    assert html.index("error-summary") < html.index('action="/reminders/start"')
    [target] = re.findall(r'<li><a href="#([^"]+)">', html)
    assert f'id="{target}"' in html and target == "start-sleep-time-error"


async def test_each_control_says_which_reminder_it_is_for(client, emulator, alice):
    await log_in(client, emulator, alice)
    html = await (await client.get("/reminders")).text()
    labels = re.findall(r'<label for="(\w+)-time">(.*?)</label>', html, re.S)
    names = [re.sub(r"<[^>]+>", "", text).split("(")[0].split() for _, text in labels]
    assert len(labels) == 4 and len({" ".join(n) for n in names}) == 4
    buttons = re.findall(r'(?:Start|Save)<span class="vh"> the ([^<]+) reminder</span>', html)
    assert len(buttons) == 4 and len(set(buttons)) == 4


async def test_caching_and_the_server_header(client, emulator, alice):
    login = await client.get("/login", allow_redirects=False)
    assert login.status == 302 and login.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" in login.headers
    page = await client.get("/")
    stylesheet = re.search(r'href="(/static/style\.css\?v=\w+)"', await page.text())
    assert stylesheet
    css = await client.get(stylesheet.group(1))
    assert css.status == 200 and "immutable" in css.headers["Cache-Control"]
    assert "max-age=31536000" in css.headers["Cache-Control"]
    for response in (login, page, css, await client.get("/nowhere")):
        assert "Server" not in response.headers


async def test_the_refresh_link_asks_discord_again_at_most_every_few_seconds(
    client, emulator, driver, alice, place, dashboard, clock
):
    await log_in(client, emulator, alice)
    html = await (await client.get("/servers")).text()
    assert 'href="/servers?refresh=1"' in html
    created = driver.add_guild("Created after login", owner=alice)
    assert "Created after login" not in html
    clock.advance(seconds=REFRESH_EVERY_S + 1)
    refreshed = await client.get("/servers?refresh=1", allow_redirects=False)
    assert refreshed.status == 303 and refreshed.headers["Location"] == "/servers"
    html = await (await client.get("/servers")).text()
    assert f'href="/servers/{created.id}"' in html and "fresh from Discord" in html
    assert created.id in dashboard.servers.forgotten
    asked = emulator.stats.by_route["GET /users/@me/guilds"]
    await client.get("/servers?refresh=1", allow_redirects=False)
    html = await (await client.get("/servers")).text()
    assert "just refreshed" in html
    assert emulator.stats.by_route["GET /users/@me/guilds"] == asked


async def test_discord_not_answering_is_a_page_saying_try_again(
    client, emulator, alice, driver, services, clock
):
    from services.guild_facts import UNREACHABLE, DiscordUnavailable

    class Unreachable(FakeServers):
        async def member_permissions(self, guild_id, user_id, *, fresh=False):
            raise DiscordUnavailable(UNREACHABLE)

    guild = driver.add_guild("Calm", owner=alice)
    down = await client_for(
        make_dashboard(emulator, services, clock, servers=Unreachable(emulator))
    )
    try:
        await log_in(down, emulator, alice)
        page = await down.get(f"/servers/{guild.id}")
        text = await page.text()
        assert page.status == 503 and "Discord did not answer" in text and LAYOUT in text
    finally:
        await down.close()


def test_every_template_is_compiled_before_the_first_page():
    """Compiled on first use, the templates cost the first pages ~40 ms of CPU on the event
    loop — inside the bot, the reminder sender's."""
    env = make_templates()
    assert env.cache is not None
    compiled = {template.name for template in env.cache.values()}
    assert compiled == set(env.list_templates(extensions=["html"]))
