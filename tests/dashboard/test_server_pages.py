"""My servers: what /config does, for members with Manage Server, and nobody else."""

from __future__ import annotations

import re

import pytest

from services.guild_config import ChannelAccess
from testkit.emulator import Driver
from testkit.emulator import permissions as perms
from tests.dashboard.rig import csrf_of, log_in

REFUSAL = "Only members with the <strong>Manage Server</strong> permission"


@pytest.fixture
def place(driver: Driver, alice, bob):
    """Alice owns "Calm"; Bob is a plain member there; #general and #reminders exist."""
    guild = driver.add_guild("Calm", owner=alice, members=[bob], channels=("general", "reminders"))
    return guild


async def submit(client, guild_id: int, what: str, form: dict[str, str]):
    csrf = await csrf_of(client, f"/servers/{guild_id}")
    return await client.post(
        f"/servers/{guild_id}/{what}", data={"csrf": csrf, **form}, allow_redirects=False
    )


async def test_my_servers_lists_only_what_i_manage_where_the_bot_is(
    client, emulator, driver, alice, place
):
    driver.add_guild("Bob's", members=[alice])  # Alice is a plain member there
    gone = driver.add_guild("Left", owner=alice)
    gone.bot_member = False
    await log_in(client, emulator, alice)
    html = await (await client.get("/servers")).text()
    assert f'href="/servers/{place.id}">Calm<' in html
    assert "Bob&#39;s" not in html and "Left" not in html


async def test_an_admin_sets_the_reminder_channel(
    client, emulator, driver, alice, place, guild_config
):
    reminders = driver.channel(place, "reminders")
    await log_in(client, emulator, alice)
    html = await (await client.get(f"/servers/{place.id}")).text()
    assert 'id="reminder-state">Not set.' in html and 'id="tip-state">Off.' in html
    response = await submit(client, place.id, "reminder-channel", {"channel": str(reminders.id)})
    assert response.status == 303 and response.headers["Location"] == f"/servers/{place.id}"
    html = await (await client.get(f"/servers/{place.id}")).text()
    assert "Reminder channel set." in html
    assert 'id="reminder-state"><strong>#reminders</strong>' in html
    assert await guild_config.reminder_channel(place.id) == reminders.id
    off = await submit(client, place.id, "reminder-channel", {"action": "off"})
    assert off.status == 303
    assert await guild_config.reminder_channel(place.id) is None


async def test_a_channel_the_bot_cannot_post_in_is_refused_with_what_is_missing(
    client, emulator, driver, alice, place, guild_config
):
    general = driver.channel(place, "general")
    driver.deny_bot(general, perms.EMBED_LINKS)
    await log_in(client, emulator, alice)
    response = await submit(client, place.id, "reminder-channel", {"channel": str(general.id)})
    html = await response.text()
    assert response.status == 400
    assert 'id="reminder-channel-error">I can&#39;t use <strong>#general</strong>' in html
    assert "missing the <strong>Embed Links</strong> permission there" in html
    assert await guild_config.reminder_channel(place.id) is None


async def test_ids_edited_in_the_form_or_the_url_are_refused(
    client, emulator, driver, alice, bob, place, guild_config
):
    elsewhere = driver.add_guild("Elsewhere", owner=bob, channels=("secret",))
    secret = driver.channel(elsewhere, "secret")
    await log_in(client, emulator, alice)
    # Another server's channel, through Alice's own server: not a channel of this server.
    foreign = await submit(client, place.id, "reminder-channel", {"channel": str(secret.id)})
    text = await foreign.text()
    assert foreign.status == 400 and "That is not a channel of this server" in text
    assert "deleted-channel" not in text
    for bad in ("abc", "1" * 30, "-5", ""):
        response = await submit(client, place.id, "reminder-channel", {"channel": bad})
        assert response.status == 400
    # Bob's server in the URL: Alice is not a member there.
    page = await client.get(f"/servers/{elsewhere.id}")
    assert page.status == 403
    csrf = await csrf_of(client, "/servers")
    post = await client.post(
        f"/servers/{elsewhere.id}/reminder-channel",
        data={"csrf": csrf, "channel": str(secret.id)},
        allow_redirects=False,
    )
    assert post.status == 403
    assert await guild_config.reminder_channel(elsewhere.id) is None
    assert await guild_config.reminder_channel(place.id) is None
    assert (await client.get("/servers/not-a-number")).status == 404


async def test_a_member_without_manage_server_is_refused(
    client, emulator, driver, bob, place, guild_config
):
    await log_in(client, emulator, bob)
    page = await client.get(f"/servers/{place.id}")
    assert page.status == 403 and REFUSAL in await page.text()
    assert f"/servers/{place.id}" not in await (await client.get("/servers")).text()
    csrf = await csrf_of(client, "/servers")
    general = driver.channel(place, "general")
    post = await client.post(
        f"/servers/{place.id}/reminder-channel",
        data={"csrf": csrf, "channel": str(general.id)},
        allow_redirects=False,
    )
    assert post.status == 403 and REFUSAL in await post.text()
    assert await guild_config.reminder_channel(place.id) is None


async def test_losing_manage_server_loses_the_page_at_the_next_request(
    client, emulator, driver, bob, place, clock
):
    managers = driver.add_role(place, "Mods", perms.MANAGE_GUILD)
    driver.give_role(place, bob, managers)
    await log_in(client, emulator, bob)
    assert (await client.get(f"/servers/{place.id}")).status == 200
    assert f"/servers/{place.id}" in await (await client.get("/servers")).text()
    place.members[bob.id].role_ids.remove(managers.id)
    assert (await client.get(f"/servers/{place.id}")).status == 403
    clock.advance(61)  # the server list is asked of Discord again after a minute
    assert f"/servers/{place.id}" not in await (await client.get("/servers")).text()


async def test_a_deleted_channel_shows_as_broken(
    client, emulator, driver, alice, place, guild_config
):
    reminders = driver.channel(place, "reminders")
    await log_in(client, emulator, alice)
    await submit(client, place.id, "reminder-channel", {"channel": str(reminders.id)})
    place.channels.pop(reminders.id)  # deleted while the bot looked away
    html = await (await client.get(f"/servers/{place.id}")).text()
    assert "<strong>#deleted-channel</strong><br>⚠️ This channel no longer exists" in html


async def test_daily_tip_on_and_off(client, emulator, driver, alice, place):
    general = driver.channel(place, "general")
    await log_in(client, emulator, alice)
    form = {"channel": str(general.id), "time": "9am", "zone": "berlin"}
    response = await submit(client, place.id, "daily-tip", form)
    assert response.status == 303
    html = await (await client.get(f"/servers/{place.id}")).text()
    assert "A daily tip will be posted at 09:00 (Europe/Berlin)." in html
    assert 'id="tip-state">09:00 (Europe/Berlin) in <strong>#general</strong>' in html
    assert "Next post Tue 04 Jun, 09:00." in html  # T0 is Monday 12:00 in Berlin
    bad_time = await submit(client, place.id, "daily-tip", {**form, "time": "noonish"})
    assert 'id="tip-time-error"' in await bad_time.text()
    bad_zone = await submit(client, place.id, "daily-tip", {**form, "zone": "Mars/Olympus"})
    assert 'id="tip-zone-error">I don&#39;t know that time zone' in await bad_zone.text()
    off = await submit(client, place.id, "daily-tip", {"action": "off"})
    assert off.status == 303
    assert "The daily tip is off." in await (await client.get(f"/servers/{place.id}")).text()


async def test_server_delivery_needs_a_reminder_channel_first(
    client, emulator, driver, alice, place, services
):
    await log_in(client, emulator, alice)
    csrf = await csrf_of(client)
    form = {"csrf": csrf, "where": "server", "guild": str(place.id)}
    refused = await client.post("/settings/delivery", data=form, allow_redirects=False)
    assert refused.status == 400
    # Said in the web's terms (where on the dashboard), not as a slash command.
    text = await refused.text()
    assert "Calm has no reminder channel yet" in text and "under Servers" in text
    assert "You manage it" in text  # Alice owns Calm
    assert "/config" not in text
    reminders = driver.channel(place, "reminders")
    await submit(client, place.id, "reminder-channel", {"channel": str(reminders.id)})
    form["csrf"] = await csrf_of(client)
    assert (await client.post("/settings/delivery", data=form, allow_redirects=False)).status == 303
    assert (await services.member_settings.settings(alice.id)).delivery == "server"


LABEL_FOR = re.compile(r'<label for="([^"]+)"')
CONTROL = re.compile(r"<(input|select)\b([^>]*)>")


def unlabelled_controls(html: str) -> list[str]:
    """Form controls a screen reader or keyboard user could not name (hidden ones aside)."""
    labelled = set(LABEL_FOR.findall(html))
    missing = []
    for _tag, attrs in CONTROL.findall(html):
        if 'type="hidden"' in attrs or 'type="radio"' in attrs:  # radios sit inside a label
            continue
        control_id = re.search(r'id="([^"]+)"', attrs)
        if control_id is None or control_id.group(1) not in labelled:
            missing.append(attrs.strip()[:80])
    return missing


async def test_every_page_is_small_labelled_and_free_of_inline_code(
    client, emulator, driver, alice, place
):
    driver.channel(place, "general")
    await log_in(client, emulator, alice)
    for path in ("/reminders", "/history", "/privacy", "/servers", f"/servers/{place.id}"):
        html = await (await client.get(path)).text()
        assert unlabelled_controls(html) == [], path
        assert len(html.encode()) < 100_000, path
        assert "<script" not in html and "style=" not in html, path


async def test_hostile_server_input_is_refused_and_escaped(
    client, emulator, driver, alice, guild_config
):
    guild = driver.add_guild("<img src=x onerror=alert(1)>", owner=alice)
    general = driver.channel(guild, "general")
    general.name = "<b>general</b>"
    await log_in(client, emulator, alice)
    html = await (await client.get(f"/servers/{guild.id}")).text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>general</b>" not in html
    for form in (
        {"channel": str(general.id), "time": "9" * 101, "zone": "UTC"},
        {"channel": str(general.id), "time": "9am", "zone": "<script>alert(1)</script>"},
        {"channel": str(general.id), "time": "９:００\u0000", "zone": "UTC"},
    ):
        response = await submit(client, guild.id, "daily-tip", form)
        text = await response.text()
        assert response.status == 400 and "<script>alert" not in text
    assert (await guild_config.settings(guild.id, ChannelAccess)).daily_tip is None
