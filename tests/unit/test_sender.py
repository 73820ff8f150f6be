"""The paced sender: targets, fallbacks, 429s, retries, ordering, shutdown."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.engine.transport import (
    DiscordUnavailable,
    MissingAccess,
    MissingPermissions,
    RateLimited,
    RequestRejected,
    UnknownChannel,
)
from services.guild_config import ChannelAccess
from storage import guild_settings, members
from testkit.fake_time import FakeClock
from tests.reminder_rig import (
    DUE,
    GUILD,
    REMINDER_CHANNEL,
    USER,
    FakeDiscord,
    due_rig,
    make_rig,
    rows,
)


async def test_dm_channel_is_cached_so_a_reminder_costs_one_request(db):
    rig = await due_rig(db)
    await rig.run()
    assert [r for r, _ in rig.discord.requests] == ["open_dm", "send"]
    assert (await members.get(db, USER)).dm_channel_id == FakeDiscord.dm_channel_of(USER)
    await rig.run_until(DUE + timedelta(days=1))
    assert [r for r, _ in rig.discord.requests] == ["open_dm", "send", "send"]


async def test_payload_carries_render_output_and_nonce(db):
    rig = await due_rig(db)
    await rig.run()
    (message,) = rig.discord.messages
    (delivery_id, nonce) = (await rows(db, "SELECT id, nonce FROM deliveries"))[0]
    assert message.nonce == nonce
    assert message.payload["components"][0]["components"][0]["custom_id"] == (
        f"steady:r:done:{delivery_id}"
    )
    assert message.payload["allowed_mentions"] == {"parse": []}
    assert "content" not in message.payload  # no mention in a DM


async def test_dms_closed_falls_back_to_the_servers_reminder_channel_with_a_mention(db):
    discord = FakeDiscord(closed_dms={USER})
    rig = await due_rig(db, discord)
    await rig.run()
    (message,) = discord.messages
    assert message.channel_id == REMINDER_CHANNEL
    assert message.payload["content"].startswith(f"<@{USER}>")
    assert message.payload["allowed_mentions"] == {"parse": [], "users": [str(USER)]}
    assert await rows(db, "SELECT state, via FROM deliveries") == [("sent", "fallback")]


async def test_dms_closed_without_a_channel_pauses_and_tells_the_member_once(db):
    discord = FakeDiscord(closed_dms={USER})
    rig = await due_rig(db, discord, channels={})
    await rig.subscriptions.start(USER, GUILD, "hydration")
    await rig.run()
    assert discord.messages == []
    assert await rows(db, "SELECT state, error FROM deliveries") == [("failed", "dms_closed")]
    subs = await rows(db, "SELECT active, next_fire_at, paused_reason FROM subscriptions")
    assert subs == [(0, None, "dms_closed"), (0, None, "dms_closed")]
    notice = await rig.member_settings.pop_notice(USER)
    assert notice and "DMs are closed" in notice
    assert await rig.member_settings.pop_notice(USER) is None
    # Nothing more is attempted while paused; /remind resume turns them back on.
    await rig.run_until(DUE + timedelta(days=1))
    assert len(discord.requests) == 2
    await rig.member_settings.resume(USER)
    assert [v.active for v in await rig.subscriptions.list_subscriptions(USER)] == [True, True]


async def test_server_delivery_goes_to_the_reminder_channel(db):
    rig = await due_rig(db)
    await rig.member_settings.set_delivery(USER, "server", GUILD)
    await rig.run()
    (message,) = rig.discord.messages
    assert message.channel_id == REMINDER_CHANNEL
    assert await rows(db, "SELECT via FROM deliveries") == [("server",)]


async def test_broken_server_channel_reports_and_falls_back_to_dm(db):
    discord = FakeDiscord(broken_channels={REMINDER_CHANNEL: MissingPermissions("no")})
    rig = await due_rig(db, discord)
    await rig.member_settings.set_delivery(USER, "server", GUILD)
    await rig.run()
    assert [m.channel_id for m in discord.messages] == [FakeDiscord.dm_channel_of(USER)]
    settings = await guild_settings.get(db, GUILD)
    assert (settings.reminder_channel_id, settings.reminder_channel_problem) == (
        REMINDER_CHANNEL,
        MissingPermissions.reason,
    )


async def test_a_daily_tip_channel_that_refuses_pauses_the_tip_and_is_recorded(db):
    discord = FakeDiscord(broken_channels={321: MissingAccess("no")})
    rig = await make_rig(db, FakeClock(DUE), discord)
    await rig.guild_config.set_daily_tip(GUILD, ChannelAccess(321), "9am", "UTC")
    await rig.run_until(DUE + timedelta(days=1))
    assert await rows(db, "SELECT state, error FROM deliveries") == [
        ("failed", f"channel_broken: {MissingAccess.reason}")
    ]
    assert await rows(db, "SELECT active, paused_reason FROM subscriptions") == [
        (0, "channel_broken")
    ]
    assert (await guild_settings.get(db, GUILD)).daily_tip_problem == MissingAccess.reason


async def test_a_deleted_daily_tip_channel_turns_the_tip_off(db):
    discord = FakeDiscord(broken_channels={321: UnknownChannel("gone")})
    rig = await make_rig(db, FakeClock(DUE), discord)
    await rig.guild_config.set_daily_tip(GUILD, ChannelAccess(321), "9am", "UTC")
    await rig.run_until(DUE + timedelta(days=2))
    assert await rows(db, "SELECT state, error FROM deliveries") == [
        ("failed", "channel_broken: channel deleted")
    ]
    assert await rows(db, "SELECT * FROM subscriptions") == []


async def test_stale_cached_dm_channel_is_reopened_once(db):
    discord = FakeDiscord()
    rig = await due_rig(db, discord)
    await members.set_dm_channel(db, USER, 123, 0)
    discord.broken_channels[123] = UnknownChannel("gone")
    await rig.run()
    assert [m.channel_id for m in discord.messages] == [FakeDiscord.dm_channel_of(USER)]
    assert (await members.get(db, USER)).dm_channel_id == FakeDiscord.dm_channel_of(USER)


async def test_429_is_waited_out_never_dropped(db):
    discord = FakeDiscord()
    rig = await due_rig(db, discord)
    await members.set_dm_channel(db, USER, FakeDiscord.dm_channel_of(USER), 0)
    discord.fail_next = [RateLimited(2.5), RateLimited(2.5), RateLimited(40.0, is_global=True)]
    await rig.run()
    assert len(discord.messages) == 1
    assert sum(s for s in rig.clock.slept if s >= 1) >= 45
    assert await rows(db, "SELECT state FROM deliveries") == [("sent",)]


async def test_global_429_pauses_every_send_then_resends_once(db):
    discord = FakeDiscord()
    users = range(10, 15)
    rig = await due_rig(db, discord, users=users)
    for user in users:
        await members.set_dm_channel(db, user, FakeDiscord.dm_channel_of(user), 0)
    await rig.run()  # the first occurrences; now the ones a day later, with a 429 first
    first = len(discord.requests)
    discord.fail_next = [RateLimited(0.75, is_global=True)]
    await rig.run_until(DUE + timedelta(days=1, seconds=1))
    sends = [t for what, t in discord.requests[first:] if what == "send"]
    assert len(sends) == 6  # five reminders, one of them refused once
    # Nothing goes out until Discord's window is over; then one slot after another.
    assert all(t - sends[0] >= 0.75 for t in sends[1:])
    gaps = [b - a for a, b in zip(sends[1:], sends[2:], strict=False)]
    assert all(gap == pytest.approx(1 / (45 * 0.998), abs=1e-5) for gap in gaps)
    assert len(discord.messages) == 10 and len({m.nonce for m in discord.messages}) == 10
    assert await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY state") == [("sent", 10)]


async def test_5xx_is_retried_with_backoff_then_recorded_failed(db):
    discord = FakeDiscord()
    rig = await due_rig(db, discord, retry_for=timedelta(minutes=2))
    await members.set_dm_channel(db, USER, FakeDiscord.dm_channel_of(USER), 0)
    discord.fail_next = [DiscordUnavailable("502"), DiscordUnavailable("503")]
    await rig.run()
    assert len(discord.messages) == 1
    assert [s for s in rig.clock.slept if s >= 1] == [1.0, 2.0]
    # A Discord outage longer than retry_for: recorded, not lost silently.
    discord.fail_next = [DiscordUnavailable("500")] * 50
    await rig.run_until(DUE + timedelta(days=1, seconds=1))
    states = await rows(db, "SELECT state, error FROM deliveries ORDER BY id")
    assert states[1][0] == "failed" and states[1][1].startswith("discord unavailable")


async def test_rejected_request_is_not_retried(db):
    discord = FakeDiscord()
    rig = await due_rig(db, discord)
    await members.set_dm_channel(db, USER, FakeDiscord.dm_channel_of(USER), 0)
    discord.fail_next = [RequestRejected(400, 50035, "Invalid Form Body")]
    await rig.run()
    assert len(discord.requests) == 1
    (row,) = await rows(db, "SELECT state, error FROM deliveries")
    assert row[0] == "failed" and "50035" in row[1]


async def test_unsubscribed_before_sending_is_cancelled(db):
    rig = await due_rig(db)
    await rig.dispatcher.start()
    await rig.subscriptions.stop(USER, "sleep")
    await rig.sender.run_pending()
    assert rig.discord.messages == []
    assert await rows(db, "SELECT state FROM deliveries") == [("cancelled",)]


async def test_test_send_reports_where_it_went(db):
    discord = FakeDiscord(closed_dms={USER})
    rig = await due_rig(db, discord)
    await rig.sender.start()
    try:
        result = await rig.subscriptions.send_test(USER, "hydration", GUILD)
    finally:
        await rig.sender.stop()
    assert (result.state, result.via, result.channel_id) == ("sent", "fallback", REMINDER_CHANNEL)
    assert await rows(db, "SELECT source FROM deliveries") == [("test",)]
    # A test never pauses anything.
    assert [v.active for v in await rig.subscriptions.list_subscriptions(USER)] == [True]


async def test_workers_send_earliest_deadline_first_one_kind_earliest_due(db):
    discord = FakeDiscord()
    rig = await due_rig(db, discord, users=range(10, 20), workers=1)
    await rig.dispatcher.start()
    # Shuffle the queue's arrival order: priority must still be by scheduled time.
    from storage import ledger

    pending = await ledger.pending(db)
    rig.sender._futures.clear()
    rig.sender._ready.clear()
    rig.sender._held.clear()
    shifted = [
        ledger.Delivery(**{**d.__dict__, "scheduled_at": d.scheduled_at + (i * 7919) % 13})
        for i, d in enumerate(pending)
    ]
    for d in reversed(shifted):
        rig.sender.submit(d)
    await rig.sender.start()
    for _ in range(500):
        if rig.sender.backlog == 0:
            break
        await asyncio.sleep(0.005)
    await rig.sender.stop()
    order = {d.nonce: d.scheduled_at for d in shifted}
    sent = [order[m.nonce] for m in discord.messages]
    assert len(sent) == 10 and sent == sorted(sent)


async def test_stop_finishes_in_flight_and_leaves_the_queue_claimed(db):
    release = asyncio.Event()

    class SlowDiscord(FakeDiscord):
        async def send_message(self, channel_id, payload, nonce):
            await release.wait()
            return await super().send_message(channel_id, payload, nonce)

    discord = SlowDiscord()
    rig = await due_rig(db, discord, users=range(10, 15), workers=1)
    await rig.dispatcher.start()
    await rig.sender.start()
    for _ in range(500):
        if rig.sender._busy:
            break
        await asyncio.sleep(0.005)
    stopping = asyncio.create_task(rig.sender.stop(grace_seconds=5))
    await asyncio.sleep(0)
    release.set()
    await stopping
    assert len(discord.messages) == 1
    states = dict(await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert states == {"sent": 1, "claimed": 4}
