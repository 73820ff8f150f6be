"""Sharding as Discord does it: routing by server, DMs to shard 0, IDENTIFY checks and limits.

These speak the gateway protocol directly (no discord.py), so each rule is seen on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from testkit.emulator import Driver, Emulator
from testkit.emulator.gateway import GUILDS_INTENT, HELLO, INVALID_SESSION, shard_of
from testkit.emulator.state import snowflake


class RawShard:
    """One gateway connection, read by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.receive(), timeout=within)
        if message.type is not aiohttp.WSMsgType.TEXT:
            return {"closed": self.ws.close_code}
        return json.loads(message.data)

    async def events(self, within: float = 0.3) -> list[tuple[str, dict[str, Any]]]:
        """Every dispatch that arrives until ``within`` seconds pass without one."""
        seen = []
        while True:
            try:
                payload = await self.receive(within)
            except TimeoutError:
                return seen
            if payload.get("op") == 0:
                seen.append((payload["t"], payload["d"]))

    def guild_ids(self, events: list[tuple[str, dict[str, Any]]]) -> set[int]:
        return {int(d["id"]) for t, d in events if t == "GUILD_CREATE"}


@pytest.fixture
async def connect(emulator: Emulator) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession() as http:

        async def identify(shard: Any = None) -> tuple[RawShard, dict[str, Any]]:
            """Connect and IDENTIFY; the first answer (READY's payload, op 9, or a close)."""
            ws = await http.ws_connect(f"{emulator.gateway_url}?v=10&encoding=json")
            raw = RawShard(ws)
            assert (await raw.receive())["op"] == HELLO
            d: dict[str, Any] = {
                "token": emulator.world.token,
                "intents": GUILDS_INTENT,
                "properties": {"os": "linux", "browser": "test", "device": "test"},
            }
            if shard is not None:
                d["shard"] = shard
            await ws.send_json({"op": 2, "d": d})
            return raw, await raw.receive()

        yield identify


async def test_guild_events_go_to_the_guilds_shard_and_dms_to_shard_0(
    driver: Driver, connect: Any
) -> None:
    on_0 = driver.add_guild("Zero", shard=(0, 2))
    on_1 = driver.add_guild("One", shard=(1, 2))
    assert (shard_of(on_0.id, 2), shard_of(on_1.id, 2)) == (0, 1)
    shard0, ready0 = await connect([0, 2])
    shard1, ready1 = await connect([1, 2])
    assert ready0["t"] == "READY" and ready0["d"]["shard"] == [0, 2]
    assert [g["id"] for g in ready0["d"]["guilds"]] == [str(on_0.id)]
    assert [g["id"] for g in ready1["d"]["guilds"]] == [str(on_1.id)]
    assert shard0.guild_ids(await shard0.events()) == {on_0.id}
    assert shard1.guild_ids(await shard1.events()) == {on_1.id}

    driver.add_channel(on_1, "tips")
    await driver.settle()
    assert [t for t, _ in await shard1.events()] == ["CHANNEL_CREATE"]
    assert await shard0.events() == []

    alice = driver.add_user("alice")
    dm_click = {"id": str(snowflake()), "type": 3, "channel_id": str(driver.dm_channel(alice).id)}
    guild_click = {**dm_click, "guild_id": str(on_1.id)}
    assert await driver.emulator.gateway.dispatch("INTERACTION_CREATE", dm_click) == 1
    assert await driver.emulator.gateway.dispatch("INTERACTION_CREATE", guild_click) == 1
    assert [d.get("guild_id") for _, d in await shard0.events()] == [None]
    assert [d.get("guild_id") for _, d in await shard1.events()] == [str(on_1.id)]


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], [0], "0,2", [True, 2]])
async def test_invalid_shard_closes_with_4010(connect: Any, shard: Any) -> None:
    _, answer = await connect(shard)
    assert answer == {"closed": 4010}


async def test_too_many_servers_on_one_shard_closes_with_4011(driver: Driver, connect: Any) -> None:
    driver.emulator.gateway.max_guilds_per_shard = 1
    driver.add_guild("A", shard=(0, 2))
    driver.add_guild("B", shard=(0, 2))
    driver.add_guild("C", shard=(1, 2))
    _, unsharded = await connect()
    assert unsharded == {"closed": 4011}
    _, shard0 = await connect([0, 2])
    assert shard0 == {"closed": 4011}
    _, shard1 = await connect([1, 2])
    assert shard1["t"] == "READY"


async def test_gateway_bot_announces_shards_and_identify_concurrency(
    emulator: Emulator, driver: Driver, connect: Any
) -> None:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        emulator.gateway.max_concurrency = 16
        emulator.gateway.recommended_shards = 4
        async with http.get(f"{emulator.api_base}/gateway/bot") as r:
            body = await r.json()
        assert body["shards"] == 4
        assert body["session_start_limit"]["max_concurrency"] == 16
        assert body["session_start_limit"]["remaining"] == 1000
        await connect([0, 4])
        emulator.gateway.recommended_shards = None  # Discord's own advice: 1 per 1,000 servers
        async with http.get(f"{emulator.api_base}/gateway/bot") as r:
            body = await r.json()
        assert body["shards"] == 1 and body["session_start_limit"]["remaining"] == 999


async def test_identify_rate_is_per_concurrency_key(emulator: Emulator, connect: Any) -> None:
    gateway = emulator.gateway
    gateway.enforce_identify_rate = True
    gateway.max_concurrency = 2
    # Keys 0 and 1 may IDENTIFY at the same moment; a second one on key 0 within 5 s may not.
    assert (await connect([0, 4]))[1]["t"] == "READY"
    assert (await connect([1, 4]))[1]["t"] == "READY"
    _, too_soon = await connect([2, 4])
    assert too_soon["op"] == INVALID_SESSION and too_soon["d"] is False
    assert [shard for shard, _ in gateway.identify_rate_violations] == [2]
    assert [shard for _, shard, _ in gateway.identify_log] == [0, 1]


async def test_one_global_rate_limit_for_every_process_of_a_token(
    emulator: Emulator, driver: Driver
) -> None:
    """Two processes (two HTTP clients) of one bot share its 50/s, as on Discord."""
    driver.set_global_rate_limit(10, window=60.0)
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as one,
        aiohttp.ClientSession(headers=headers) as two,
    ):
        statuses = []
        for i in range(12):
            async with (one, two)[i % 2].get(f"{emulator.api_base}/users/@me") as r:
                statuses.append(r.status)
    assert statuses == [200] * 10 + [429, 429]
    assert driver.stats.global_rate_limited == 2
