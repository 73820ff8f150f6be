"""RestDms (services/engine/rest_dms.py), the web process's way of opening a member's DM
channel, against the emulator: Discord's channel, through the token's limiter, a route 429
waited out, a refusal as the engine's error types."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.engine.rest_dms import MAX_RETRIES, RestDms
from services.engine.transport import DiscordUnavailable, DMsClosed, RateLimited
from testkit.emulator import Driver, Emulator
from tests.reminder_rig import CountingPacer


@pytest.fixture
def pacer() -> CountingPacer:
    return CountingPacer()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
async def rest(
    emulator: Emulator, pacer: CountingPacer, slept: list[float]
) -> AsyncIterator[RestDms]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    dms = RestDms(
        token=emulator.world.token, api_base=emulator.api_base, limiter=pacer, sleep=sleep
    )
    yield dms
    await dms.close()


async def test_opens_the_members_dm_channel_through_the_limiter(
    rest: RestDms, driver: Driver, pacer: CountingPacer
) -> None:
    member = driver.add_user("mika")
    assert await rest.open_dm(member.id) == driver.dm_channel(member).id
    assert driver.stats.dm_channel_creates == 1
    assert pacer.acquired == 1
    assert driver.emulator.rejections == []  # a body Discord accepts


async def test_a_route_429_is_waited_out(rest: RestDms, driver: Driver, slept: list[float]) -> None:
    member = driver.add_user("mika")
    driver.rate_limit_storm("POST /users/@me/channels", count=2, retry_after=0.25)
    assert await rest.open_dm(member.id) == driver.dm_channel(member).id
    assert slept == [0.25, 0.25]


async def test_a_429_that_does_not_end_is_left_to_the_sender(
    rest: RestDms, driver: Driver, slept: list[float]
) -> None:
    member = driver.add_user("mika")
    driver.rate_limit_storm("POST /users/@me/channels", count=MAX_RETRIES + 1)
    with pytest.raises(RateLimited):
        await rest.open_dm(member.id)
    assert len(slept) == MAX_RETRIES and driver.stats.dm_channel_creates == 0


async def test_refusals_are_the_engines_errors(rest: RestDms, driver: Driver) -> None:
    with pytest.raises(DMsClosed):
        await rest.open_dm(12345)  # no such user
    driver.fail_next("POST /users/@me/channels", status=503)
    with pytest.raises(DiscordUnavailable):
        await rest.open_dm(driver.add_user("mika").id)
