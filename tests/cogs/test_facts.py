"""The fact command handlers, called directly with strict fakes (``spec_set``)."""

from __future__ import annotations

import re
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from cogs.facts import Facts, PageButton, setup
from cogs.facts._views import OUT_OF_DATE
from content import load_content
from domain.errors import UserFacingError

CONTENT = load_content()
NAME_RE = re.compile(r"^[-_\w]{1,32}$")


@pytest.fixture
def bot() -> MagicMock:
    fake = MagicMock(spec_set=["content", "tree"])
    fake.content = CONTENT
    fake.tree = MagicMock(spec_set=app_commands.CommandTree)
    return fake


@pytest.fixture
def cog(bot: MagicMock) -> Facts:
    return Facts(bot)


@pytest.fixture
def interaction() -> MagicMock:
    fake = MagicMock(spec_set=discord.Interaction)
    fake.response = AsyncMock(spec_set=discord.InteractionResponse)
    return fake


def sent_embed(interaction: MagicMock) -> discord.Embed:
    interaction.response.send_message.assert_awaited_once()
    return interaction.response.send_message.await_args.kwargs["embed"]


def assert_health_answer(embed: discord.Embed) -> None:
    assert CONTENT.disclaimer in embed.footer.text
    assert "/see-a-doctor" in embed.footer.text


@pytest.mark.parametrize(
    ("typed", "title"),
    [("mg", "Magnesium"), ("Vit D", "Vitamin D"), ("b-12", "Vitamin B12"), ("potas", "Potassium")],
)
async def test_nutrient_matches_what_people_type(
    cog: Facts, interaction: MagicMock, typed: str, title: str
) -> None:
    await Facts.nutrient.callback(cog, interaction, name=typed)
    embed = sent_embed(interaction)
    assert embed.title == title
    assert any(f.name == "How much you need" for f in embed.fields)
    assert_health_answer(embed)
    view = interaction.response.send_message.await_args.kwargs["view"]
    labels = [item.item.label for item in view.children]
    assert labels == ["Overview", "Intakes", "Foods", "Shortage", "Safety", "Sources"]
    assert view.timeout is None and view.children[0].item.disabled


async def test_nutrient_unknown_gets_closest_matches(cog: Facts, interaction: MagicMock) -> None:
    with pytest.raises(UserFacingError, match=r"“vitamin”\. Did you mean .*Vitamin B12"):
        await Facts.nutrient.callback(cog, interaction, name="vitamin")
    interaction.response.send_message.assert_not_awaited()


@pytest.mark.parametrize("typed", ["omega 3", "Omega-3", "zinc 3", "vitamin k2", "b1"])
async def test_nutrient_we_have_no_page_for_lists_what_we_cover(
    cog: Facts, interaction: MagicMock, typed: str
) -> None:
    """ "omega 3" once answered with the Vitamin D page (the "3" of "vitamin d 3")."""
    covered = (
        "Magnesium, Calcium, Potassium, Vitamin D, Vitamin B6, Vitamin B12, and Folate (vitamin B9)"
    )
    for call in (
        lambda: Facts.nutrient.callback(cog, interaction, name=typed),
        lambda: Facts.foods.callback(cog, interaction, nutrient=typed),
    ):
        with pytest.raises(UserFacingError) as raised:
            await call()
        assert str(raised.value) == (
            f"I have no page for “{typed}”. The nutrients I cover: {covered}."
        )
    interaction.response.send_message.assert_not_awaited()


async def test_a_group_asks_to_pick_a_member(cog: Facts, interaction: MagicMock) -> None:
    with pytest.raises(UserFacingError, match=r"Vitamin B6, Vitamin B12, and Folate"):
        await Facts.nutrient.callback(cog, interaction, name="B vitamins")


@pytest.mark.parametrize(
    "hostile",
    ["", "   ", "🍌", "x" * 5000, "'; DROP TABLE nutrients; --", "@everyone", "\x00\u202e", "**"],
)
async def test_odd_input_gets_a_polite_answer(
    cog: Facts, interaction: MagicMock, hostile: str
) -> None:
    for call in (
        lambda: Facts.nutrient.callback(cog, interaction, name=hostile),
        lambda: Facts.foods.callback(cog, interaction, nutrient=hostile),
        lambda: Facts.food.callback(cog, interaction, name=hostile),
    ):
        with pytest.raises(UserFacingError) as raised:
            await call()
        message = str(raised.value)
        assert len(message) < 300
        assert "@everyone" not in message  # mentions are escaped before echoing
        assert "\x00" not in message and "\u202e" not in message


async def test_foods_lists_amounts_with_dv(cog: Facts, interaction: MagicMock) -> None:
    await Facts.foods.callback(cog, interaction, nutrient="potassium")
    embed = sent_embed(interaction)
    assert "**Potato, baked, with skin**, 1 medium (173 g): 926 mg, 20% DV" in embed.description
    assert "Kidney disease" in embed.fields[0].value
    assert_health_answer(embed)


async def test_food_reverse_lookup(cog: Facts, interaction: MagicMock) -> None:
    await Facts.food.callback(cog, interaction, name="sweet potato")
    embed = sent_embed(interaction)
    assert embed.title == "Sweet potato, baked in skin"
    assert "**Potassium**: 542 mg, 12% DV" in embed.description
    assert_health_answer(embed)
    # A one-screen answer has its sources in a field and no page buttons.
    assert "view" not in interaction.response.send_message.await_args.kwargs


async def test_food_unknown(cog: Facts, interaction: MagicMock) -> None:
    with pytest.raises(UserFacingError, match="Did you mean Chia seeds; .*Sesame seeds"):
        await Facts.food.callback(cog, interaction, name="seeds")


@pytest.mark.parametrize(
    ("typed", "group", "a_member"),
    [
        ("fish", "fish", "Sardines, canned in oil, with bones"),
        ("Dairy", "dairy", "Yogurt, plain, low-fat"),  # the article's "best sources" words
        ("leafy greens", "leafy greens", "Kale, raw"),
        ("beans", "beans and lentils", "Black beans, boiled"),
    ],
)
async def test_food_given_a_kind_of_food_lists_the_ones_we_have(
    cog: Facts, interaction: MagicMock, typed: str, group: str, a_member: str
) -> None:
    with pytest.raises(UserFacingError) as raised:
        await Facts.food.callback(cog, interaction, name=typed)
    text = str(raised.value)
    assert text.startswith(f"I have figures for several kinds of {group}: ")
    assert a_member in text and text.endswith(
        "Pick one (they are in the list as you type `/food`)."
    )
    choices = await cog.food_name_autocomplete(interaction, typed)
    assert a_member in [c.name for c in choices], "the autocomplete offers the group's foods"
    assert all(CONTENT.food(c.value) for c in choices)  # foods only, never the group itself


@pytest.mark.parametrize(
    ("typed", "name", "key"),
    [
        ("calcium", "Calcium", "calcium"),
        ("Vit D", "Vitamin D", "vitamin d"),
        ("folate", "Folate (vitamin B9)", "folate"),
    ],
)
async def test_food_given_a_nutrient_points_to_foods_for_it(
    cog: Facts, interaction: MagicMock, typed: str, name: str, key: str
) -> None:
    """ "/food calcium" wants calcium-rich foods, not the fortified orange juice whose name
    mentions calcium."""
    with pytest.raises(UserFacingError) as raised:
        await Facts.food.callback(cog, interaction, name=typed)
    assert str(raised.value) == (
        f"{name} is a nutrient: `/foods {key}` lists the foods rich in it, and `/nutrient {key}` "
        "explains it. `/food` takes a food, like banana or spinach."
    )
    await Facts.foods.callback(cog, interaction, nutrient=key)  # the command it names works
    assert name in sent_embed(interaction).title


@pytest.mark.parametrize("typed", ["qqqq", "kiwi", "coffee"])
async def test_food_we_have_no_figures_for_points_to_browsing(
    cog: Facts, interaction: MagicMock, typed: str
) -> None:
    """Not the first foods of the alphabet: we say we have none and how to browse ours."""
    with pytest.raises(UserFacingError) as raised:
        await Facts.food.callback(cog, interaction, name=typed)
    assert str(raised.value) == (
        f"I have no figures for “{typed}”. To browse the foods I do have, use `/foods` with a "
        "nutrient (like `/foods magnesium`), or pick from the list as you type `/food`."
    )
    interaction.response.send_message.assert_not_awaited()


@pytest.mark.parametrize(
    ("command", "title_part"),
    [
        (Facts.compare, "side by side"),
        (Facts.causes, "twitch"),
        (Facts.see_a_doctor, "doctor"),
    ],
)
async def test_page_commands(
    cog: Facts, interaction: MagicMock, command: app_commands.Command, title_part: str
) -> None:
    await command.callback(cog, interaction)
    embed = sent_embed(interaction)
    assert title_part in embed.title
    assert_health_answer(embed)


async def test_compare_has_the_articles_five_rows(cog: Facts, interaction: MagicMock) -> None:
    await Facts.compare.callback(cog, interaction)
    names = [f.name for f in sent_embed(interaction).fields]
    assert names[:5] == ["Magnesium", "Potassium", "Calcium", "Vitamin D", "B vitamins"]


@pytest.mark.parametrize(
    "topic", [None, "hydration", "stress", "sleep", "stimulants", "stretching"]
)
async def test_tips(cog: Facts, interaction: MagicMock, topic: str | None) -> None:
    await Facts.tips.callback(cog, interaction, topic=topic)
    embed = sent_embed(interaction)
    assert_health_answer(embed)
    if topic:
        assert embed.title == f"Tips: {CONTENT.tip_topic(topic).name}"
    view = interaction.response.send_message.await_args.kwargs["view"]
    current = [item.item.custom_id for item in view.children if item.item.disabled]
    assert current == [f"steady:f:tips::{topic or 'all'}"]


async def test_tips_unknown_topic(cog: Facts, interaction: MagicMock) -> None:
    with pytest.raises(UserFacingError, match="pick a topic"):
        await Facts.tips.callback(cog, interaction, topic="naps")


async def test_about(cog: Facts, interaction: MagicMock) -> None:
    await Facts.about.callback(cog, interaction)
    embed = sent_embed(interaction)
    assert embed.title == "About Steady"
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


async def test_help_reads_the_live_tree(cog: Facts, interaction: MagicMock, bot) -> None:
    config = app_commands.Group(name="config", description="Server settings")

    @config.command(name="show", description="Current settings")
    async def show(interaction: discord.Interaction) -> None:
        """Not called."""

    bot.tree.get_commands.return_value = [*Facts.__cog_app_commands__, config]
    await Facts.help.callback(cog, interaction)
    embed = sent_embed(interaction)
    for name in ("nutrient", "foods", "food", "compare", "causes", "tips", "see-a-doctor"):
        assert f"`/{name}`" in embed.description
    assert "`/config show` Current settings" in embed.description


async def test_help_with_a_real_tree() -> None:
    real = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.none())
    real.content = CONTENT  # type: ignore[attr-defined]
    await setup(real)
    names = {c.name for c in real.tree.get_commands()}
    assert names == {
        "nutrient", "foods", "food", "compare", "causes", "tips", "see-a-doctor", "about", "help",
    }  # fmt: skip
    interaction = MagicMock(spec_set=discord.Interaction)
    interaction.response = AsyncMock(spec_set=discord.InteractionResponse)
    await Facts.help.callback(real.get_cog("Facts"), interaction)
    assert sent_embed(interaction).description.count("\n") == 8


# --- autocomplete ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "first"),
    [("mg", "magnesium"), ("Vit D", "vitamin-d"), ("b-12", "vitamin-b12"), ("potas", "potassium")],
)
async def test_nutrient_autocomplete(
    cog: Facts, interaction: MagicMock, typed: str, first: str
) -> None:
    for complete in (cog.nutrient_name_autocomplete, cog.foods_nutrient_autocomplete):
        choices = await complete(interaction, typed)
        assert choices[0].value == first


@pytest.mark.parametrize("typed", ["omega 3", "omega-3", "zinc 3", "3"])
async def test_nutrient_autocomplete_offers_nothing_we_do_not_cover(
    cog: Facts, interaction: MagicMock, typed: str
) -> None:
    for complete in (cog.nutrient_name_autocomplete, cog.foods_nutrient_autocomplete):
        assert await complete(interaction, typed) == []


async def test_group_autocomplete_offers_its_members(cog: Facts, interaction: MagicMock) -> None:
    choices = await cog.nutrient_name_autocomplete(interaction, "b vitamins")
    assert [c.value for c in choices[:3]] == ["vitamin-b6", "vitamin-b12", "folate"]


async def test_nutrient_autocomplete_before_typing_lists_every_nutrient_in_content_order(
    cog: Facts, interaction: MagicMock
) -> None:
    """An empty box shows the nutrients as every answer lists them, magnesium first."""
    for complete in (cog.nutrient_name_autocomplete, cog.foods_nutrient_autocomplete):
        choices = await complete(interaction, "")
        assert [c.value for c in choices] == [n.id for n in CONTENT.nutrients]
        assert choices[0].name == "Magnesium"


@pytest.mark.parametrize(
    "typed", ["", "mg", "Vit D", "b-12", "potas", "sweet potato", "🍌", "x" * 5000, "'; DROP TABLE"]
)
async def test_autocomplete_is_always_within_limits(
    cog: Facts, interaction: MagicMock, typed: str
) -> None:
    for complete in (cog.nutrient_name_autocomplete, cog.food_name_autocomplete):
        choices = await complete(interaction, typed)
        assert len(choices) <= 25
        for choice in choices:
            assert 1 <= len(choice.name) <= 100 and 1 <= len(choice.value) <= 100


async def test_food_autocomplete(cog: Facts, interaction: MagicMock) -> None:
    assert (await cog.food_name_autocomplete(interaction, "sweet potato"))[
        0
    ].value == "sweet-potato"
    before_typing = [c.name for c in await cog.food_name_autocomplete(interaction, "")]
    assert len(before_typing) == 25 and before_typing == sorted(before_typing, key=str.casefold)
    assert await cog.food_name_autocomplete(interaction, "🍌") == []


# --- command metadata -------------------------------------------------------------------------


def test_commands_are_valid_and_usable_in_dms() -> None:
    for command in Facts.__cog_app_commands__:
        assert NAME_RE.match(command.name) and command.name == command.name.lower()
        assert 1 <= len(command.description) <= 100
        assert command.allowed_contexts.dm_channel and command.allowed_contexts.guild
        assert command.allowed_installs.guild and not command.allowed_installs.user
        for parameter in command.parameters:
            assert parameter.description and len(parameter.description) <= 100
    options = {c.name: c.parameters for c in Facts.__cog_app_commands__}
    assert [p.autocomplete for p in options["nutrient"]] == [True]
    assert options["tips"][0].required is False and len(options["tips"][0].choices) == 5


async def test_setup_adds_the_cog_and_its_page_buttons() -> None:
    fake = MagicMock(spec_set=commands.Bot)
    fake.add_cog = AsyncMock()
    await setup(fake)
    assert isinstance(fake.add_cog.await_args.args[0], Facts)
    fake.add_dynamic_items.assert_called_once_with(PageButton)


# --- page buttons ------------------------------------------------------------------------------


def clicked(
    custom_id: str, clicker: int, asker: int | None, *, ephemeral: bool = False
) -> MagicMock:
    """A click on ``custom_id`` by ``clicker`` on an answer that ``asker`` asked for."""
    fake = MagicMock(spec_set=discord.Interaction)
    fake.response = AsyncMock(spec_set=discord.InteractionResponse)
    fake.client = MagicMock(spec_set=["content"])
    fake.client.content = CONTENT
    fake.user.id = clicker
    fake.data = {"custom_id": custom_id}
    fake.message = MagicMock(spec_set=discord.Message)
    fake.message.flags.ephemeral = ephemeral
    if asker is None:
        fake.message.interaction_metadata = None
    else:
        fake.message.interaction_metadata.user.id = asker
    return fake


async def click(custom_id: str, clicker: int, asker: int, *, ephemeral: bool = False):
    """Click as discord.py does after a restart: rebuild the button from its custom_id."""
    interaction = clicked(custom_id, clicker, asker, ephemeral=ephemeral)
    interaction.response.is_done.return_value = False
    match = PageButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None, custom_id
    item = discord.ui.Button(custom_id=custom_id)
    button = await PageButton.from_custom_id(interaction, item, match)
    await button.callback(interaction)
    return interaction


async def test_the_asker_turns_the_page_in_place() -> None:
    interaction = await click("steady:f:nutrient:potassium:safety", clicker=7, asker=7)
    interaction.response.edit_message.assert_awaited_once()
    kwargs = interaction.response.edit_message.await_args.kwargs
    assert kwargs["embed"].title == "Potassium: safety"
    assert any(f.name == "Upper limit (UL)" for f in kwargs["embed"].fields)
    assert_health_answer(kwargs["embed"])
    disabled = [i.item.label for i in kwargs["view"].children if i.item.disabled]
    assert disabled == ["Safety"]
    interaction.response.send_message.assert_not_awaited()


async def test_someone_else_gets_the_page_privately() -> None:
    interaction = await click("steady:f:causes::sources", clicker=8, asker=7)
    interaction.response.edit_message.assert_not_awaited()
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["embed"].title.endswith("sources")
    # ... and in that private copy, they turn the pages themselves.
    private = await click("steady:f:causes::part-1", clicker=8, asker=7, ephemeral=True)
    private.response.edit_message.assert_awaited_once()


async def test_a_page_that_no_longer_exists_is_answered_not_crashed() -> None:
    for custom_id in ("steady:f:nutrient:zinc:overview", "steady:f:nutrient:magnesium:naps"):
        interaction = await click(custom_id, clicker=7, asker=7)
        kwargs = interaction.response.send_message.await_args.kwargs
        assert kwargs["ephemeral"] is True
        assert interaction.response.send_message.await_args.args[0] == OUT_OF_DATE


def test_page_button_ids_are_short_and_only_match_known_answers() -> None:
    template = PageButton.__discord_ui_compiled_template__
    assert template.fullmatch("steady:f:foods:vitamin-b12:list-2")
    assert template.fullmatch("steady:f:tips::stretching")
    assert template.fullmatch("steady:f:remind:x:y") is None
    assert template.fullmatch("steady:r:done:12") is None
    longest = max(
        (f"steady:f:{kind}:{n.id}:overview" for n in CONTENT.nutrients for kind in ("foods",)),
        key=len,
    )
    assert len(longest) <= 100  # Discord's custom_id limit
