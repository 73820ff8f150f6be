"""Fact commands as a member sees them, in a server and in DMs with the bot."""

from __future__ import annotations

import pytest

from testkit.bot_process import BotProcess
from testkit.emulator import Driver, Reply
from tests.e2e.conftest import Server, StartBot

DISCLAIMER = "medical advice"


def assert_public_answer(reply: Reply) -> None:
    """A normal fact answer: embeds everyone in the channel sees."""
    assert reply.embeds, f"expected an embed, got {reply!r}"
    assert not reply.ephemeral, "fact answers are public"


async def ask_in_server_and_dm(
    driver: Driver, server: Server, command: str, **options: object
) -> tuple[Reply, Reply]:
    in_server = await driver.slash(command, user=server.member, guild=server.guild, **options)
    in_dm = await driver.slash(command, user=server.member, **options)
    assert in_server.message.channel_id == server.general.id
    assert in_dm.message.channel_id == driver.dm_channel(server.member).id
    return in_server, in_dm


async def test_nutrient(driver: Driver, bot: BotProcess, server: Server) -> None:
    for reply in await ask_in_server_and_dm(driver, server, "nutrient", name="magnesium"):
        assert_public_answer(reply)
        assert "Magnesium" in reply.embed["title"]
        assert "310–420 mg" in reply.text  # how much an adult needs
        assert "**Upper limit** (adults): 350 mg a day from supplements" in reply.text
        assert DISCLAIMER in reply.text.lower()


def button(reply: Reply, label: str) -> str:
    """The custom_id of the button the member sees as ``label``."""
    return next(b["custom_id"] for b in reply.buttons if b.get("label") == label)


async def test_nutrient_pages_turn_in_place_and_survive_a_restart(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    """The member asks /nutrient potassium in #general: a short first screen with buttons.
    Safety edits that same message in place; the bot is killed and restarted, and Foods on
    the old message still works. Another member's click shows them the page privately and
    leaves the answer as it was."""
    bot = await start_bot()
    member, guild = server.member, server.guild
    answer = await driver.slash("nutrient", user=member, guild=guild, name="potassium")
    assert [b["label"] for b in answer.buttons] == [
        "Overview", "Intakes", "Foods", "Shortage", "Safety", "Sources",
    ]  # fmt: skip
    assert "Kidney disease" in answer.text and len(answer.text) <= 1200
    message = answer.message

    safety = await driver.click(message, button(answer, "Safety"), user=member)
    assert safety.message.id == message.id and not safety.ephemeral
    assert "Potassium: safety" in safety.embed["title"] and "Upper limit" in safety.text
    assert driver.messages_in(server.general) == [message]  # edited, nothing new posted

    await bot.kill()
    await start_bot()
    foods = await driver.click(message, button(safety, "Foods"), user=member)
    assert "best food sources" in foods.embed["title"] and "926 mg" in foods.text

    other = driver.add_user("reader")
    driver.add_member(guild, other)
    peek = await driver.click(message, button(foods, "Sources"), user=other)
    assert peek.ephemeral and "sources" in peek.embed["title"]
    assert "best food sources" in message.embeds[0]["title"]  # the answer did not move


@pytest.mark.parametrize("typed", ["Vit D", "vitamin d3", "  VITAMIN   D "])
async def test_nutrient_aliases_case_and_spacing(
    driver: Driver, bot: BotProcess, server: Server, typed: str
) -> None:
    reply = await driver.slash("nutrient", user=server.member, name=typed)
    assert "Vitamin D" in reply.embed["title"]


async def test_foods_for_a_nutrient(driver: Driver, bot: BotProcess, server: Server) -> None:
    for reply in await ask_in_server_and_dm(driver, server, "foods", nutrient="mg"):
        assert_public_answer(reply)
        assert "Pumpkin seeds" in reply.text


async def test_food_reverse_lookup(driver: Driver, bot: BotProcess, server: Server) -> None:
    for reply in await ask_in_server_and_dm(driver, server, "food", name="spinach"):
        assert_public_answer(reply)
        assert "Spinach" in reply.text and "Magnesium" in reply.text
    # A kind of food, as /compare's "best sources" put it: the ones we have, privately.
    dairy = await driver.slash("food", user=server.member, guild=server.guild, name="dairy")
    assert dairy.ephemeral and "Cheddar cheese" in dairy.text and "Yogurt" in dairy.text


async def test_liver_comes_with_its_vitamin_a_caution(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    """Issue 19: the member who looks up liver, or the foods rich in B12, reads the vitamin A
    upper limit and the NHS pregnancy advice with it."""
    liver = await driver.slash("food", user=server.member, guild=server.guild, name="liver")
    assert_public_answer(liver)
    assert "6,582 mcg RAE" in liver.text and "pregnan" in liver.text
    b12 = await driver.slash("foods", user=server.member, guild=server.guild, nutrient="b12")
    assert "Beef liver" in b12.text and "Vitamin A" in b12.text


@pytest.mark.parametrize("command", ["compare", "causes", "see-a-doctor", "about", "help"])
async def test_commands_without_options(
    driver: Driver, bot: BotProcess, server: Server, command: str
) -> None:
    for reply in await ask_in_server_and_dm(driver, server, command):
        assert reply.embeds and reply.text


async def test_tips_all_and_one_topic(driver: Driver, bot: BotProcess, server: Server) -> None:
    for reply in await ask_in_server_and_dm(driver, server, "tips"):
        assert_public_answer(reply)
    for reply in await ask_in_server_and_dm(driver, server, "tips", topic="hydration"):
        assert_public_answer(reply)
        assert "Hydration" in reply.text


async def test_help_lists_every_fact_command(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    reply = await driver.slash("help", user=server.member, guild=server.guild)
    for name in ("nutrient", "foods", "food", "compare", "causes", "tips", "see-a-doctor", "about"):
        assert f"/{name}" in reply.text


async def test_autocomplete_suggests_nutrients_and_foods(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    nutrients = await driver.autocomplete("nutrient", "name", "b-12", user=server.member)
    assert "Vitamin B12" in [c["name"] for c in nutrients]
    nutrients = await driver.autocomplete("nutrient", "name", "", user=server.member)
    assert 1 <= len(nutrients) <= 25
    foods = await driver.autocomplete(
        "food", "name", "sweet potato", user=server.member, guild=server.guild
    )
    assert any("Sweet potato" in c["name"] for c in foods)


async def test_a_typo_still_finds_the_nutrient(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    reply = await driver.slash("nutrient", user=server.member, guild=server.guild, name="magnesum")
    assert_public_answer(reply)
    assert "Magnesium" in reply.embed["title"]


async def test_unknown_value_gets_a_short_private_hint(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    reply = await driver.slash("nutrient", user=server.member, guild=server.guild, name="vit k")
    assert reply.ephemeral, "only the member who asked sees the hint"
    assert "vit k" in reply.text and "Vitamin D" in reply.text  # what we do cover
    assert "Traceback" not in reply.text and len(reply.text) < 1000
    assert driver.messages_in(server.general) == []  # nothing public
