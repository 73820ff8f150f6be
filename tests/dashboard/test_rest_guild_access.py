"""RestGuildAccess (services/guild_facts.py) against the emulator: the same answers as the
bot's own view (FakeServers reads the emulator's world with Discord's algorithm), through
the limiter, cached in the database for its expiry, and re-asked when ``fresh``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from services.guild_facts import RestGuildAccess
from services.ratelimit import SlotPacer
from storage.database import Database
from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms
from tests.dashboard.rig import FakeServers
from tests.reminder_rig import CountingPacer


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def pacer() -> CountingPacer:
    return CountingPacer()


@pytest.fixture
async def rest(
    db: Database, emulator: Emulator, wall: Wall, pacer: CountingPacer
) -> AsyncIterator[RestGuildAccess]:
    access = RestGuildAccess(
        db, token=emulator.world.token, api_base=emulator.api_base, limiter=pacer, clock=wall
    )
    yield access
    await access.close()


async def test_the_same_answers_as_the_bots_view(
    rest: RestGuildAccess, driver: Driver, emulator: Emulator
) -> None:
    owner, mod, member = driver.add_user("o"), driver.add_user("m"), driver.add_user("x")
    guild = driver.add_guild("Twitch", owner=owner, members=[mod, member], channels=("general",))
    mods = driver.add_role(guild, "Mods", perms.MANAGE_GUILD)
    driver.give_role(guild, mod, mods)
    quiet = driver.add_channel(guild, "quiet")
    driver.deny_bot(quiet, perms.SEND_MESSAGES)
    hidden = driver.add_channel(guild, "hidden")
    driver.set_overwrite(hidden, guild.everyone, deny=perms.EMBED_LINKS)
    fake = FakeServers(emulator)
    assert (await rest.member_permissions(guild.id, owner.id)).administrator  # type: ignore[union-attr]
    for user in (mod, member):
        assert await rest.member_permissions(guild.id, user.id) == await fake.member_permissions(
            guild.id, user.id
        )
    assert (await rest.member_permissions(guild.id, mod.id)).manage_guild  # type: ignore[union-attr]
    assert not (await rest.member_permissions(guild.id, member.id)).manage_guild  # type: ignore[union-attr]
    for channel in guild.channels.values():
        assert await rest.channel_access(guild.id, channel.id) == await fake.channel_access(
            guild.id, channel.id
        )
    assert (await rest.channel_access(guild.id, quiet.id)).missing == ("Send Messages",)
    assert await rest.channel_names(guild.id) == await fake.channel_names(guild.id)
    assert await rest.guild_name(guild.id) == "Twitch"
    assert await rest.bot_is_in(guild.id)
    stranger = driver.add_user("stranger")
    assert await rest.member_permissions(guild.id, stranger.id) is None


async def test_a_server_without_the_bot(rest: RestGuildAccess, driver: Driver) -> None:
    guild = driver.add_guild("Gone")
    await driver.remove_bot_from_guild(guild)
    assert not await rest.bot_is_in(guild.id)
    assert await rest.member_permissions(guild.id, guild.owner_id) is None
    assert await rest.channel_accesses(guild.id) == {}
    assert not await rest.bot_is_in(12345)  # no such server at all


async def test_facts_are_cached_for_their_expiry_and_fresh_asks_again(
    rest: RestGuildAccess, driver: Driver, emulator: Emulator, wall: Wall, pacer: CountingPacer
) -> None:
    mod = driver.add_user("m")
    guild = driver.add_guild("Twitch", members=[mod])
    mods = driver.add_role(guild, "Mods", perms.MANAGE_GUILD)
    driver.give_role(guild, mod, mods)
    assert (await rest.member_permissions(guild.id, mod.id)).manage_guild  # type: ignore[union-attr]
    asked = emulator.stats.requests
    # Demoted at Discord: the cached answer holds until it expires...
    guild.members[mod.id].role_ids.remove(mods.id)
    wall.now += rest.facts_ttl - 1
    assert (await rest.member_permissions(guild.id, mod.id)).manage_guild  # type: ignore[union-attr]
    assert emulator.stats.requests == asked
    # ...a state-changing request asks again at once...
    fresh = await rest.member_permissions(guild.id, mod.id, fresh=True)
    assert fresh is not None and not fresh.manage_guild
    # ...and after the expiry every page does.
    guild.members[mod.id].role_ids.append(mods.id)
    await rest.member_permissions(guild.id, mod.id, fresh=True)
    guild.members[mod.id].role_ids.remove(mods.id)
    wall.now += rest.facts_ttl + 1
    later = await rest.member_permissions(guild.id, mod.id)
    assert later == discord.Permissions(perms.DEFAULT_EVERYONE)
    # Every request went through the limiter.
    assert pacer.acquired == emulator.stats.requests


async def test_a_second_replica_reads_the_first_ones_cache(
    db: Database, rest: RestGuildAccess, driver: Driver, emulator: Emulator, wall: Wall
) -> None:
    guild = driver.add_guild("Twitch")
    await rest.channel_accesses(guild.id)
    asked = emulator.stats.requests
    other = RestGuildAccess(
        db, token="unused", api_base=emulator.api_base, limiter=SlotPacer(45.0), clock=wall
    )
    other._bot_id = emulator.world.bot.id
    try:
        assert await other.channel_accesses(guild.id) == await rest.channel_accesses(guild.id)
        assert emulator.stats.requests == asked
    finally:
        await other.close()


async def test_pages_asking_at_once_share_one_question(
    rest: RestGuildAccess, driver: Driver, emulator: Emulator
) -> None:
    guild = driver.add_guild("Busy")
    await rest.bot_id()
    before = emulator.stats.by_route["GET /guilds/{guild_id}"]
    answers = await asyncio.gather(*(rest.guild_name(guild.id) for _ in range(20)))
    assert answers == ["Busy"] * 20
    assert emulator.stats.by_route["GET /guilds/{guild_id}"] == before + 1
