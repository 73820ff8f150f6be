"""The reminder service: what /remind, the buttons and /privacy do to stored state."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import FieldError, UserFacingError
from services.guild_config import ChannelAccess
from storage import guild_settings
from testkit.fake_time import FakeClock
from tests.reminder_rig import T0, make_rig, open_db, rows

USER = 42
GUILD = 7


def local(moment: datetime | None) -> tuple[datetime, str]:
    """An aware instant as the member reads it: wall-clock time and the zone it is in."""
    assert moment is not None and isinstance(moment.tzinfo, ZoneInfo), moment
    return moment.replace(tzinfo=None), moment.tzinfo.key


@pytest.fixture
async def rig(tmp_path):
    db = await open_db(tmp_path)
    clock = FakeClock(T0)
    yield await make_rig(db, clock, reminder_channels={GUILD: 555})
    await db.close()


async def snapshot(db) -> list:
    out = []
    for table in ("members", "subscriptions", "snoozes", "deliveries"):
        out.append(await rows(db, f"SELECT * FROM {table} ORDER BY 1"))
    return out


async def test_start_without_zone_asks_for_one_and_stores_nothing(rig):
    with pytest.raises(UserFacingError, match="/remind timezone"):
        await rig.subscriptions.start(USER, GUILD, "hydration")
    assert await rig.subscriptions.list_subscriptions(USER) == []


async def test_start_with_zone_option_sets_it(rig):
    view = await rig.subscriptions.start(USER, GUILD, "sleep", zone_text="new york")
    assert view.zone == "America/New_York"
    assert (await rig.member_settings.settings(USER)).timezone == "America/New_York"
    # 06:00 New York; wind-down at 22:30 local tonight (02:30 UTC), shown in New York time.
    assert view.next_fire == datetime(2024, 6, 4, 2, 30, tzinfo=UTC)
    assert local(view.next_fire) == (datetime(2024, 6, 3, 22, 30), "America/New_York")


async def test_start_derives_times_and_next_fire_in_member_zone(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    view = await rig.subscriptions.start(USER, GUILD, "hydration")
    assert view.times == [time(h) for h in (8, 10, 12, 14, 16, 18, 20, 22)]
    assert view.next_fire is not None
    assert view.next_fire.utcoffset() == timedelta(hours=2)
    assert local(view.next_fire) == (datetime(2024, 6, 3, 14, 0), "Europe/Berlin")  # now is 12:00


async def test_custom_time_and_every(rig):
    await rig.member_settings.set_timezone(USER, "Europe/Berlin")
    view = await rig.subscriptions.start(USER, GUILD, "hydration", time_text="9:30am", every="3")
    assert view.times == [time(9, 30), time(12, 30), time(15, 30), time(18, 30), time(21, 30)]
    assert view.custom_time == time(9, 30) and view.every_hours == 3
    view = await rig.subscriptions.start(USER, GUILD, "caffeine", time_text="14h")
    assert view.times == [time(14)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "coffee"}, "Kinds: hydration"),
        ({"kind": "hydration", "time_text": "25:00"}, "21:30, 9:30pm"),
        ({"kind": "hydration", "time_text": "<@1> 9pm"}, "21:30, 9:30pm"),
        ({"kind": "hydration", "every": 7}, "1 to 6"),
        ({"kind": "hydration", "every": "0"}, "1 to 6"),
        ({"kind": "sleep", "every": 2}, "only for hydration"),
        ({"kind": "sleep", "zone_text": "Mars/Base"}, "Europe/Berlin"),
    ],
)
async def test_bad_input_changes_nothing(rig, kwargs, message):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "hydration")
    before = await snapshot(rig.db)
    with pytest.raises(UserFacingError, match=message):
        await rig.subscriptions.start(USER, GUILD, **kwargs)
    assert await snapshot(rig.db) == before


async def test_other_bad_inputs_change_nothing(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "sleep")
    before = await snapshot(rig.db)
    for call in (
        rig.member_settings.set_timezone(USER, "nowhere"),
        rig.member_settings.set_schedule(USER, "7am", "bedtime"),
        rig.member_settings.set_schedule(USER, "7am", "7:00"),
        rig.member_settings.pause(USER, 0),
        rig.member_settings.pause(USER, "31"),
        rig.subscriptions.stop(USER, "everything"),
        rig.member_settings.set_delivery(USER, "pigeon", GUILD),
    ):
        with pytest.raises(UserFacingError):
            await call
    assert await snapshot(rig.db) == before


async def test_schedule_change_moves_derived_times_keeps_custom(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "sleep")
    await rig.subscriptions.start(USER, GUILD, "caffeine", time_text="13:00")
    await rig.member_settings.set_schedule(USER, "6:00", "1:00")  # bed after midnight
    views = {v.kind: v for v in await rig.subscriptions.list_subscriptions(USER)}
    assert views["sleep"].times == [time(0, 30)]
    assert local(views["sleep"].next_fire) == (datetime(2024, 6, 4, 0, 30), "Europe/Berlin")
    assert views["caffeine"].times == [time(13)]


async def test_timezone_change_recomputes_next_fire(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "stretching")  # 22:00 Berlin = 20:00 UTC
    (before,) = await rows(rig.db, "SELECT next_fire_at FROM subscriptions")
    assert before[0] == int(datetime(2024, 6, 3, 20, tzinfo=UTC).timestamp())
    await rig.member_settings.set_timezone(USER, "kolkata")  # 22:00 IST = 16:30 UTC
    (after,) = await rows(rig.db, "SELECT next_fire_at, zone FROM subscriptions")
    assert after == (int(datetime(2024, 6, 3, 16, 30, tzinfo=UTC).timestamp()), "Asia/Kolkata")


async def test_stop_one_and_all(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    for kind in ("hydration", "sleep", "caffeine"):
        await rig.subscriptions.start(USER, GUILD, kind)
    assert (await rig.subscriptions.stop(USER, "Sleep")).kinds == ["sleep"]
    assert (await rig.subscriptions.stop(USER, "all")).kinds == ["caffeine", "hydration"]
    assert await rig.subscriptions.list_subscriptions(USER) == []
    assert (await rig.subscriptions.stop(USER, "sleep")).kinds == []


async def test_pause_moves_fires_past_the_pause_and_resume_restores(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "sleep")
    until = await rig.member_settings.pause(USER, 3)
    assert local(until) == (datetime(2024, 6, 6, 12, 0), "Europe/Berlin")
    (view,) = await rig.subscriptions.list_subscriptions(USER)
    assert local(view.next_fire) == (datetime(2024, 6, 6, 22, 30), "Europe/Berlin")
    # Starting another kind while paused also waits for the pause to end.
    hydration = await rig.subscriptions.start(USER, GUILD, "hydration")
    assert local(hydration.next_fire) == (datetime(2024, 6, 6, 14, 0), "Europe/Berlin")
    assert await rig.member_settings.resume(USER) is not None
    views = {v.kind: v for v in await rig.subscriptions.list_subscriptions(USER)}
    assert local(views["sleep"].next_fire) == (datetime(2024, 6, 3, 22, 30), "Europe/Berlin")
    assert (await rig.member_settings.settings(USER)).paused_until is None


async def test_delivery_setting(rig):
    with pytest.raises(UserFacingError, match="inside the server"):
        await rig.member_settings.set_delivery(USER, "server", None)
    with pytest.raises(UserFacingError, match="no reminder channel"):
        await rig.member_settings.set_delivery(USER, "server", 999)
    assert await rig.member_settings.set_delivery(USER, "SERVER", GUILD) == "server"
    settings = await rig.member_settings.settings(USER)
    assert (settings.delivery, settings.home_guild_id) == ("server", GUILD)
    assert await rig.member_settings.set_delivery(USER, "dm", None) == "dm"


async def test_server_delivery_stays_with_the_server_it_was_chosen_in(rig):
    """A member in two servers picks server delivery in one, then starts a reminder from the
    other: their reminders still go to the first server's reminder channel."""
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.member_settings.set_delivery(USER, "server", GUILD)
    await rig.subscriptions.start(USER, GUILD + 1, "sleep")
    assert (await rig.member_settings.settings(USER)).home_guild_id == GUILD
    await rig.member_settings.set_delivery(USER, "dm", None)
    await rig.subscriptions.start(USER, GUILD + 1, "caffeine")
    assert (
        await rig.member_settings.settings(USER)
    ).home_guild_id == GUILD + 1  # DM fall-back: latest


async def test_delivery_server_from_a_dm_names_the_members_server_not_this_one(rig):
    """Asked in a DM, "this server" would be the DM: the answer says which server it means."""
    await rig.member_settings.set_delivery(USER, "server", GUILD)
    await guild_settings.clear_reminder_channel(rig.db, GUILD)
    with pytest.raises(UserFacingError, match="^The server you set up in has no reminder channel"):
        await rig.member_settings.set_delivery(USER, "server", None)


async def _sent_delivery(rig, kind: str = "sleep") -> int:
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, kind)
    await rig.run_until(T0 + timedelta(hours=11))
    (row,) = await rows(rig.db, "SELECT id FROM deliveries WHERE state = 'sent' ORDER BY id DESC")
    return row[0]


async def test_done_snooze_and_ownership(rig):
    delivery_id = await _sent_delivery(rig)
    with pytest.raises(UserFacingError, match="someone else"):
        await rig.buttons.mark_done(delivery_id, USER + 1)
    with pytest.raises(UserFacingError, match="no longer"):
        await rig.buttons.snooze(10_000, USER)
    first = await rig.buttons.snooze(delivery_id, USER)
    second = await rig.buttons.snooze(delivery_id, USER)  # double click: one snooze
    assert first == second
    assert len(await rows(rig.db, "SELECT * FROM snoozes")) == 1
    assert (await rig.buttons.mark_done(delivery_id, USER)).id == delivery_id
    assert await rig.buttons.mark_done(delivery_id, USER) is None
    (outcome,) = await rows(rig.db, "SELECT outcome FROM deliveries WHERE id = ?", delivery_id)
    assert outcome == ("done",)


async def test_stop_button_unsubscribes_that_kind(rig):
    delivery_id = await _sent_delivery(rig)
    assert (await rig.buttons.stop(delivery_id, USER)).kinds == ["sleep"]
    assert await rig.subscriptions.list_subscriptions(USER) == []
    assert (await rig.buttons.stop(delivery_id, USER)).kinds == []


async def test_stats_counts_and_streak(rig):
    await rig.member_settings.set_timezone(USER, "berlin")
    await rig.subscriptions.start(USER, GUILD, "sleep")
    for day in range(4):
        await rig.run_until(T0 + timedelta(days=day, hours=11))
        (row,) = await rows(rig.db, "SELECT max(id) FROM deliveries WHERE state = 'sent'")
        if day != 0:  # day 0 missed, days 1-3 done
            await rig.buttons.mark_done(row[0], USER)
        else:
            await rig.buttons.snooze(row[0], USER)
    stats = {s.kind: s for s in await rig.stats.stats(USER)}
    sleep = stats["sleep"]
    assert sleep.sent == 5  # four wind-downs and one snoozed repeat
    assert (sleep.done, sleep.snoozed, sleep.streak) == (3, 1, 3)
    assert stats["hydration"].sent == 0 and stats["hydration"].streak == 0


async def test_export_and_delete_everything(rig):
    delivery_id = await _sent_delivery(rig)
    await rig.buttons.snooze(delivery_id, USER)
    other = 77
    await rig.member_settings.set_timezone(other, "UTC")
    await rig.subscriptions.start(other, None, "sleep")
    exported = await rig.privacy.export(USER)
    assert exported["user_id"] == str(USER)
    assert exported["settings"]["timezone"] == "Europe/Berlin"
    assert [s["kind"] for s in exported["subscriptions"]] == ["sleep"]
    assert len(exported["snoozes"]) == 1
    assert exported["deliveries"][0]["outcome"] == "snoozed"
    import json

    json.dumps(exported)  # JSON-ready
    await rig.privacy.delete_all(USER)
    for table in ("members", "subscriptions", "snoozes", "deliveries"):
        assert await rows(rig.db, f"SELECT * FROM {table} WHERE user_id = ?", USER) == []
    assert len(await rig.subscriptions.list_subscriptions(other)) == 1


async def test_notice_is_shown_once(rig):
    from storage import members

    await members.set_notice(rig.db, USER, "hello", 0)
    assert await rig.member_settings.pop_notice(USER) == "hello"
    assert await rig.member_settings.pop_notice(USER) is None
    assert await rig.member_settings.pop_notice(12345) is None


async def test_daily_tip_subscription(rig):
    tip = await rig.guild_config.set_daily_tip(GUILD, ChannelAccess(321), "9am", "berlin")
    assert (tip.time, tip.zone, tip.channel.channel_id) == (time(9), "Europe/Berlin", 321)
    await rig.run_until(T0 + timedelta(days=1))
    assert [m.channel_id for m in rig.discord.messages] == [321]
    assert await rig.guild_config.turn_off_daily_tip(GUILD) is True


# --- a refused value names its input ------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda rig: rig.subscriptions.start(USER, GUILD, "yoga"), "kind"),
        (lambda rig: rig.subscriptions.start(USER, GUILD, "sleep", "25:99"), "time"),
        (lambda rig: rig.subscriptions.start(USER, GUILD, "hydration", None, 9), "every"),
        (lambda rig: rig.subscriptions.start(USER, GUILD, "sleep", None, 2, "utc"), "every"),
        (lambda rig: rig.subscriptions.start(USER, GUILD, "sleep", None, None, "mars"), "zone"),
        (lambda rig: rig.member_settings.set_timezone(USER, "atlantis"), "zone"),
        (lambda rig: rig.member_settings.set_schedule(USER, "soon", "23:00"), "wake"),
        (lambda rig: rig.member_settings.set_schedule(USER, "7:00", "later"), "bed"),
        (lambda rig: rig.member_settings.set_schedule(USER, "7:00", "7am"), "bed"),
        (lambda rig: rig.member_settings.pause(USER, 99), "days"),
        (lambda rig: rig.member_settings.set_delivery(USER, "pigeon", GUILD), "where"),
        (
            lambda rig: rig.guild_config.set_daily_tip(GUILD, ChannelAccess(5), "noon-ish", "UTC"),
            "time",
        ),
        (
            lambda rig: rig.guild_config.set_daily_tip(GUILD, ChannelAccess(5), "9:00", "mars"),
            "zone",
        ),
        (
            lambda rig: rig.guild_config.set_daily_tip(
                GUILD, ChannelAccess(5, exists=False, postable=False), "9:00", "UTC"
            ),
            "channel",
        ),
    ],
)
async def test_a_refused_value_names_its_field_and_changes_nothing(rig, call, field):
    before = await snapshot(rig.db)
    with pytest.raises(FieldError) as refused:
        await call(rig)
    assert refused.value.field == field
    assert await snapshot(rig.db) == before
