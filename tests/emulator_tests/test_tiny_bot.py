"""The emulator driven by a real discord.py client: login, gateway, sync, interactions."""

from __future__ import annotations

import pytest

from testkit.emulator import ClientRefused, Driver, InteractionFailed
from tests.emulator_tests.tiny_bot import TinyBot


async def test_login_gateway_and_sync(driver: Driver, tiny: TinyBot) -> None:
    gateway = driver.emulator.gateway
    assert gateway.identifies == 1 and gateway.ready_sent == 1
    assert tiny.user is not None and tiny.user.id == driver.bot.id
    assert driver.stats.command_syncs == ["global"]
    names = {c["name"] for c in driver.world.global_commands}
    assert {"ping", "food", "remind"} <= names
    assert driver.rejections == []


async def test_slash_in_a_server(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    guild = driver.add_guild("Twitch Support", owner=alice)
    reply = await driver.slash("ping", user=alice, guild=guild)
    assert reply.embed["title"] == "Pong"
    assert not reply.ephemeral
    assert reply.message in driver.messages_in(driver.default_channel(guild))
    assert tiny.get_guild(guild.id) is not None  # GUILD_CREATE arrived after READY


async def test_slash_in_a_dm(driver: Driver, tiny: TinyBot) -> None:
    bob = driver.add_user("bob")
    reply = await driver.slash("food", user=bob, name="spinach")
    assert reply.embed["title"] == "Spinach"
    assert reply.message.channel_id == driver.dm_channel(bob).id


async def test_unknown_value_gets_ephemeral_answer(driver: Driver, tiny: TinyBot) -> None:
    bob = driver.add_user("bob")
    reply = await driver.slash("food", user=bob, name="pizza")
    assert reply.ephemeral and "Unknown food" in reply.content
    assert driver.messages_in(driver.dm_channel(bob)) == []  # nobody else sees it


async def test_autocomplete(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    guild = driver.add_guild("G", owner=alice)
    choices = await driver.autocomplete("food", "name", "pot", user=alice, guild=guild)
    assert [c["value"] for c in choices] == ["sweet potato"]


async def test_deferred_then_followup(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    reply = await driver.slash("slow", user=alice, ephemeral=True)
    assert reply.deferred and reply.ephemeral
    assert reply.content == "Done thinking"
    assert not reply.message.loading


async def test_subcommand_with_choices_and_range(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    reply = await driver.slash("remind start", user=alice, kind="hydration", every=2)
    assert reply.content == "Started hydration every 2"
    with pytest.raises(ClientRefused):
        await driver.slash("remind start", user=alice, kind="coffee")
    with pytest.raises(ClientRefused):
        await driver.slash("remind start", user=alice, kind="sleep", every=9)


async def test_button_click_updates_the_message(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    reply = await driver.slash("buttons", user=alice)
    assert [b["custom_id"] for b in reply.buttons] == ["tiny:done", "tiny:later"]
    clicked = await driver.click(reply.message, "tiny:done", user=alice)
    assert clicked.message is reply.message
    assert reply.content == "Marked done ✅" and reply.components == []


async def test_button_click_with_new_ephemeral_message(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    reply = await driver.slash("buttons", user=alice)
    snoozed = await driver.click(reply.message, "tiny:later", user=alice)
    assert snoozed.ephemeral and snoozed.content == "Snoozed"


async def test_second_callback_is_40060(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    reply = await driver.slash("twice", user=alice)
    assert reply.content == "first"
    await driver.emulator.wait_until(lambda: getattr(tiny, "last_error", None), what="40060")
    assert tiny.last_error.code == 40060
    assert reply.interaction.duplicate_callbacks == 1


async def test_callback_after_three_seconds_is_10062(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    with pytest.raises(InteractionFailed, match="did not respond"):
        await driver.slash("sleepy", user=alice)
    await driver.emulator.wait_until(lambda: getattr(tiny, "last_error", None), what="10062")
    assert tiny.last_error.code == 10062


async def test_default_member_permissions_hide_command(driver: Driver, tiny: TinyBot) -> None:
    owner, member = driver.add_user("owner"), driver.add_user("member")
    guild = driver.add_guild("G", owner=owner, members=[member])
    assert (await driver.slash("config", user=owner, guild=guild)).content == "Settings"
    with pytest.raises(ClientRefused, match="cannot see /config"):
        await driver.slash("config", user=member, guild=guild)
    with pytest.raises(ClientRefused, match="not available in DMs"):
        await driver.slash("config", user=owner)
    # A crafted client can still send it; the bot's own check must refuse then.
    forced = await driver.slash("config", user=member, guild=guild, force=True)
    assert forced.content == "Settings"  # the tiny bot relies on Discord alone


async def test_invalid_body_is_rejected_and_recorded(driver: Driver, tiny: TinyBot) -> None:
    alice = driver.add_user("alice")
    with pytest.raises(AssertionError, match="BASE_TYPE_MAX_LENGTH"):
        await driver.slash("oversize", user=alice)
    [rejection] = driver.rejections
    assert rejection.path.endswith("/callback")
    assert rejection.errors[0].path == ("data", "content")
