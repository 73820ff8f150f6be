"""My reminders, history and privacy: each form does what the /remind command does."""

from __future__ import annotations

import json
import re
from datetime import date

from dashboard.chart import history_svg
from services.guild_config import ChannelAccess
from services.stats import DayCounts
from tests.dashboard.rig import log_in, logged_in, page, post


def next_fire_of(html: str, kind: str) -> str:
    match = re.search(rf'data-kind="{kind}">Next: <strong>([^<]+)</strong>', html)
    assert match, f"no next fire shown for {kind}"
    return match.group(1)


async def test_set_time_zone_by_city(client, emulator, alice, services):
    await log_in(client, emulator, alice)
    response = await post(client, "/settings/timezone", {"zone": "berlin"})
    assert response.status == 303 and response.headers["Location"] == "/reminders"
    html = await page(client)
    assert "Your time zone is now Europe/Berlin." in html  # the flash, once
    assert (await services.member_settings.settings(alice.id)).timezone == "Europe/Berlin"
    assert "Your time zone is now" not in await page(client)


async def test_unknown_zone_is_shown_beside_the_field_and_changes_nothing(
    client, emulator, alice, services
):
    await logged_in(client, emulator, alice)
    response = await post(client, "/settings/timezone", {"zone": "Atlantis/Nowhere"})
    html = await response.text()
    assert response.status == 400
    assert 'id="zone" name="zone"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="timezone-zone-error"' in html
    assert re.search(r'id="timezone-zone-error">I don&#39;t know that time zone', html)
    assert (await services.member_settings.settings(alice.id)).timezone == "Europe/Berlin"


async def test_start_then_change_time_moves_the_next_fire(client, emulator, alice, services):
    await logged_in(client, emulator, alice)  # 12:00 in Berlin (T0)
    response = await post(client, "/reminders/start", {"kind": "sleep", "time": "21:30"})
    assert response.status == 303
    html = await page(client)
    assert "Sleep wind-down reminders on at 21:30 (Europe/Berlin)." in html
    assert next_fire_of(html, "sleep") == "Mon 03 Jun, 21:30"
    await post(client, "/reminders/start", {"kind": "sleep", "time": "9am"})
    html = await page(client)
    assert next_fire_of(html, "sleep") == "Tue 04 Jun, 09:00"
    assert "(in 21 h)" in html
    [view] = await services.subscriptions.list_subscriptions(alice.id)
    assert view.custom_time.strftime("%H:%M") == "09:00"


async def test_hydration_interval(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "hydration", "every": "3"})
    [view] = await services.subscriptions.list_subscriptions(alice.id)
    assert view.every_hours == 3


async def test_start_without_a_time_zone_asks_for_one(client, emulator, alice, services):
    await logged_in(client, emulator, alice, zone=None)
    response = await post(client, "/reminders/start", {"kind": "sleep"})
    assert response.status == 400
    text = await response.text()
    assert "Set your time zone first (under Settings, below)" in text
    assert "/remind timezone" not in text  # the page's words, not a slash command's
    assert await services.subscriptions.list_subscriptions(alice.id) == []


async def test_bad_time_and_interval_use_the_command_wording(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    bad_time = await post(client, "/reminders/start", {"kind": "sleep", "time": "25:99"})
    html = await bad_time.text()
    assert bad_time.status == 400
    assert 'id="start-sleep-time-error"' in html and 'value="25:99"' in html
    bad_every = await post(client, "/reminders/start", {"kind": "hydration", "every": "9"})
    assert 'id="start-hydration-every-error"' in await bad_every.text()
    assert await services.subscriptions.list_subscriptions(alice.id) == []


async def test_stop(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "caffeine"})
    await post(client, "/reminders/stop", {"kind": "caffeine"})
    assert "Stopped: Caffeine cut-off." in await page(client)
    assert await services.subscriptions.list_subscriptions(alice.id) == []
    await post(client, "/reminders/stop", {"kind": "caffeine"})
    assert "You had no Caffeine cut-off reminder to stop, so nothing changed." in await page(client)


async def test_schedule_preview_changes_nothing_until_saved(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "stretching"})  # bed 23:00 -> 22:00
    preview = await post(
        client, "/settings/schedule", {"wake": "6:00", "bed": "22:00", "action": "preview"}
    )
    html = await preview.text()
    assert preview.status == 200
    assert "<strong>Stretching</strong>: 21:00 — next Mon 03 Jun, 21:00" in html
    assert 'value="22:00"' in html  # what was typed stays in the form
    [view] = await services.subscriptions.list_subscriptions(alice.id)
    assert view.times[0].hour == 22
    await post(client, "/settings/schedule", {"wake": "6:00", "bed": "22:00", "action": "save"})
    [view] = await services.subscriptions.list_subscriptions(alice.id)
    assert view.times[0].hour == 21
    assert "Wake-up 06:00, bedtime 22:00." in await page(client)


async def test_schedule_errors_name_the_field(client, emulator, alice):
    await logged_in(client, emulator, alice)
    same = await post(client, "/settings/schedule", {"wake": "7:00", "bed": "7am"})
    assert 'id="schedule-bed-error">Wake-up time and bedtime must be different.' in (
        await same.text()
    )
    bad = await post(client, "/settings/schedule", {"wake": "soon", "bed": "23:00"})
    assert 'id="schedule-wake-error"' in await bad.text()


async def test_pause_and_resume(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "sleep"})
    await post(client, "/settings/pause", {"days": "3"})
    html = await page(client)
    assert "Paused until Thu 06 Jun 12:00" in html
    assert next_fire_of(html, "sleep") == "Thu 06 Jun, 22:30"
    too_long = await post(client, "/settings/pause", {"days": "31"})
    assert too_long.status == 400 and 'id="pause-days-error"' in await too_long.text()
    await post(client, "/settings/resume", {})
    html = await page(client)
    assert "Your reminders are back on." in html
    assert next_fire_of(html, "sleep") == "Mon 03 Jun, 22:30"
    await post(client, "/settings/resume", {})
    assert "Your reminders were not paused, so nothing changed." in await page(client)


async def test_delivery_to_one_of_my_servers_only(
    client, emulator, driver, alice, services, guild_config
):
    mine = driver.add_guild("Calm <b>Muscles</b>", members=[alice])
    other = driver.add_guild("Not Alice's")
    for guild in (mine, other):
        await guild_config.set_reminder_channel(guild.id, ChannelAccess(guild.id + 1))
    await logged_in(client, emulator, alice)
    html = await page(client)
    assert "Calm &lt;b&gt;Muscles&lt;/b&gt;" in html and "Not Alice" not in html
    edited = await post(client, "/settings/delivery", {"where": "server", "guild": str(other.id)})
    assert edited.status == 400
    assert "Pick one of your servers that Steady is in." in await edited.text()
    assert (await services.member_settings.settings(alice.id)).delivery == "dm"
    ok = await post(client, "/settings/delivery", {"where": "server", "guild": str(mine.id)})
    assert ok.status == 303
    settings = await services.member_settings.settings(alice.id)
    assert settings.delivery == "server" and settings.home_guild_id == mine.id
    await post(client, "/settings/delivery", {"where": "dm"})
    assert (await services.member_settings.settings(alice.id)).delivery == "dm"
    wrong = await post(client, "/settings/delivery", {"where": "pigeon"})
    assert "Delivery is <code>dm</code> or <code>server</code>." in await wrong.text()


async def test_hostile_input_gets_a_clear_error_and_changes_nothing(
    client, emulator, alice, services
):
    await logged_in(client, emulator, alice)
    before = await services.member_settings.settings(alice.id)
    cases = [
        ("/settings/timezone", {"zone": "x" * 5000}, "too long"),
        ("/settings/timezone", {"zone": "<script>alert(1)</script>"}, "time zone"),
        ("/settings/timezone", {"zone": "Europe/Berlin\u202e\u0000"}, "time zone"),
        ("/reminders/start", {"kind": "sleep", "time": "𝟗:𝟑𝟎"}, "start-sleep-time-error"),
        ("/reminders/start", {"kind": "<img src=x>"}, "Kinds:"),
        ("/reminders/start", {"kind": "hydration", "every": "1e9"}, "start-hydration-every"),
        ("/settings/pause", {"days": "-1"}, "pause-days-error"),
        ("/settings/pause", {"days": "[]"}, "pause-days-error"),
    ]
    for path, form, expected in cases:
        response = await post(client, path, form)
        html = await response.text()
        assert response.status == 400, (path, form)
        assert expected in html, (path, form)
        assert "<script>alert" not in html and "<img src=x>" not in html
    assert await services.member_settings.settings(alice.id) == before
    assert await services.subscriptions.list_subscriptions(alice.id) == []
    huge = await post(client, "/settings/timezone", {"zone": "x" * 100_000})
    assert huge.status == 413  # refused before it is parsed


async def test_one_member_never_sees_or_changes_anothers_data(
    new_client, emulator, alice, bob, services
):
    a = await logged_in(await new_client(), emulator, alice, zone="Pacific/Auckland")
    await post(a, "/reminders/start", {"kind": "sleep", "time": "21:45"})
    b = await logged_in(await new_client(), emulator, bob, zone="Asia/Tokyo")
    html = await page(b)
    assert "21:45" not in html and "Pacific/Auckland" not in html.split("<datalist")[0]
    # Forms carry no member id; one slipped in is ignored: Bob changes only Bob.
    await post(b, "/reminders/stop", {"kind": "sleep", "user_id": str(alice.id)})
    await post(b, "/settings/timezone", {"zone": "Asia/Tokyo", "user": str(alice.id)})
    assert [v.kind for v in await services.subscriptions.list_subscriptions(alice.id)] == ["sleep"]
    assert (await services.member_settings.settings(alice.id)).timezone == "Pacific/Auckland"
    export = json.loads(await (await b.get("/privacy/export.json")).text())
    assert export["user_id"] == str(bob.id) and export["subscriptions"] == []
    assert str(alice.id) not in json.dumps(export)
    history = await page(b, "/history")
    assert str(alice.id) not in history


async def test_history_page_draws_the_chart(client, emulator, alice):
    await logged_in(client, emulator, alice)
    html = await page(client, "/history")
    assert '<svg class="chart"' in html and "Reminders per day, last 30 days" in html
    assert '<th scope="row">Hydration</th><td>0</td>' in html


def test_chart_stacks_done_snoozed_and_sent():
    days = [DayCounts(date(2024, 6, d), sent=4, done=2, snoozed=1) for d in range(1, 31)]
    svg = str(history_svg(days))
    assert svg.count('class="done"') == 30 and svg.count('class="snoozed"') == 30
    assert "Sat 01 Jun: 2 done" in svg and "Sat 01 Jun: 1 sent, no response" in svg
    empty = str(history_svg([DayCounts(date(2024, 6, 1), 0, 0, 0)]))
    assert "<rect" not in empty and "<svg" in empty


async def test_export_is_a_json_download(client, emulator, alice):
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "sleep"})
    response = await client.get("/privacy/export.json")
    assert response.headers["Content-Disposition"] == 'attachment; filename="steady-export.json"'
    data = json.loads(await response.text())
    assert data["user_id"] == str(alice.id)
    assert [s["kind"] for s in data["subscriptions"]] == ["sleep"]


async def test_delete_everything_asks_first(client, new_client, emulator, alice, services):
    phone = await new_client()
    await log_in(phone, emulator, alice)
    await logged_in(client, emulator, alice)
    await post(client, "/reminders/start", {"kind": "sleep"})
    ask = await post(client, "/privacy/delete", {}, csrf=None)
    assert ask.status == 200 and "Yes, delete everything" in await ask.text()
    assert len(await services.subscriptions.list_subscriptions(alice.id)) == 1
    done = await post(client, "/privacy/delete", {"confirm": "yes"})
    assert done.status == 303 and done.headers["Location"] == "/?deleted=1"
    assert await services.subscriptions.list_subscriptions(alice.id) == []
    assert (await services.member_settings.settings(alice.id)).timezone is None
    # The member's dashboard sessions went too: logged out, told so.
    after = await client.get("/?deleted=1", allow_redirects=False)
    assert "Everything Steady stored about you is deleted" in await after.text()
    assert (await client.get("/reminders", allow_redirects=False)).status == 302
    assert (await phone.get("/reminders", allow_redirects=False)).status == 302


async def test_privacy_delete_in_discord_logs_the_member_out_of_the_dashboard(
    client, new_client, emulator, alice, bob, services
):
    other = await new_client()
    await log_in(other, emulator, bob)
    await logged_in(client, emulator, alice)
    assert (await client.get("/reminders", allow_redirects=False)).status == 200
    # What the "Delete everything" button of /privacy delete runs (cogs/privacy).
    await services.privacy.delete_all(alice.id)
    refused = await client.get("/reminders", allow_redirects=False)
    assert refused.status == 302 and refused.headers["Location"] == "/login?next=/reminders"
    assert (await other.get("/reminders", allow_redirects=False)).status == 200


async def test_forms_without_a_csrf_token_change_nothing(client, emulator, alice, services):
    await logged_in(client, emulator, alice)
    for path, form in [
        ("/reminders/start", {"kind": "sleep"}),
        ("/privacy/delete", {"confirm": "yes"}),
        ("/settings/timezone", {"zone": "Asia/Tokyo"}),
    ]:
        for token in (None, "", "wrong"):
            data = form if token is None else {**form, "csrf": token}
            response = await client.post(path, data=data, allow_redirects=False)
            assert response.status == 403
            assert "This form has expired" in await response.text()
    assert await services.subscriptions.list_subscriptions(alice.id) == []
    assert (await services.member_settings.settings(alice.id)).timezone == "Europe/Berlin"
