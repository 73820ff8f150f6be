"""A member's DM channel is known before their first reminder, so a due reminder costs one
request: learnt from their DM interactions, or opened in the background when they subscribe
from a server or on the web dashboard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.compose import build_web
from services.engine.transport import DiscordUnavailable
from storage import guild_settings, members
from testkit.fake_time import FakeClock
from tests.reminder_rig import FakeDiscord, make_rig, open_db

USER = 42
GUILD = 7
DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)  # sleep wind-down at 22:30 Berlin
DM = FakeDiscord.dm_channel_of(USER)


@pytest.fixture
async def db(tmp_path):
    database = await open_db(tmp_path)
    yield database
    await database.close()


async def subscribe(db, *, guild_id: int | None, dm_channel_id: int | None = None):
    rig = await make_rig(db, FakeClock(DUE - timedelta(hours=1)))
    await rig.subscriptions.start(
        USER, guild_id, "sleep", zone_text="Europe/Berlin", dm_channel_id=dm_channel_id
    )
    return rig


async def due(rig) -> list[str]:
    """What the bot asked Discord for when the reminder was due."""
    rig.clock.now = DUE
    before = len(rig.discord.requests)
    await rig.run()
    assert [m.channel_id for m in rig.discord.messages] == [DM]
    return [what for what, _ in rig.discord.requests[before:]]


async def test_subscribing_in_dms_teaches_the_channel_without_any_request(db) -> None:
    rig = await subscribe(db, guild_id=None, dm_channel_id=DM)
    await rig.engine.dm_channels.run_pending()
    assert rig.discord.requests == []
    assert (await members.get(db, USER)).dm_channel_id == DM
    assert await due(rig) == ["send"]


async def test_subscribing_in_a_server_opens_the_channel_ahead(db) -> None:
    rig = await subscribe(db, guild_id=GUILD)
    assert (await members.get(db, USER)).dm_channel_id is None
    await rig.engine.dm_channels.run_pending()  # in the bot: a background task, right away
    assert [what for what, _ in rig.discord.requests] == ["open_dm"]
    assert (await members.get(db, USER)).dm_channel_id == DM
    assert await due(rig) == ["send"]


async def test_subscribing_twice_opens_once(db) -> None:
    rig = await subscribe(db, guild_id=GUILD)
    await rig.subscriptions.start(USER, GUILD, "caffeine")
    await rig.engine.dm_channels.run_pending()
    await rig.subscriptions.start(USER, GUILD, "stretching")
    await rig.engine.dm_channels.run_pending()
    assert [what for what, _ in rig.discord.requests] == ["open_dm"]


async def test_a_failed_open_ahead_is_done_when_the_reminder_is_due(db) -> None:
    rig = await subscribe(db, guild_id=GUILD)
    rig.discord.fail_next = [DiscordUnavailable("503")]
    await rig.engine.dm_channels.run_pending()
    assert (await members.get(db, USER)).dm_channel_id is None
    assert await due(rig) == ["open_dm", "send"]


async def test_any_dm_interaction_of_a_member_updates_the_channel(db) -> None:
    rig = await subscribe(db, guild_id=GUILD)
    await rig.member_settings.learn_dm_channel(USER, DM)
    await rig.engine.dm_channels.run_pending()  # nothing left to open
    assert rig.discord.requests == []
    assert await due(rig) == ["send"]


async def test_nothing_is_stored_for_someone_who_only_asked_for_facts(db) -> None:
    rig = await make_rig(db, FakeClock(DUE))
    await rig.member_settings.learn_dm_channel(999, 12345)
    assert await members.get(db, 999) is None


# --- members who subscribe in the web process (python -m bot dashboard) -------------------


async def web_process(db, clock: FakeClock):
    """The web process's services and opener, as ``bot.web_process`` builds them, over a
    Discord of their own (the bot processes' requests are the rig's)."""
    discord = FakeDiscord(clock)
    web = build_web(db, discord, clock=clock)
    await web.services.member_settings.set_timezone(USER, "Europe/Berlin")
    return web, discord


async def test_subscribing_on_the_web_opens_the_channel_ahead_in_the_web_process(db) -> None:
    """The web process has no engine and the bot processes only hear "something changed":
    the web process opens it, so the bot's reminder is one request."""
    clock = FakeClock(DUE - timedelta(hours=1))
    web, web_discord = await web_process(db, clock)
    await web.services.subscriptions.start(USER, None, "sleep")  # the page's form
    await web.dm_channels.run_pending()  # in the web process: a background task, right away
    assert [what for what, _ in web_discord.requests] == ["open_dm"]
    assert (await members.get(db, USER)).dm_channel_id == DM
    bot = await make_rig(db, clock)
    assert await due(bot) == ["send"]


async def test_choosing_dms_on_the_web_opens_the_channel_ahead(db) -> None:
    clock = FakeClock(DUE - timedelta(hours=1))
    web, web_discord = await web_process(db, clock)
    await guild_settings.set_reminder_channel(db, GUILD, 55)
    await web.services.member_settings.set_delivery(USER, "server", GUILD)
    await web.services.subscriptions.start(USER, None, "sleep")
    await web.dm_channels.run_pending()
    assert web_discord.requests == []  # reminders go to the server's channel: no DM needed
    await web.services.member_settings.set_delivery(USER, "dm", None)
    await web.dm_channels.run_pending()
    assert [what for what, _ in web_discord.requests] == ["open_dm"]
    assert await due(await make_rig(db, clock)) == ["send"]


async def test_the_web_process_leaves_the_start_up_sweep_to_the_bot(db) -> None:
    """Only what its own pages start: the bot processes open the earlier subscribers'."""
    await subscribe(db, guild_id=None, dm_channel_id=DM)
    await forget_dm_channels(db, USER)
    web, web_discord = await web_process(db, FakeClock(DUE - timedelta(hours=1)))
    other = USER + 1
    await members.set_dm_channel(db, other, None, 0)
    await web.dm_channels.start()
    try:
        web.dm_channels.open_soon(other)  # queued behind a sweep, if there were one
        for _ in range(200):  # a bounded wait for the background task
            if (await members.get(db, other)).dm_channel_id is not None:
                break
            await asyncio.sleep(0.01)
    finally:
        await web.dm_channels.stop()
    assert (await members.get(db, other)).dm_channel_id == FakeDiscord.dm_channel_of(other)
    assert web_discord.dm_opens == 1
    assert (await members.get(db, USER)).dm_channel_id is None


# --- members who subscribed before DM channel ids were stored --------------------------------


async def forget_dm_channels(db, *user_ids: int) -> None:
    """As the database of a bot from before DM channel ids were stored leaves them."""
    for user_id in user_ids:
        await members.set_dm_channel(db, user_id, None, 0)


async def test_at_start_up_the_channels_of_earlier_subscribers_are_opened_ahead(db) -> None:
    """Their first reminder costs one request, not two (open, then send) at due time."""
    await subscribe(db, guild_id=None, dm_channel_id=DM)
    await forget_dm_channels(db, USER)
    rig = await make_rig(db, FakeClock(DUE - timedelta(hours=1)))  # the bot starts again
    assert await rig.engine.dm_channels.queue_unknown() == 1
    await rig.engine.dm_channels.run_pending()  # in the bot: the opener's background task
    assert [what for what, _ in rig.discord.requests] == ["open_dm"]
    assert (await members.get(db, USER)).dm_channel_id == DM
    assert await due(rig) == ["send"]


@pytest.fixture
async def any_db(database_url):
    database = await open_db(database_url)
    yield database
    await database.close()


async def test_start_up_opens_only_what_a_dm_reminder_needs_soonest_first(any_db) -> None:
    db = any_db
    rig = await make_rig(db, FakeClock(DUE - timedelta(hours=1)), reminder_channels={GUILD: 55})
    zone = {"zone_text": "Europe/Berlin"}
    await rig.subscriptions.start(1, None, "sleep", **zone, dm_channel_id=101)  # 22:30
    await rig.subscriptions.start(2, None, "stretching", **zone, dm_channel_id=102)  # 22:00, sooner
    await rig.subscriptions.start(3, GUILD, "sleep", **zone, dm_channel_id=103)
    await rig.member_settings.set_delivery(3, "server", GUILD)  # reminders in the server: no DM
    await rig.subscriptions.start(4, None, "sleep", **zone, dm_channel_id=104)
    await rig.subscriptions.stop(4, "all")  # no reminders any more
    await rig.subscriptions.start(5, None, "sleep", **zone, dm_channel_id=105)  # channel known
    await forget_dm_channels(db, 1, 2, 3, 4)
    assert await members.dm_channels_unknown(db) == [2, 1]


async def test_start_up_does_not_wait_for_the_opens(db) -> None:
    """Readiness comes first: the look-up and every open happen in the background."""
    await subscribe(db, guild_id=None, dm_channel_id=DM)
    await forget_dm_channels(db, USER)
    rig = await make_rig(db, FakeClock(DUE - timedelta(hours=1)))
    discord_answers = asyncio.Event()
    open_dm = rig.discord.open_dm

    async def slow_open_dm(user_id: int) -> int:
        await discord_answers.wait()
        return await open_dm(user_id)

    rig.discord.open_dm = slow_open_dm  # type: ignore[method-assign]
    opener = rig.engine.dm_channels
    await opener.start()
    try:
        assert (await members.get(db, USER)).dm_channel_id is None
        discord_answers.set()
        for _ in range(200):  # a bounded wait for the background task
            if (await members.get(db, USER)).dm_channel_id is not None:
                break
            await asyncio.sleep(0.01)
        assert (await members.get(db, USER)).dm_channel_id == DM
    finally:
        await opener.stop()


async def test_a_member_who_deletes_their_data_while_the_open_is_under_way_stays_deleted(
    db,
) -> None:
    """``/privacy delete`` lands while Discord is answering the open ahead: the answer must
    not bring back a row with their id and DM channel (delete means delete)."""
    rig = await subscribe(db, guild_id=GUILD)
    opening = rig.discord.open_dm

    async def open_while_they_delete(user_id: int) -> int:
        channel = await opening(user_id)
        await rig.privacy.delete_all(user_id)  # between Discord's answer and the save
        return channel

    rig.discord.open_dm = open_while_they_delete  # type: ignore[method-assign]
    await rig.engine.dm_channels.run_pending()
    assert [what for what, _ in rig.discord.requests] == ["open_dm"]
    assert await members.get(db, USER) is None
