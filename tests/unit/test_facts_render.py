"""Every rendered answer for every content entry stays inside Discord's limits."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from bot.embeds import check_embed_limits
from cogs.facts import _render as render
from content import load_content
from content.citations import cited_ids

CONTENT = load_content()


def _health_embeds() -> list[tuple[str, discord.Embed]]:
    embeds = [
        ("compare", render.render_compare(CONTENT)),
        ("causes", render.render_causes(CONTENT)),
        ("see-a-doctor", render.render_see_a_doctor(CONTENT)),
        ("tips", render.render_tips(CONTENT)),
    ]
    embeds += [(f"tips {t.id}", render.render_tips(CONTENT, t.id)) for t in CONTENT.tip_topics]
    embeds += [(f"nutrient {n.id}", render.render_nutrient(CONTENT, n)) for n in CONTENT.nutrients]
    embeds += [(f"foods {n.id}", render.render_foods(CONTENT, n)) for n in CONTENT.nutrients]
    embeds += [(f"food {f.id}", render.render_food(CONTENT, f)) for f in CONTENT.foods]
    return embeds


HEALTH = _health_embeds()


@pytest.mark.parametrize(("name", "embed"), HEALTH, ids=[n for n, _ in HEALTH])
def test_health_answers_fit_and_carry_the_disclaimer(name: str, embed: discord.Embed) -> None:
    check_embed_limits(embed)
    assert CONTENT.disclaimer in embed.footer.text
    assert "/see-a-doctor" in embed.footer.text
    assert any(f.name.startswith("Sources") for f in embed.fields), name


@pytest.mark.parametrize(("name", "embed"), HEALTH, ids=[n for n, _ in HEALTH])
def test_every_inline_citation_is_resolved(name: str, embed: discord.Embed) -> None:
    texts = [embed.description or "", *(f.value for f in embed.fields)]
    cited = cited_ids(*texts)
    sources = "\n".join(f.value for f in embed.fields if f.name.startswith("Sources"))
    for source_id in cited:
        assert f"**{source_id}**" in sources or "more in /about" in sources, (name, source_id)


def test_about_fits_and_says_what_is_kept() -> None:
    embed = render.render_about(CONTENT, "1.2.3")
    check_embed_limits(embed)
    text = " ".join(f.value for f in embed.fields)
    assert "/privacy export" in text and "/privacy delete" in text
    assert "message content" in text and "1.2.3" in text and CONTENT.disclaimer in text


def test_nutrient_embed_has_every_section() -> None:
    embed = render.render_nutrient(CONTENT, CONTENT.nutrient("magnesium"))
    assert embed.title == "Magnesium"
    names = [f.name for f in embed.fields]
    for wanted in ("Role", "Signs of deficiency", "Best food sources", "Daily intake", "Upper"):
        assert any(n.startswith(wanted) for n in names), wanted
    foods = next(f.value for f in embed.fields if f.name.startswith("Best food"))
    assert "Pumpkin seeds, roasted, 1 oz (28.35 g): 156 mg, 37% DV" in foods


def test_food_amount_formats() -> None:
    embed = render.render_food(CONTENT, CONTENT.food("cod-liver-oil"))
    assert "1,360 IU (34.0 mcg), 170% DV" in embed.description
    clams = render.render_food(CONTENT, CONTENT.food("clams"))
    assert "84.1 mcg" in clams.description and "% DV" not in clams.description


def _command(name: str, description: str) -> app_commands.Command:
    async def callback(interaction: discord.Interaction) -> None:
        """Not called."""

    return app_commands.Command(name=name, description=description, callback=callback)


def test_help_lists_commands_and_group_subcommands() -> None:
    remind = app_commands.Group(name="remind", description="Reminders")
    remind.add_command(_command("start", "Subscribe to a reminder"))
    lines = render.help_lines([_command("nutrient", "About a nutrient"), remind])
    assert lines == ["`/nutrient` About a nutrient", "`/remind start` Subscribe to a reminder"]


def test_help_spills_into_fields_and_stays_within_limits() -> None:
    lines = [f"`/command-{i:03}` " + "d" * 90 for i in range(120)]
    embed = render.render_help(lines)
    check_embed_limits(embed)
    assert embed.fields  # did not fit the description alone
    assert render.render_help([]).description
