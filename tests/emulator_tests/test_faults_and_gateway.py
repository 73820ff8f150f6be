"""Faults on demand and the gateway's lifecycle: what the bot sees when Discord misbehaves."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms
from tests.emulator_tests.tiny_bot import TinyBot, point_discord_py_at, restore_discord_py


async def _seen_by_bot(driver: Driver, predicate, what: str):
    return await driver.emulator.wait_until(predicate, within=5, what=what)


async def test_wrong_token_is_401_like_discord(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{emulator.api_base}/users/@me", headers={"Authorization": "Bot wrong"}
        ) as r:
            assert r.status == 401
            assert await r.json() == {"message": "401: Unauthorized", "code": 0}


async def test_dms_closed_is_50007(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    driver.close_dms(alice)
    reply = await driver.slash("dm", user=alice)
    assert reply.ephemeral and reply.content == "Could not DM you (50007)"


@pytest.mark.parametrize(
    ("denied", "code"),
    [
        (perms.SEND_MESSAGES, 50013),
        (perms.EMBED_LINKS, 50013),
        (perms.VIEW_CHANNEL, 50001),
    ],
)
async def test_missing_permissions_from_overwrites(
    driver: Driver, tiny: TinyBot, denied: int, code: int
) -> None:
    owner = driver.add_user("owner")
    guild = driver.add_guild("G", owner=owner, channels=["general", "tips"])
    tips = driver.channel(guild, "tips")
    driver.deny_bot(tips, denied)
    await _seen_by_bot(driver, lambda: tiny.get_channel(tips.id), "#tips in the bot's cache")
    reply = await driver.slash("post", user=owner, guild=guild, options={"channel": tips})
    assert reply.content == f"Forbidden {code}"


async def test_member_overwrite_beats_role_overwrite(driver: Driver) -> None:
    owner, max_ = driver.add_user("owner"), driver.add_user("max")
    guild = driver.add_guild("G", owner=owner, members=[max_])
    muted = driver.add_role(guild, "muted", 0)
    driver.give_role(guild, max_, muted)
    general = driver.channel(guild, "general")
    driver.set_overwrite(general, muted, deny=perms.SEND_MESSAGES)
    assert not driver.world.permissions_of(max_, general) & perms.SEND_MESSAGES
    driver.set_overwrite(general, max_, allow=perms.SEND_MESSAGES)
    assert driver.world.permissions_of(max_, general) & perms.SEND_MESSAGES
    assert driver.world.permissions_of(owner, general) == perms.ALL  # owners bypass overwrites
    driver.set_overwrite(general, guild.everyone, deny=perms.VIEW_CHANNEL)
    driver.set_overwrite(general, max_, allow=0)
    assert driver.world.permissions_of(max_, general) == 0


async def test_channel_delete_and_guild_delete(driver: Driver, tiny: TinyBot) -> None:
    guild = driver.add_guild("G", channels=["general", "tips"])
    tips = driver.channel(guild, "tips")
    await _seen_by_bot(driver, lambda: tiny.get_channel(tips.id), "#tips in the bot's cache")
    cached = tiny.get_channel(tips.id)
    await driver.delete_channel(tips)
    await _seen_by_bot(driver, lambda: tiny.get_channel(tips.id) is None, "CHANNEL_DELETE")
    with pytest.raises(discord.NotFound) as caught:
        await cached.send("tip")
    assert caught.value.code == 10003

    general = tiny.get_channel(driver.channel(guild, "general").id)
    await driver.remove_bot_from_guild(guild)
    await _seen_by_bot(driver, lambda: tiny.get_guild(guild.id) is None, "GUILD_DELETE")
    with pytest.raises(discord.Forbidden) as caught:
        await general.send("tip")
    assert caught.value.code == 50001


async def test_5xx_is_retried_by_discord_py(driver: Driver, tiny: TinyBot) -> None:
    guild = driver.add_guild("G")
    channel_id = driver.channel(guild, "general").id
    channel = await _seen_by_bot(driver, lambda: tiny.get_channel(channel_id), "the channel")
    fault = driver.fail_next("POST /channels/*/messages", status=502, count=1)
    await channel.send("eventually")
    assert fault.hits == 1 and len(driver.stats.sends) == 1


async def test_fail_next_with_any_discord_error(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    driver.fail_next_with(
        "POST /channels/*/messages", (403, 50007, "Cannot send messages to this user")
    )
    reply = await driver.slash("dm", user=alice)
    assert reply.content == "Could not DM you (50007)"


async def test_gateway_uses_zlib_stream_and_heartbeats(driver: Driver, tiny: TinyBot) -> None:
    gateway = driver.emulator.gateway
    assert gateway.compressions == ["zlib-stream"]
    await driver.emulator.wait_until(lambda: gateway.heartbeats >= 1, what="a heartbeat")
    await driver.emulator.wait_until(lambda: tiny.latency < 1.0, what="a heartbeat ACK")


async def test_reconnect_request_resumes_and_replays_missed_events(
    driver: Driver, tiny: TinyBot
) -> None:
    guild = driver.add_guild("G")
    await _seen_by_bot(driver, lambda: tiny.get_guild(guild.id), "the guild")
    driver.hold_gateway()
    await driver.gateway_reconnect()
    await driver.wait_until_disconnected()
    tips = driver.add_channel(guild, "tips")  # happens while the bot is away
    await driver.settle()
    driver.release_gateway()
    await driver.wait_for_resume(1)
    await _seen_by_bot(driver, lambda: tiny.get_channel(tips.id), "the replayed CHANNEL_CREATE")
    assert driver.emulator.gateway.identifies == 1  # resumed, not re-identified
    alice = driver.add_user("alice")
    assert (await driver.slash("ping", user=alice)).embed["title"] == "Pong"


async def test_close_4000_resumes(driver: Driver, tiny: TinyBot) -> None:
    await driver.gateway_close(4000)
    await driver.wait_for_resume(1)
    assert (await driver.slash("ping", user=driver.add_user("a"))).embed["title"] == "Pong"


async def test_invalid_session_makes_the_client_identify_again(
    driver: Driver, tiny: TinyBot
) -> None:
    # Slow by design: discord.py waits 5 s before any IDENTIFY that is not its first.
    await driver.invalidate_session(resumable=False)
    await driver.wait_for_ready(2)
    assert driver.emulator.gateway.identifies == 2
    assert (await driver.slash("ping", user=driver.add_user("a"))).embed["title"] == "Pong"


async def test_privileged_intents_are_refused(emulator: Emulator) -> None:
    old = point_discord_py_at(emulator)
    client = discord.Client(intents=discord.Intents.all())
    try:
        await client.login(emulator.world.token)
        with pytest.raises(discord.ConnectionClosed) as caught:
            await asyncio.wait_for(client.connect(reconnect=False), timeout=10)
        assert caught.value.code == 4014
    finally:
        await client.close()
        restore_discord_py(old)


async def test_a_cancelled_wait_ends_even_when_the_emulator_changes_at_that_moment(
    emulator: Emulator,
) -> None:
    """A test's background task waiting on the emulator stops when cancelled, even if the
    emulator changed in the same instant (3.11's ``asyncio.wait_for`` swallowed that cancel,
    and a test hung until pytest-timeout)."""
    waiter = asyncio.create_task(emulator.wait_until(lambda: False, within=5, what="never"))
    await asyncio.sleep(0.01)  # waiting now
    emulator.notify()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
