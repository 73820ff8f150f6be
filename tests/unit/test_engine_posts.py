"""What the reminder engine posts, and what a broken server channel does to the settings.

What a server sees: one tip a day in its tip channel, a different one each day until every
tip was shown, and — if the bot crashed mid-post and sends the same occurrence again — the
same tip, not a second different one. What an admin sees when a channel breaks: a deleted
reminder channel is cleared (``/config show`` says "Not set"), a channel the bot lost
permissions in is kept and flagged with the reason until a post there works again, and a
tip channel that refuses posts pauses the tip with the reason.

The engine is the real :class:`ReminderEngine`, over a temporary SQLite database, with a
fake Discord transport that de-duplicates by nonce like Discord's ``enforce_nonce`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.compose import build_core
from services.engine.dispatcher import Dispatcher
from services.engine.messages import MessageRenderer
from services.engine.sender import Occurrence, Sender
from services.engine.transport import (
    ChannelBroken,
    MissingAccess,
    MissingPermissions,
    UnknownChannel,
)
from services.guild_config import ChannelAccess, GuildConfig
from storage import guild_settings, ledger, members, reminders
from storage.ledger import Claimant, Delivery, NewDelivery
from tests.cogs.fakes import CONTENT, FixedClock

BERLIN = ZoneInfo("Europe/Berlin")
GUILD = 9001
REMINDERS = 600
TIPS = 601
USER = 4242
TIP_COUNT = len(CONTENT.all_tips())
RETENTION = Dispatcher.RETENTION


class SimulatedCrash(BaseException):
    """kill -9 after Discord accepted the message, before the ledger recorded it."""


@dataclass
class FakeTransport:
    broken: dict[int, ChannelBroken] = field(default_factory=dict)
    crash_after_next_send: bool = False
    posts: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    _by_nonce: dict[str, int] = field(default_factory=dict)

    async def open_dm(self, user_id: int) -> int:
        return 900_000 + user_id

    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        if channel_id in self.broken:
            raise self.broken[channel_id]
        if nonce not in self._by_nonce:  # enforce_nonce: a resend returns the first message
            self._by_nonce[nonce] = 10_000 + len(self._by_nonce)
            self.posts.append((channel_id, payload, nonce))
        if self.crash_after_next_send:
            self.crash_after_next_send = False
            raise SimulatedCrash
        return self._by_nonce[nonce]

    def to(self, channel_id: int) -> list[dict[str, Any]]:
        return [payload for channel, payload, _ in self.posts if channel == channel_id]


class NoWaker:
    def wake_at(self, when: datetime, wake: object) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def database_url(tmp_path) -> str:
    """One backend is enough here: a SQLite file (``db`` in tests/conftest.py opens it)."""
    return f"sqlite:///{tmp_path}/t.sqlite3"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@dataclass(frozen=True)
class Engine:
    """What these tests use of the engine and services the bot builds."""

    sender: Sender
    guild_config: GuildConfig


def engine_for(db, clock, transport: FakeTransport) -> Engine:
    core = build_core(db, CONTENT, transport, clock=clock, waker=NoWaker())
    return Engine(core.engine.sender, core.services.guild_config)


async def set_tip(engine: Engine) -> None:
    await engine.guild_config.set_daily_tip(GUILD, ChannelAccess(TIPS), "9:00", "berlin")


def nine_am(day: int) -> datetime:
    """09:00 in Berlin, ``day`` days after Tuesday 4 June 2024."""
    return datetime(2024, 6, 4, 9, 0, tzinfo=BERLIN) + timedelta(days=day)


async def claim_tip(db, day: int, claimant: Claimant) -> Delivery:
    """The dispatcher's claim of one day's tip, as a ledger row."""
    sub = await reminders.for_guild(db, GUILD, "daily_tip")
    at = int(nine_am(day).timestamp())
    delivery = await ledger.claim_new(
        db,
        NewDelivery(
            nonce=ledger.nonce_for_schedule(sub.id, at),
            source="schedule",
            subscription_id=sub.id,
            scheduled_at=at,
            kind="daily_tip",
            user_id=None,
            guild_id=GUILD,
        ),
        at,
        claimant,
    )
    assert delivery is not None
    return delivery


def tip_text(payload: dict[str, Any]) -> str:
    return payload["embeds"][0]["description"]


async def post_tips(db, clock, engine: Engine, days: range) -> list[str]:
    shown = []
    transport: FakeTransport = engine.sender.transport
    for day in days:
        clock.now = nine_am(day).astimezone(UTC)
        result = await engine.sender.deliver(await claim_tip(db, day, engine.sender.claimant))
        assert result.state == "sent", result
        shown.append(tip_text(transport.to(TIPS)[-1]))
    return shown


# --- rendering a member's reminder ---------------------------------------------------------


async def test_a_reminder_is_rendered_with_buttons_for_its_own_ledger_row(db) -> None:
    render = MessageRenderer(db, CONTENT)
    occurrence = Occurrence(
        delivery_id=77,
        nonce="s1.abc",
        kind="sleep",
        source="schedule",
        user_id=USER,
        guild_id=GUILD,
        subscription_id=1,
        scheduled_at=datetime(2024, 6, 3, 20, 30, tzinfo=UTC),
        via="dm",
    )
    payload = await render(occurrence)
    [row] = payload["components"]
    assert [b["custom_id"] for b in row["components"]] == [
        "steady:r:done:77",
        "steady:r:snooze:77",
        "steady:r:stop:77",
    ]
    assert payload["embeds"][0]["title"] == "🌙 Time to wind down for sleep"


async def test_a_server_reminder_pings_only_its_member(db, clock) -> None:
    """The render adds no mention; the sender adds exactly the member's."""
    transport = FakeTransport()
    engine = engine_for(db, clock, transport)
    now = int(clock().timestamp())
    await members.update(db, USER, now, delivery="server", home_guild_id=GUILD)
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    delivery = await ledger.claim_new(
        db,
        NewDelivery(
            ledger.nonce_for_test_send(USER, now, "hydration"),
            "test",
            None,
            now,
            "hydration",
            USER,
            GUILD,
        ),
        now,
        engine.sender.claimant,
    )
    result = await engine.sender.deliver(delivery)
    assert (result.state, result.via, result.channel_id) == ("sent", "server", REMINDERS)
    [payload] = transport.to(REMINDERS)
    assert payload["content"] == f"<@{USER}>"
    assert payload["allowed_mentions"] == {"parse": [], "users": [str(USER)]}


# --- the daily tip rotation ----------------------------------------------------------------


async def test_daily_tips_do_not_repeat_until_all_were_shown(db, clock) -> None:
    engine = engine_for(db, clock, FakeTransport())
    await set_tip(engine)
    shown = await post_tips(db, clock, engine, range(TIP_COUNT + 1))
    assert sorted(shown[:TIP_COUNT]) == sorted(CONTENT.readable(t) for _id, t in CONTENT.all_tips())
    assert shown[TIP_COUNT] == shown[0]  # then the rotation starts over


async def test_a_resend_after_a_crash_posts_the_same_tip_once(db, clock) -> None:
    transport = FakeTransport()
    engine = engine_for(db, clock, transport)
    await set_tip(engine)
    await post_tips(db, clock, engine, range(3))

    clock.now = nine_am(3).astimezone(UTC)
    delivery = await claim_tip(db, 3, engine.sender.claimant)
    transport.crash_after_next_send = True
    with pytest.raises(SimulatedCrash):
        await engine.sender.deliver(delivery)
    assert (await ledger.get(db, delivery.id)).state == "sending"
    first_payload = transport.posts[-1][1]

    # The restarted process re-renders the same occurrence from the ledger and resends it.
    restarted = engine_for(db, clock, transport)
    [pending] = await ledger.take_over(
        db, restarted.sender.claimant, int(clock().timestamp()), 10, lapsed_only=False
    )
    assert pending.id == delivery.id
    assert (await restarted.sender.deliver(pending)).state == "sent"
    assert len(transport.to(TIPS)) == 4  # Discord de-duplicated the resend by its nonce
    rerendered = await MessageRenderer(db, CONTENT)(
        Occurrence(
            delivery.id,
            delivery.nonce,
            "daily_tip",
            "schedule",
            None,
            GUILD,
            delivery.subscription_id,
            nine_am(3).astimezone(UTC),
            "channel",
        )
    )
    assert tip_text(rerendered) == tip_text(first_payload)
    # The next day moves on to the next tip.
    [next_day] = await post_tips(db, clock, restarted, range(4, 5))
    assert next_day not in [tip_text(p) for p in transport.to(TIPS)[:-1]]


async def test_two_servers_start_at_different_tips(db, clock) -> None:
    render = MessageRenderer(db, CONTENT)

    def first_tip(guild_id: int) -> Occurrence:
        return Occurrence(1, "n", "daily_tip", "schedule", None, guild_id, 1, nine_am(0), "channel")

    assert tip_text(await render(first_tip(GUILD))) != tip_text(await render(first_tip(GUILD + 1)))


async def test_tips_keep_rotating_after_old_ledger_rows_are_pruned(db, clock) -> None:
    engine = engine_for(db, clock, FakeTransport())
    await set_tip(engine)
    shown: list[str] = []
    for day in range(60):
        shown += await post_tips(db, clock, engine, range(day, day + 1))
        # What the dispatcher's hourly housekeeping does.
        await ledger.prune(db, int((clock() - RETENTION).timestamp()))
    for start in range(len(shown) - TIP_COUNT + 1):
        window = shown[start : start + TIP_COUNT]
        assert len(set(window)) == TIP_COUNT, f"a tip repeated within days {start}..{start + 21}"


# --- when a channel breaks -----------------------------------------------------------------


async def settings_after(db, channel: int, error: ChannelBroken) -> guild_settings.GuildSettings:
    await GuildConfig(db).post_failed(GUILD, channel, error)
    return await guild_settings.get(db, GUILD)


async def test_a_deleted_reminder_channel_is_cleared(db) -> None:
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    settings = await settings_after(db, REMINDERS, UnknownChannel("Unknown Channel"))
    assert (settings.reminder_channel_id, settings.reminder_channel_problem) == (None, None)


@pytest.mark.parametrize("error", [MissingAccess(), MissingPermissions()])
async def test_a_reminder_channel_without_permission_is_kept_and_flagged(db, error) -> None:
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    settings = await settings_after(db, REMINDERS, error)
    assert (settings.reminder_channel_id, settings.reminder_channel_problem) == (
        REMINDERS,
        error.reason,
    )


async def test_a_deleted_tip_channel_turns_the_tip_off(db, clock) -> None:
    engine = engine_for(db, clock, FakeTransport())
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    await set_tip(engine)
    settings = await settings_after(db, TIPS, UnknownChannel())
    assert await reminders.for_guild(db, GUILD, "daily_tip") is None
    assert (settings.reminder_channel_id, settings.reminder_channel_problem) == (REMINDERS, None)
    assert settings.daily_tip_problem is None


async def test_an_unrelated_channel_changes_nothing(db, clock) -> None:
    engine = engine_for(db, clock, FakeTransport())
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    await set_tip(engine)

    async def state() -> tuple[object, object]:
        tip = await reminders.for_guild(db, GUILD, "daily_tip")
        return await guild_settings.get(db, GUILD), tip

    before = await state()
    for error in (UnknownChannel(), MissingAccess()):
        await settings_after(db, 12345, error)
    assert await state() == before


async def test_a_server_without_settings_stays_without(db) -> None:
    await GuildConfig(db).post_failed(GUILD, REMINDERS, MissingAccess())
    assert await guild_settings.get(db, GUILD) == guild_settings.GuildSettings(GUILD)


async def server_reminder(db, clock, engine: Engine):
    """``/remind test`` by a member whose reminders go to the server's reminder channel."""
    clock.advance(minutes=1)
    now = int(clock().timestamp())
    await members.update(db, USER, now, delivery="server", home_guild_id=GUILD)
    delivery = await ledger.claim_new(
        db,
        NewDelivery(
            ledger.nonce_for_test_send(USER, now, "sleep"), "test", None, now, "sleep", USER, GUILD
        ),
        now,
        engine.sender.claimant,
    )
    return await engine.sender.deliver(delivery)


async def test_the_sender_clears_a_deleted_reminder_channel_and_falls_back_to_dm(db, clock) -> None:
    """Through the engine: the sender reports to the server's settings."""
    transport = FakeTransport(broken={REMINDERS: UnknownChannel()})
    engine = engine_for(db, clock, transport)
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    result = await server_reminder(db, clock, engine)
    assert (result.state, result.via) == ("sent", "dm")
    assert await guild_settings.reminder_channel(db, GUILD) is None


async def test_a_failed_post_is_flagged_until_a_later_post_works(db, clock) -> None:
    """What ``/config show`` reads: the flag goes once the channel works again."""
    transport = FakeTransport(broken={REMINDERS: MissingAccess()})
    engine = engine_for(db, clock, transport)
    await guild_settings.set_reminder_channel(db, GUILD, REMINDERS)
    assert (await server_reminder(db, clock, engine)).via == "dm"
    flagged = await guild_settings.get(db, GUILD)
    assert (flagged.reminder_channel_id, flagged.reminder_channel_problem) == (
        REMINDERS,
        MissingAccess.reason,
    )

    del transport.broken[REMINDERS]  # an admin gave the bot its access back
    assert (await server_reminder(db, clock, engine)).via == "server"
    cleared = await guild_settings.get(db, GUILD)
    assert (cleared.reminder_channel_id, cleared.reminder_channel_problem) == (REMINDERS, None)


async def test_the_sender_pauses_a_tip_whose_channel_lost_permissions(db, clock) -> None:
    transport = FakeTransport(broken={TIPS: MissingPermissions()})
    engine = engine_for(db, clock, transport)
    await set_tip(engine)
    clock.now = nine_am(0).astimezone(UTC)
    result = await engine.sender.deliver(await claim_tip(db, 0, engine.sender.claimant))
    assert result.state == "failed"
    assert (await guild_settings.get(db, GUILD)).daily_tip_problem == MissingPermissions.reason
    tip = await reminders.for_guild(db, GUILD, "daily_tip")
    assert (tip.active, tip.next_fire_at) == (False, None)
