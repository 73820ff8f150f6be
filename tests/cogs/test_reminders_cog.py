"""``/remind …`` and the Done / Snooze / Stop buttons, as a member sees them.

A member types ``/remind start hydration 9pm zone:berlin`` and gets one private line:
"✅ **Hydration** reminders on at 21:00 (Europe/Berlin), by DM. Next one in 9 hours." A bad
time, an unknown zone or hostile text gets a short private refusal that says what works,
and nothing is stored. On a reminder, Done counts toward ``/remind stats``, Snooze 30 min
makes exactly one extra reminder however often it is pressed, Stop unsubscribes, and
anyone else pressing the buttons is told the reminder belongs to someone else.

Handlers are called directly with strict fakes for Discord; the service, its SQLite
database and the ledger are real, and the clock stands still at Monday 12:00 in Berlin.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import discord
import pytest
from discord import app_commands

from cogs.reminders import ReminderButton, Reminders
from cogs.tree import answer_error
from domain.errors import DatabaseUnavailable, UserFacingError
from services.engine.messages import reminder_buttons
from storage import guild_settings, ledger, reminders
from storage.ledger import NewDelivery
from tests.cogs.fakes import (
    GUILD,
    OTHER_USER,
    T0,
    USER,
    make_interaction,
    make_rig,
    open_db,
    sent,
    snapshot,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def rig(tmp_path):
    db = await open_db(tmp_path)
    yield make_rig(db)
    await db.close()


@pytest.fixture
def cog(rig) -> Reminders:
    return Reminders(rig.bot)


def ask(rig, *, user_id: int = USER, guild_id: int | None = GUILD, **kwargs):
    return make_interaction(client=rig.bot, user_id=user_id, guild_id=guild_id, **kwargs)


def ts(local: datetime) -> int:
    return int(local.timestamp())


async def start(rig, cog, kind: str = "hydration", **options) -> None:
    options.setdefault("time", None)
    options.setdefault("every", None)
    options.setdefault("zone", "berlin")
    await Reminders.start.callback(cog, ask(rig), kind=kind, **options)


async def sent_reminder(rig, kind: str = "hydration", user_id: int = USER) -> int:
    """A scheduled reminder that reached the member: a real ``sent`` ledger row."""
    sub = next(s for s in await reminders.for_member(rig.db, user_id) if s.kind == kind)
    now = ts(rig.clock())
    delivery = await ledger.claim_new(
        rig.db,
        NewDelivery(
            nonce=ledger.nonce_for_schedule(sub.id, now),
            source="schedule",
            subscription_id=sub.id,
            scheduled_at=now,
            kind=kind,
            user_id=user_id,
            guild_id=GUILD,
        ),
        now,
        rig.subscriptions.claimant,
    )
    assert delivery is not None
    await ledger.mark_sent(rig.db, delivery.id, 55_000, 66_000 + delivery.id, "dm", now)
    return delivery.id


async def press(rig, action: str, delivery_id: int, user_id: int = USER) -> str:
    button = ReminderButton(action, delivery_id)
    interaction = ask(rig, user_id=user_id, custom_id=button.custom_id)
    await button.callback(interaction)
    text, _ = sent(interaction)
    return text


# --- /remind timezone ----------------------------------------------------------------------


async def test_timezone_finds_a_city_and_says_which_zone(rig, cog) -> None:
    interaction = ask(rig)
    await Reminders.timezone.callback(cog, interaction, zone="berlin")
    text, _ = sent(interaction)
    assert text.startswith("🌍 Your time zone is now **Europe/Berlin**.")
    assert (await rig.member_settings.settings(USER)).timezone == "Europe/Berlin"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "@everyone", "<@&123>", "x" * 500, ""])
async def test_unknown_zone_is_refused_and_stores_nothing(rig, cog, zone: str) -> None:
    interaction = ask(rig)
    before = await snapshot(rig.db)
    with pytest.raises(UserFacingError, match="I don't know that time zone") as refused:
        await Reminders.timezone.callback(cog, interaction, zone=zone)
    assert "Europe/Berlin" in str(refused.value)  # says what works
    assert "@everyone" not in str(refused.value) and "<@&" not in str(refused.value)
    interaction.response.send_message.assert_not_awaited()
    assert await snapshot(rig.db) == before


# --- /remind start -------------------------------------------------------------------------


async def test_start_with_time_and_zone_answers_with_the_local_time(rig, cog) -> None:
    interaction = ask(rig)
    await Reminders.start.callback(
        cog, interaction, kind="hydration", time="9pm", every=None, zone="berlin"
    )
    text, _ = sent(interaction)
    tonight = datetime(2024, 6, 3, 21, 0, tzinfo=BERLIN)
    assert text == (
        f"✅ **Hydration** reminders on at 21:00 (Europe/Berlin), by DM. "
        f"Next one <t:{ts(tonight)}:R>."
    )
    [view] = await rig.subscriptions.list_subscriptions(USER)
    assert (view.kind, view.zone, view.next_fire) == ("hydration", "Europe/Berlin", tonight)
    settings = await rig.member_settings.settings(USER)
    assert (settings.timezone, settings.home_guild_id) == ("Europe/Berlin", GUILD)
    assert rig.changes, "the dispatcher must be told to re-plan"


async def test_start_derives_the_default_times_from_the_schedule(rig, cog) -> None:
    await start(rig, cog, "hydration", every=3)
    await start(rig, cog, "sleep")
    views = {v.kind: v for v in await rig.subscriptions.list_subscriptions(USER)}
    assert [t.strftime("%H:%M") for t in views["hydration"].times] == [
        "08:00",
        "11:00",
        "14:00",
        "17:00",
        "20:00",
    ]
    assert [t.strftime("%H:%M") for t in views["sleep"].times] == ["22:30"]


async def test_start_again_replaces_the_time_rather_than_adding_a_second(rig, cog) -> None:
    await start(rig, cog, "caffeine", time="14:00")
    await start(rig, cog, "caffeine", time="13:30")
    [view] = await rig.subscriptions.list_subscriptions(USER)
    assert [t.strftime("%H:%M") for t in view.times] == ["13:30"]


async def test_start_in_dms_works_without_a_server(rig, cog) -> None:
    interaction = ask(rig, guild_id=None)
    await Reminders.start.callback(
        cog, interaction, kind="stretching", time=None, every=None, zone="Europe/Berlin"
    )
    text, _ = sent(interaction)
    assert text.startswith("✅ **Stretching** reminders on at 22:00 (Europe/Berlin), by DM.")
    assert (await rig.member_settings.settings(USER)).home_guild_id is None


async def test_first_start_without_a_zone_asks_for_one(rig, cog) -> None:
    interaction = ask(rig)
    with pytest.raises(UserFacingError, match="Set your time zone first: `/remind timezone`"):
        await Reminders.start.callback(
            cog, interaction, kind="sleep", time=None, every=None, zone=None
        )
    interaction.response.send_message.assert_not_awaited()
    assert await rig.subscriptions.list_subscriptions(USER) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "hydration", "time": "25:99"}, "Accepted: 21:30, 9:30pm, 9pm"),
        ({"kind": "hydration", "time": "9"}, "Accepted: 21:30"),  # 9am or 9pm? it asks
        ({"kind": "hydration", "time": "<@&1> @everyone 9pm"}, "Accepted: 21:30"),
        ({"kind": "hydration", "time": "**9pm**"}, "Accepted: 21:30"),
        ({"kind": "hydration", "zone": "Mars/Olympus"}, "I don't know that time zone"),
        ({"kind": "hydration", "every": 0}, "from 1 to 6"),
        ({"kind": "hydration", "every": 7}, "from 1 to 6"),
        ({"kind": "sleep", "every": 2}, "only for hydration"),
        ({"kind": "coffee"}, "Kinds: hydration, stretching, sleep, caffeine"),
        ({"kind": "@everyone"}, "Kinds: hydration"),
    ],
)
async def test_bad_start_input_is_refused_and_changes_nothing(
    rig, cog, options: dict, message: str
) -> None:
    """Discord enforces ``every``'s 1–6 range and the kind choices in its client, but a
    crafted interaction can skip that: the service checks again."""
    await start(rig, cog, "hydration", time="9am")
    before = await snapshot(rig.db)
    interaction = ask(rig)
    options = {"time": None, "every": None, "zone": None, **options}
    with pytest.raises(UserFacingError, match=message) as refused:
        await Reminders.start.callback(cog, interaction, **options)
    assert "@everyone" not in str(refused.value) and "**9pm**" not in str(refused.value)
    interaction.response.send_message.assert_not_awaited()
    assert await snapshot(rig.db) == before


async def test_a_refusal_reaches_the_member_as_one_private_line(rig, cog) -> None:
    """What discord.py does with the error: the tree's handler answers it ephemerally."""
    interaction = ask(rig)
    with pytest.raises(UserFacingError) as refused:
        await Reminders.start.callback(
            cog, interaction, kind="hydration", time="25:99", every=None, zone="berlin"
        )
    wrapped = app_commands.CommandInvokeError(Reminders.start, refused.value)
    await answer_error(interaction, wrapped, "command /remind start")
    text, _ = sent(interaction)
    assert text == "That is not a time I understand. Accepted: 21:30, 9:30pm, 9pm, 21h30."


async def test_database_away_answers_try_again_in_a_moment(rig, cog, monkeypatch) -> None:
    """PostgreSQL restarting: the command that needs it says so in one private line."""

    async def unavailable(*_args, **_kwargs):
        raise DatabaseUnavailable("PostgreSQL unavailable: ConnectionRefusedError")

    monkeypatch.setattr(rig.db, "fetchall", unavailable)
    interaction = ask(rig)
    with pytest.raises(DatabaseUnavailable) as failed:
        await Reminders.list_.callback(cog, interaction)
    wrapped = app_commands.CommandInvokeError(Reminders.list_, failed.value)
    await answer_error(interaction, wrapped, "command /remind list")
    text, _ = sent(interaction)
    assert "try again in a moment" in text and "went wrong" not in text


# --- /remind stop, list, schedule ----------------------------------------------------------


async def test_stop_one_kind_then_all(rig, cog) -> None:
    for kind in ("hydration", "sleep", "caffeine"):
        await start(rig, cog, kind)
    interaction = ask(rig)
    await Reminders.stop.callback(cog, interaction, kind="sleep")
    assert sent(interaction)[0] == "🛑 Stopped: Sleep wind-down."
    interaction = ask(rig)
    await Reminders.stop.callback(cog, interaction, kind="all")
    assert sent(interaction)[0] == "🛑 Stopped: Caffeine cut-off, Hydration."
    assert await rig.subscriptions.list_subscriptions(USER) == []


async def test_stop_without_that_reminder_says_nothing_changed(rig, cog) -> None:
    """Named as members read it ("Caffeine cut-off"), and nothing stored changes."""
    await start(rig, cog, "hydration")
    before = await snapshot(rig.db)
    interaction = ask(rig)
    await Reminders.stop.callback(cog, interaction, kind="caffeine")
    assert (
        sent(interaction)[0] == "You had no Caffeine cut-off reminder to stop, so nothing changed."
    )
    assert await snapshot(rig.db) == before


async def test_stop_all_without_reminders_says_nothing_changed(rig, cog) -> None:
    interaction = ask(rig)
    await Reminders.stop.callback(cog, interaction, kind="all")
    assert sent(interaction)[0] == "You had no reminders to stop, so nothing changed."


async def test_list_when_empty_says_how_to_start(rig, cog) -> None:
    interaction = ask(rig)
    await Reminders.list_.callback(cog, interaction)
    embed = sent(interaction)[1]["embed"]
    assert embed.description == "You have no reminders yet. Start one with `/remind start`."
    assert "Time zone: **not set**" in embed.fields[-1].value


async def test_list_shows_the_kinds_in_the_order_of_the_choices_and_stats(rig, cog) -> None:
    for kind in ("caffeine", "sleep", "hydration", "stretching"):
        await start(rig, cog, kind)
    interaction = ask(rig)
    await Reminders.list_.callback(cog, interaction)
    names = [f.name for f in sent(interaction)[1]["embed"].fields]
    assert names == ["Hydration", "Stretching", "Sleep wind-down", "Caffeine cut-off", "Settings"]


async def test_list_shows_each_reminder_with_its_next_local_time(rig, cog) -> None:
    await start(rig, cog, "sleep")
    await start(rig, cog, "caffeine")
    interaction = ask(rig)
    await Reminders.list_.callback(cog, interaction)
    embed = sent(interaction)[1]["embed"]
    fields = {f.name: f.value for f in embed.fields}
    sleep_at = datetime(2024, 6, 3, 22, 30, tzinfo=BERLIN)
    assert fields["Sleep wind-down"] == (
        f"22:30 (Europe/Berlin) — next: Mon 03 Jun 22:30 (<t:{ts(sleep_at)}:R>)"
    )
    # 15:00 cut-off is still ahead today (it is 12:00 in Berlin).
    assert fields["Caffeine cut-off"].startswith("15:00 (Europe/Berlin) — next: Mon 03 Jun 15:00")
    assert "Time zone: **Europe/Berlin**" in fields["Settings"]
    assert "Delivery: **DM**" in fields["Settings"]


async def test_schedule_moves_derived_times_but_not_custom_ones(rig, cog) -> None:
    await start(rig, cog, "stretching")
    await start(rig, cog, "caffeine", time="14:00")
    interaction = ask(rig)
    await Reminders.schedule.callback(cog, interaction, wake="6:30am", bed="22:00")
    text, kwargs = sent(interaction)
    assert text == "⏰ Wake-up **06:30**, bedtime **22:00**."
    assert kwargs["embed"].title == "Your reminders"
    views = {v.kind: v for v in await rig.subscriptions.list_subscriptions(USER)}
    assert views["stretching"].times[0].strftime("%H:%M") == "21:00"
    assert views["caffeine"].times[0].strftime("%H:%M") == "14:00"


@pytest.mark.parametrize(
    ("wake", "bed", "message"),
    [
        ("25:99", "22:00", "^Your wake-up time: that is not a time I understand. Accepted"),
        ("7:00", "half ten", "^Your bedtime: that is not a time"),
        ("7:00", "7am", "must be different"),
        ("7", "23", "Accepted"),
    ],
)
async def test_bad_schedule_changes_nothing(rig, cog, wake: str, bed: str, message: str) -> None:
    await start(rig, cog, "stretching")
    before = await snapshot(rig.db)
    with pytest.raises(UserFacingError, match=message):
        await Reminders.schedule.callback(cog, ask(rig), wake=wake, bed=bed)
    assert await snapshot(rig.db) == before


# --- /remind pause, resume, delivery -------------------------------------------------------


async def test_start_while_paused_says_why_the_next_one_is_days_away(rig, cog) -> None:
    await start(rig, cog, "sleep")
    await Reminders.pause.callback(cog, ask(rig), days=3)
    interaction = ask(rig)
    await Reminders.start.callback(
        cog, interaction, kind="caffeine", time=None, every=None, zone=None
    )
    until = datetime(2024, 6, 6, 12, 0, tzinfo=BERLIN)
    assert sent(interaction)[0].endswith(
        f"(Your reminders are paused until <t:{ts(until)}:R>; `/remind resume` restarts them "
        "sooner.)"
    )


async def test_pause_then_resume(rig, cog) -> None:
    await start(rig, cog, "sleep")
    interaction = ask(rig)
    await Reminders.pause.callback(cog, interaction, days=3)
    until = datetime(2024, 6, 6, 12, 0, tzinfo=BERLIN)
    assert sent(interaction)[0].startswith(
        f"⏸️ Paused until Thu 06 Jun 12:00 (<t:{ts(until)}:R>); they resume by themselves."
    )
    [view] = await rig.subscriptions.list_subscriptions(USER)
    assert view.next_fire == datetime(2024, 6, 6, 22, 30, tzinfo=BERLIN)

    interaction = ask(rig)
    await Reminders.resume.callback(cog, interaction)
    text, kwargs = sent(interaction)
    assert text == "▶️ Your reminders are back on."
    assert kwargs["embed"].fields[0].value.startswith("22:30 (Europe/Berlin) — next: Mon 03 Jun")
    assert (await rig.member_settings.settings(USER)).paused_until is None


async def test_resume_when_not_paused_says_so_and_changes_nothing(rig, cog) -> None:
    await start(rig, cog, "sleep")
    await Reminders.pause.callback(cog, ask(rig), days=1)
    rig.clock.advance(days=2)  # the pause has ended by itself
    before = await snapshot(rig.db)
    interaction = ask(rig)
    await Reminders.resume.callback(cog, interaction)
    assert sent(interaction) == (
        "Your reminders were not paused, so nothing changed.",
        {"ephemeral": True},
    )
    assert await snapshot(rig.db) == before


@pytest.mark.parametrize("days", [0, 31, -1])
async def test_pause_out_of_range_changes_nothing(rig, cog, days: int) -> None:
    await start(rig, cog, "sleep")
    before = await snapshot(rig.db)
    with pytest.raises(UserFacingError, match="from 1 to 30"):
        await Reminders.pause.callback(cog, ask(rig), days=days)
    assert await snapshot(rig.db) == before


async def test_delivery_server_needs_a_reminder_channel(rig, cog) -> None:
    await start(rig, cog, "sleep")
    before = await snapshot(rig.db)
    with pytest.raises(UserFacingError, match="an admin can set one with `/config"):
        await Reminders.delivery.callback(cog, ask(rig), where="server")
    assert await snapshot(rig.db) == before

    await guild_settings.set_reminder_channel(rig.db, GUILD, 600)
    interaction = ask(rig)
    await Reminders.delivery.callback(cog, interaction, where="server")
    assert sent(interaction)[0] == (
        "📬 Your reminders go to this server's reminder channel, with a mention."
    )
    assert (await rig.member_settings.settings(USER)).delivery == "server"

    interaction = ask(rig, guild_id=None)
    await Reminders.delivery.callback(cog, interaction, where="dm")
    assert sent(interaction)[0] == "📬 Your reminders come by DM."
    assert (await rig.member_settings.settings(USER)).delivery == "dm"


async def test_delivery_server_from_dms_without_a_server_is_refused(rig, cog) -> None:
    with pytest.raises(UserFacingError, match="inside the server"):
        await Reminders.delivery.callback(cog, ask(rig, guild_id=None), where="server")
    assert (await rig.member_settings.settings(USER)).delivery == "dm"


# --- /remind test --------------------------------------------------------------------------


async def test_test_defers_then_says_where_it_went(rig, cog) -> None:
    await start(rig, cog, "sleep")
    interaction = ask(rig)
    await Reminders.test.callback(cog, interaction, kind="sleep")
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    interaction.followup.send.assert_awaited_once_with(
        "📨 Sent a test reminder by DM.", ephemeral=True
    )
    [delivery] = rig.sender.deliveries
    assert (delivery.source, delivery.kind, delivery.user_id) == ("test", "sleep", USER)
    assert (await ledger.get(rig.db, delivery.id)).state == "sent"


@pytest.mark.parametrize(
    ("state", "via", "error", "expected"),
    [
        ("sent", "fallback", None, "📨 Sent a test reminder in <#600> (your DMs are closed)."),
        ("sent", "server", None, "📨 Sent a test reminder in <#600>."),
        (
            "failed",
            None,
            "dms_closed",
            "⚠️ I couldn't deliver the test reminder: your DMs are closed to me and there is no "
            "server reminder channel I can post in. Allow direct messages from server members "
            "in your privacy settings, or ask an admin to set `/config reminder-channel`.",
        ),
        (
            "failed",
            None,
            "rejected: 400 Bad Request (error code: 50035)",
            "⚠️ I couldn't deliver the test reminder: Discord refused it. Please try again later.",
        ),
    ],
)
async def test_test_reports_fallbacks_and_failures(
    rig, cog, state: str, via: str | None, error: str | None, expected: str
) -> None:
    await start(rig, cog, "sleep")
    rig.sender.result_state, rig.sender.error = state, error
    rig.sender.via, rig.sender.channel_id = via or "dm", 600
    interaction = ask(rig)
    await Reminders.test.callback(cog, interaction, kind="sleep")
    interaction.followup.send.assert_awaited_once_with(expected, ephemeral=True)


async def test_test_that_fell_back_to_dm_says_the_server_channel_did_not_take_it(rig, cog) -> None:
    """The member asked for server delivery, but the test came by DM: they are told why."""
    await start(rig, cog, "sleep")
    await guild_settings.set_reminder_channel(rig.db, GUILD, 600)
    await Reminders.delivery.callback(cog, ask(rig), where="server")
    interaction = ask(rig)
    await Reminders.test.callback(cog, interaction, kind="sleep")
    interaction.followup.send.assert_awaited_once_with(
        "📨 Sent a test reminder by DM: your server has no reminder channel I can post in "
        "right now, so your reminders come by DM until it has.",
        ephemeral=True,
    )


async def test_test_that_waits_its_turn_says_it_is_queued(rig, cog) -> None:
    pending: asyncio.Future = asyncio.get_running_loop().create_future()
    rig = make_rig(rig.db, rig.clock, test_timeout=0.0)
    cog = Reminders(rig.bot)
    rig.sender.hold = pending
    await start(rig, cog, "sleep")
    interaction = ask(rig)
    await Reminders.test.callback(cog, interaction, kind="sleep")
    interaction.followup.send.assert_awaited_once_with(
        "📨 Your test reminder is queued and will arrive shortly.", ephemeral=True
    )
    pending.cancel()


async def test_a_second_test_in_the_same_second_is_refused_after_the_defer(rig, cog) -> None:
    await Reminders.test.callback(cog, ask(rig), kind="sleep")
    interaction = ask(rig)
    with pytest.raises(UserFacingError, match="already on its way") as refused:
        await Reminders.test.callback(cog, interaction, kind="sleep")
    await answer_error(
        interaction, app_commands.CommandInvokeError(Reminders.test, refused.value), "test"
    )
    # Already deferred, so the refusal arrives as the follow-up.
    interaction.followup.send.assert_awaited_once_with(
        "A test reminder is already on its way.", ephemeral=True
    )
    assert len(rig.sender.deliveries) == 1


async def test_tests_of_two_kinds_in_the_same_second_both_go_out(rig, cog) -> None:
    """Only a double-tap of the same kind is one message; a member (or a quick script)
    checking two kinds one after the other gets both."""
    await Reminders.test.callback(cog, ask(rig), kind="sleep")
    await Reminders.test.callback(cog, ask(rig), kind="hydration")
    assert [d.kind for d in rig.sender.deliveries] == ["sleep", "hydration"]


# --- /remind stats -------------------------------------------------------------------------


async def test_stats_count_done_and_streak_but_not_tests(rig, cog) -> None:
    await start(rig, cog, "hydration")
    await start(rig, cog, "sleep")
    await Reminders.test.callback(cog, ask(rig), kind="hydration")  # not counted
    rig.clock.advance(days=-1)
    yesterday = await sent_reminder(rig)
    assert (await press(rig, "done", yesterday)).startswith("Marked as done ✅")
    rig.clock.advance(days=1)
    today = await sent_reminder(rig)
    assert (await press(rig, "done", today)).startswith("Marked as done ✅")
    await sent_reminder(rig, "sleep")  # sent, never pressed

    interaction = ask(rig)
    await Reminders.stats.callback(cog, interaction)
    embed = sent(interaction)[1]["embed"]
    assert embed.title == "Your last 30 days"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Hydration"] == "Sent 2 · Done 2 · Snoozed 0\nStreak: 2 days"
    assert fields["Sleep wind-down"] == "Sent 1 · Done 0 · Snoozed 0\nStreak: 0 days"


# --- the buttons on a reminder -------------------------------------------------------------


async def test_done_counts_once(rig, cog) -> None:
    await start(rig, cog, "hydration")
    delivery_id = await sent_reminder(rig)
    assert await press(rig, "done", delivery_id) == (
        "Marked as done ✅ Nice work — it counts toward your `/remind stats`."
    )
    assert await press(rig, "done", delivery_id) == "This reminder is already marked as done ✅"
    row = await ledger.get(rig.db, delivery_id)
    assert (row.outcome, row.outcome_at) == ("done", ts(T0))


async def test_snooze_twice_makes_one_snooze(rig, cog) -> None:
    await start(rig, cog, "hydration")
    delivery_id = await sent_reminder(rig)
    at = datetime(2024, 6, 3, 12, 30, tzinfo=BERLIN)
    expected = f"Snoozed ⏰ I'll remind you once more at 12:30 (<t:{ts(at)}:R>)."
    assert await press(rig, "snooze", delivery_id) == expected
    rig.clock.advance(minutes=5)
    assert await press(rig, "snooze", delivery_id) == expected  # the first snooze's time
    [snooze] = await reminders.snoozes_for_member(rig.db, USER)
    assert (snooze.fire_at, snooze.from_delivery_id) == (ts(at), delivery_id)
    assert (await ledger.get(rig.db, delivery_id)).outcome == "snoozed"


async def test_done_after_snooze_wins(rig, cog) -> None:
    await start(rig, cog, "hydration")
    delivery_id = await sent_reminder(rig)
    await press(rig, "snooze", delivery_id)
    await press(rig, "done", delivery_id)
    assert (await ledger.get(rig.db, delivery_id)).outcome == "done"


async def test_stop_button_unsubscribes_that_kind_only(rig, cog) -> None:
    await start(rig, cog, "hydration")
    await start(rig, cog, "sleep")
    delivery_id = await sent_reminder(rig, "hydration")
    assert await press(rig, "stop", delivery_id) == (
        "Stopped: Hydration. Start them again any time with `/remind start`."
    )
    assert [v.kind for v in await rig.subscriptions.list_subscriptions(USER)] == ["sleep"]


@pytest.mark.parametrize(
    ("again", "answer"),
    [
        ("stop", "You had no Hydration reminder to stop, so nothing changed."),
        (
            "snooze",
            "You stopped these reminders, so there is nothing to snooze. "
            "Start them again with `/remind start`.",
        ),
    ],
)
async def test_a_button_pressed_after_stop_changes_nothing(rig, cog, again, answer) -> None:
    """Stop, then Stop again or Snooze on the same reminder: nothing to stop, and no extra
    reminder is stored by a snooze."""
    await start(rig, cog, "hydration")
    delivery_id = await sent_reminder(rig, "hydration")
    await press(rig, "stop", delivery_id)
    before = await snapshot(rig.db)
    assert await press(rig, again, delivery_id) == answer
    assert await snapshot(rig.db) == before


@pytest.mark.parametrize("action", ["done", "snooze", "stop"])
async def test_someone_else_pressing_changes_nothing(rig, cog, action: str) -> None:
    """A reminder in a server channel is visible to everyone there."""
    await start(rig, cog, "hydration")
    delivery_id = await sent_reminder(rig)
    before = await snapshot(rig.db)
    assert await press(rig, action, delivery_id, user_id=OTHER_USER) == (
        "This reminder belongs to someone else."
    )
    assert await snapshot(rig.db) == before


async def test_a_button_of_a_deleted_reminder_says_so(rig) -> None:
    assert await press(rig, "done", 123_456) == "This reminder is no longer on record."


async def test_a_button_on_a_test_reminder_works(rig, cog) -> None:
    await Reminders.test.callback(cog, ask(rig), kind="caffeine")
    [delivery] = rig.sender.deliveries
    assert (await press(rig, "snooze", delivery.id)).startswith("Snoozed ⏰")
    assert (await press(rig, "done", delivery.id)).startswith("Marked as done")


async def test_done_on_a_test_reminder_does_not_promise_stats_it_leaves_out(rig, cog) -> None:
    """Stats leave test reminders out, so Done on one must not say it counts."""
    await Reminders.test.callback(cog, ask(rig), kind="sleep")
    [delivery] = rig.sender.deliveries
    assert await press(rig, "done", delivery.id) == (
        "Marked as done ✅ This was a test, so it doesn't count toward your `/remind stats`."
    )


async def test_an_unexpected_button_error_gets_an_apology_not_a_trace(rig, caplog) -> None:
    await rig.db.close()  # the database is gone: a bug, not the member's fault
    text = await press(rig, "done", 1)
    assert text.startswith("Sorry, something went wrong on our side")
    assert "reminder button done failed" in caplog.text


# --- custom ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("delivery_id", [1, 987_654, 2**63 - 1])
@pytest.mark.parametrize("action", ["done", "snooze", "stop"])
async def test_custom_id_round_trips_and_fits(action: str, delivery_id: int) -> None:
    button = ReminderButton(action, delivery_id)
    custom_id = button.custom_id
    assert custom_id == f"steady:r:{action}:{delivery_id}"
    assert len(custom_id) <= 100
    match = ReminderButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    restored = await ReminderButton.from_custom_id(
        make_interaction(custom_id=custom_id), button.item, match
    )
    assert (restored.action, restored.delivery_id, restored.custom_id) == (
        action,
        delivery_id,
        custom_id,
    )


@pytest.mark.parametrize(
    "custom_id", ["steady:r:explode:1", "steady:r:done:", "steady:r:done:-1", "steady:r:done:1x"]
)
def test_foreign_custom_ids_are_not_claimed(custom_id: str) -> None:
    assert ReminderButton.__discord_ui_compiled_template__.fullmatch(custom_id) is None


def test_reminder_buttons_are_done_snooze_stop() -> None:
    buttons = reminder_buttons(42)
    assert [b["label"] for b in buttons] == ["Done", "Snooze 30 min", "Stop"]
    assert [b["custom_id"] for b in buttons] == [
        "steady:r:done:42",
        "steady:r:snooze:42",
        "steady:r:stop:42",
    ]
    assert [b["style"] for b in buttons] == [
        discord.ButtonStyle.success.value,
        discord.ButtonStyle.secondary.value,
        discord.ButtonStyle.danger.value,
    ]


async def test_a_reminder_skipped_for_capacity_is_shown_in_stats_not_as_a_miss(rig, cog) -> None:
    """The real engine, too busy: a sleep wind-down past its late tolerance (10 min) is not
    sent; /remind stats says so — apart from Sent, and with why."""
    from bot.compose import build_core
    from tests.cogs.fakes import CONTENT
    from tests.reminder_rig import FakeDiscord, RecordingWaker

    await start(rig, cog, "sleep")
    [sub] = await reminders.for_member(rig.db, USER)
    engine = build_core(
        rig.db, CONTENT, FakeDiscord(), clock=rig.clock, waker=RecordingWaker(),
        clock_jump=timedelta(days=1),  # the test jumps the clock; the bot was up and busy
    )  # fmt: skip
    await engine.engine.dispatcher.start()  # up from before it was due
    assert sub.next_fire_at is not None
    rig.clock.now = datetime.fromtimestamp(sub.next_fire_at + 11 * 60, ZoneInfo("UTC"))
    await engine.engine.dispatcher.tick()
    await engine.engine.sender.run_pending()
    await engine.engine.dispatcher.stop()

    interaction = ask(rig)
    await Reminders.stats.callback(cog, interaction)
    embed = sent(interaction)[1]["embed"]
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Sleep wind-down"] == (
        "Sent 0 · Done 0 · Snoozed 0\nStreak: 0 days\nSkipped: too busy: 1"
    )
    assert "too busy" in embed.footer.text and "don't count against you" in embed.footer.text
