"""What a reminder and the daily tip look like, and the embeds of ``/remind list`` / ``stats``.

A member's reminder is one embed — a title such as "💧 Time for a glass of water", a
rotating message, one practical tip and the disclaimer — with Done / Snooze 30 min / Stop
buttons in one row. The body never pings anyone by itself (the sender adds the member's
mention in a server channel). Every kind, every rotation and every source (scheduled,
snoozed, test) stays within Discord's embed limits.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import discord
import pytest

from cogs.reminders import ReminderButton
from cogs.reminders._render import list_embed, stats_embed
from content import load_content
from domain.kinds import label_of, spec_of
from services.embeds import check_embed_limits
from services.engine.messages import (
    daily_tip_payload,
    reminder_embed,
    reminder_payload,
)
from services.engine.sender import Occurrence
from services.reminders import MemberView, SubscriptionView
from services.stats import KindStats

CONTENT = load_content()
KINDS = ("hydration", "stretching", "sleep", "caffeine")
BERLIN = ZoneInfo("Europe/Berlin")


def occurrence(kind: str, delivery_id: int, source: str = "schedule") -> Occurrence:
    return Occurrence(
        delivery_id=delivery_id,
        nonce=f"s1.{delivery_id}",
        kind=kind,
        source=source,
        user_id=42,
        guild_id=7,
        subscription_id=1,
        scheduled_at=datetime(2024, 6, 3, 10, 0, tzinfo=UTC),
        via="dm",
    )


def payload_for(kind: str, delivery_id: int, source: str = "schedule") -> dict:
    return reminder_payload(CONTENT, occurrence(kind, delivery_id, source))


def rotation_ids(kind: str) -> range:
    """Enough delivery ids to see every message with every tip."""
    return range(1, 2 * len(CONTENT.reminder_messages(kind)) * len(CONTENT.tips_for_kind(kind)))


@pytest.mark.parametrize("source", ["schedule", "snooze", "test"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_reminder_fits_discords_limits(kind: str, source: str) -> None:
    for delivery_id in rotation_ids(kind):
        payload = payload_for(kind, delivery_id, source)
        [embed_dict] = payload["embeds"]
        embed = discord.Embed.from_dict(embed_dict)
        check_embed_limits(embed)
        assert embed.title.startswith(spec_of(kind).title)
        assert embed.description in CONTENT.reminder_messages(kind)
        [tip] = embed.fields
        assert tip.name == "Tip"
        assert tip.value in [CONTENT.readable(t.text) for t in CONTENT.tips_for_kind(kind)]
        assert_health_footer_and_readable_sources(embed, tip.value)
        json.dumps(payload)  # what the sender posts must be plain JSON


@pytest.mark.parametrize(
    ("source", "suffix"), [("schedule", ""), ("snooze", " (snoozed)"), ("test", " (test)")]
)
def test_the_title_says_snoozed_or_test(source: str, suffix: str) -> None:
    embed = reminder_embed(CONTENT, occurrence("hydration", 5, source))
    assert embed.title == "💧 Time for a glass of water" + suffix


@pytest.mark.parametrize("kind", KINDS)
def test_three_buttons_in_one_row_and_no_pings(kind: str) -> None:
    payload = payload_for(kind, 314)
    assert "content" not in payload  # the sender adds the mention where one is needed
    assert payload["allowed_mentions"] == {"parse": []}
    [row] = payload["components"]
    assert row["type"] == 1
    buttons = row["components"]
    assert len(buttons) == 3
    assert [b["type"] for b in buttons] == [2, 2, 2]
    assert [b["custom_id"] for b in buttons] == [
        "steady:r:done:314",
        "steady:r:snooze:314",
        "steady:r:stop:314",
    ]
    for button in buttons:
        assert len(button["custom_id"]) <= 100
        assert len(button["label"]) <= 80
        assert ReminderButton.__discord_ui_compiled_template__.fullmatch(button["custom_id"])


@pytest.mark.parametrize("kind", KINDS)
def test_messages_rotate_through_all_of_them(kind: str) -> None:
    messages = CONTENT.reminder_messages(kind)
    shown = [
        reminder_embed(CONTENT, occurrence(kind, i)).description
        for i in range(10, 10 + len(messages))
    ]
    assert sorted(shown) == sorted(messages)


def test_daily_tip_payload_fits_and_never_pings() -> None:
    tips = CONTENT.all_tips()
    for position in range(len(tips)):
        payload = daily_tip_payload(CONTENT, position, guild_id=123)
        assert "content" not in payload
        assert payload["components"] == []
        assert payload["allowed_mentions"] == {"parse": []}
        embed = discord.Embed.from_dict(payload["embeds"][0])
        check_embed_limits(embed)
        assert_health_footer_and_readable_sources(embed, embed.description)
        json.dumps(payload)


@pytest.mark.parametrize("guild_id", [0, 7, 1_234_567_890_123_456_789])
def test_daily_tips_do_not_repeat_until_all_were_shown(guild_id: int) -> None:
    tips = CONTENT.all_tips()
    shown = [
        daily_tip_payload(CONTENT, p, guild_id)["embeds"][0]["description"]
        for p in range(len(tips))
    ]
    assert sorted(shown) == sorted(CONTENT.readable(text) for _id, text in tips)


def assert_health_footer_and_readable_sources(embed: discord.Embed, tip: str) -> None:
    """Issue #11: every reminder and daily tip carries the disclaimer and the "see a doctor
    if…" pointer, and names its tip's sources as links, never as raw ``[S17]`` tags."""
    assert embed.footer.text == CONTENT.health_footer
    assert CONTENT.disclaimer in embed.footer.text and "/see-a-doctor" in embed.footer.text
    assert "see a health professional" in embed.footer.text
    assert not re.search(r"\[(S\d+\w*|A1)(:[a-z-]+)?[,\]]", tip), tip
    assert "*(" in tip  # the sources, as names


def test_a_tip_links_the_page_that_backs_it() -> None:
    stretching = [t for t in CONTENT.tips_for_kind("stretching") if "before bed" in t.text][0]
    for delivery_id in range(40):
        embed = reminder_embed(CONTENT, occurrence("stretching", delivery_id))
        if embed.fields[0].value == CONTENT.readable(stretching.text):
            break
    assert "[Mayo Clinic](http://newsnetwork.mayoclinic.org/discussion/preventing-a-jolt" in (
        embed.fields[0].value
    )


def test_the_daily_tip_is_headed_by_its_topic_never_calmer_twitching() -> None:
    tips = CONTENT.daily_tip_rotation()
    titles = {
        tip_id: daily_tip_payload(CONTENT, position, guild_id=0)["embeds"][0]["title"]
        for position, (tip_id, _) in enumerate(tips)
    }
    assert titles["stretch-before-bed"] == "💡 Today's tip: Stretching for night cramps"
    assert titles["hydration-spread"] == "💡 Today's tip: Hydration"
    assert not any("calmer" in title or "twitch" in title.lower() for title in titles.values())


def test_the_daily_tip_changes_topic_every_day() -> None:
    """Five days of daily tips are five different topics, not the hydration tips in a row."""
    topics = [daily_tip_payload(CONTENT, day, guild_id=0)["embeds"][0]["title"] for day in range(5)]
    assert len(set(topics)) == 5, topics
    assert sorted(CONTENT.daily_tip_rotation()) == sorted(CONTENT.all_tips())


# --- /remind list and /remind stats -------------------------------------------------------


def member(**changes) -> MemberView:
    values = {
        "timezone": "Europe/Berlin",
        "wake": time(7),
        "bed": time(23),
        "delivery": "dm",
        "home_guild_id": None,
        "paused_until": None,
    }
    return MemberView(**{**values, **changes})


def view(kind: str, times: list[time], **changes) -> SubscriptionView:
    values = {
        "kind": kind,
        "times": times,
        "zone": "Europe/Berlin",
        "next_fire": datetime(2024, 6, 3, 14, 0, tzinfo=BERLIN),
        "custom_time": None,
        "every_hours": None,
        "active": True,
        "paused_reason": None,
    }
    return SubscriptionView(**{**values, **changes})


def test_the_fullest_list_fits() -> None:
    """Hourly hydration over a long day, every kind, a pause: still within the limits."""
    views = [
        view("caffeine", [time(15)]),
        view("hydration", [time(h) for h in range(24)], every_hours=1),
        view("sleep", [time(22, 30)], active=False, paused_reason="dms_closed", next_fire=None),
        view("stretching", [time(22)], active=False, paused_reason="channel_broken"),
    ]
    paused = datetime(2024, 6, 6, 12, tzinfo=BERLIN)
    embed = list_embed(member(delivery="server", paused_until=paused, guild_channel_id=600), views)
    check_embed_limits(embed)
    fields = {f.name: f.value for f in embed.fields}
    assert "paused: your DMs were closed; `/remind resume` restarts it" in fields["Sleep wind-down"]
    assert fields["Stretching"].endswith("paused; `/remind resume` restarts it")
    assert "Delivery: **server reminder channel** (<#600>)" in fields["Settings"]
    assert "Paused until Thu 06 Jun 12:00" in fields["Settings"]


def test_server_delivery_without_a_channel_says_reminders_come_by_dm() -> None:
    embed = list_embed(member(delivery="server", guild_channel_id=None), [])
    settings = {f.name: f.value for f in embed.fields}["Settings"]
    assert "Delivery: **server reminder channel**, but your server has none now, so by DM" in (
        settings
    )


def test_stats_embed_fits_and_pluralises_the_streak() -> None:
    stats = [
        KindStats("hydration", sent=240, done=200, snoozed=30, streak=30),
        KindStats("stretching", 30, 1, 0, 1),
        KindStats("sleep", 0, 0, 0, 0),
        KindStats("caffeine", 30, 30, 0, 2),
    ]
    embed = stats_embed(stats, 30)
    check_embed_limits(embed)
    assert [f.name for f in embed.fields] == [label_of(k) for k in KINDS]
    assert [f.value.split("\n")[1] for f in embed.fields] == [
        "Streak: 30 days",
        "Streak: 1 day",
        "Streak: 0 days",
        "Streak: 2 days",
    ]


def test_stats_embed_shows_reminders_skipped_for_capacity_apart_and_why() -> None:
    stats = [
        KindStats("hydration", sent=20, done=10, snoozed=0, streak=3, skipped=2),
        KindStats("sleep", 5, 5, 0, 5),
    ]
    embed = stats_embed(stats, 30)
    check_embed_limits(embed)
    assert embed.fields[0].value.endswith("\nSkipped: too busy: 2")
    assert "Skipped" not in embed.fields[1].value
    assert embed.footer.text is not None and "too busy" in embed.footer.text
    quiet = stats_embed([KindStats("sleep", 5, 5, 0, 5)], 30)
    assert quiet.footer.text == "Done counts when you press Done on a reminder."
