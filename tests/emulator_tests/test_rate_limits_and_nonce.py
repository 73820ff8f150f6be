"""Rate limits and nonce de-duplication behave as Discord's do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from testkit.emulator import Driver, Emulator
from tests.emulator_tests.tiny_bot import TinyBot


async def bot_channel(driver: Driver, tiny: TinyBot, channel_id: int) -> discord.TextChannel:
    """The channel as the bot's cache has it, once its GUILD_CREATE has been processed."""
    return await driver.emulator.wait_until(
        lambda: tiny.get_channel(channel_id), within=5, what="the bot to see the channel"
    )


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    async with aiohttp.ClientSession(emulator.api_base + "/", headers=headers) as session:
        yield session


async def test_messages_bucket_is_5_per_5s_per_channel(
    http: aiohttp.ClientSession, driver: Driver
) -> None:
    guild = driver.add_guild("G", channels=["a", "b"])
    a, b = driver.channel(guild, "a"), driver.channel(guild, "b")
    remaining = []
    for i in range(5):
        async with http.post(f"channels/{a.id}/messages", json={"content": f"{i}"}) as r:
            assert r.status == 200
            remaining.append(r.headers["X-RateLimit-Remaining"])
            assert r.headers["X-RateLimit-Limit"] == "5"
            assert r.headers["X-RateLimit-Bucket"]
            assert float(r.headers["X-RateLimit-Reset-After"]) <= 5.0
    assert remaining == ["4", "3", "2", "1", "0"]
    async with http.post(f"channels/{a.id}/messages", json={"content": "6"}) as r:
        assert r.status == 429
        body = await r.json()
        assert r.headers["Via"] and r.headers["Retry-After"]
        assert r.headers["X-RateLimit-Scope"] == "user"
    assert body["global"] is False and 0 < body["retry_after"] <= 5
    assert body["message"] == "You are being rate limited."
    # Another channel is another bucket (major parameter).
    async with http.post(f"channels/{b.id}/messages", json={"content": "ok"}) as r:
        assert r.status == 200
    assert driver.stats.rate_limited == 1 and len(driver.messages_in(a)) == 5


async def test_global_limit_per_bot(http: aiohttp.ClientSession, driver: Driver) -> None:
    driver.set_global_rate_limit(10, window=1.0)
    statuses = []
    for _ in range(11):
        async with http.get("users/@me") as r:
            statuses.append(r.status)
            last = (r.headers, await r.json())
    assert statuses == [200] * 10 + [429]
    headers, body = last
    assert body["global"] is True and headers["X-RateLimit-Global"] == "true"
    assert headers["Via"] == "1.1 google"
    assert driver.stats.global_rate_limited == 1


async def test_interaction_routes_are_exempt_from_global_limit(
    driver: Driver, tiny: TinyBot
) -> None:
    driver.set_global_rate_limit(1, window=60.0)
    alice = driver.add_user("alice")
    for _ in range(3):
        await driver.slash("ping", user=alice)
    assert driver.stats.global_rate_limited == 0


async def test_discord_py_paces_itself_on_the_headers(driver: Driver, tiny: TinyBot) -> None:
    driver.set_route_limit("POST", "/channels/{channel_id}/messages", 5, 1.0)
    guild = driver.add_guild("G", channels=["tips"])
    channel = await bot_channel(driver, tiny, driver.channel(guild, "tips").id)
    await asyncio.gather(*(channel.send(f"tip {i}") for i in range(12)))
    assert len(driver.messages_in(driver.channel(guild, "tips"))) == 12
    # Paced on the headers: never refused. (A sliding 1 s span may straddle two of the
    # bucket's fixed windows, so on a loaded machine it can hold up to twice the limit.)
    assert driver.stats.rate_limited == 0
    assert driver.stats.max_sends_per_second() <= 10


async def test_429_storm_is_retried_by_discord_py(driver: Driver, tiny: TinyBot) -> None:
    guild = driver.add_guild("G", channels=["tips"])
    channel = await bot_channel(driver, tiny, driver.channel(guild, "tips").id)
    storm = driver.rate_limit_storm("POST /channels/*/messages", count=3, retry_after=0.05)
    await channel.send("after the storm")
    assert storm.hits == 3 and driver.stats.rate_limited == 3
    assert len(driver.stats.sends) == 1


async def test_429_without_via_is_not_retried(driver: Driver, tiny: TinyBot) -> None:
    guild = driver.add_guild("G", channels=["tips"])
    channel = await bot_channel(driver, tiny, driver.channel(guild, "tips").id)
    driver.fail_next("POST /channels/*/messages", status=429, code=0)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x")
    assert caught.value.status == 429


async def test_enforced_nonce_returns_the_first_message(
    http: aiohttp.ClientSession, driver: Driver
) -> None:
    channel = driver.dm_channel(driver.add_user("alice"))
    body = {"content": "Drink water", "nonce": "rem:42:20260101T0900", "enforce_nonce": True}
    async with http.post(f"channels/{channel.id}/messages", json=body) as r:
        first = await r.json()
    async with http.post(f"channels/{channel.id}/messages", json=body) as r:
        assert r.status == 200
        second = await r.json()
    assert first["id"] == second["id"]
    assert len(driver.messages_in(channel)) == 1 and driver.stats.nonce_dedupes == 1
    # Without enforce_nonce Discord does not dedupe.
    async with http.post(f"channels/{channel.id}/messages", json={**body, "enforce_nonce": False}):
        pass
    assert len(driver.messages_in(channel)) == 2


async def test_bot_retrying_a_dm_with_the_same_nonce_sends_once(
    driver: Driver, tiny: TinyBot
) -> None:
    alice = driver.add_user("alice")
    await driver.slash("dm", user=alice, nonce="same")
    await driver.slash("dm", user=alice, nonce="same")
    assert [m.content for m in driver.dm_messages(alice) if not m.ephemeral] == ["A reminder"]
    assert tiny.sent_ids[0] == tiny.sent_ids[1]


async def test_sends_per_second_counter(driver: Driver) -> None:
    stats = driver.stats
    stats.sends += [(0.0, 1), (0.5, 1), (0.9, 1), (1.2, 1), (3.0, 1)]
    assert stats.max_sends_per_second() == 3
