"""Every health answer, page by page: inside Discord's limits, short enough for a phone, and
carrying what a careful reader needs (the footer, its sources, the cautions and caveats)."""

from __future__ import annotations

import re

import discord
import pytest
from discord import app_commands

from cogs.facts import _answers as answers
from cogs.facts import _render as render
from content import load_content
from content.citations import cited_ids
from services.embeds import check_embed_limits

CONTENT = load_content()


def _answers() -> list[answers.Answer]:
    found = [
        answers.compare_answer(CONTENT),
        answers.causes_answer(CONTENT),
        answers.see_a_doctor_answer(CONTENT),
        answers.tips_answer(CONTENT),
    ]
    found += [answers.nutrient_answer(CONTENT, n) for n in CONTENT.nutrients]
    found += [answers.foods_answer(CONTENT, n) for n in CONTENT.nutrients]
    found += [answers.food_answer(CONTENT, f) for f in CONTENT.foods]
    return found


ANSWERS = _answers()
PAGES = [(f"{a.kind} {a.subject} {p.key}", a, p) for a in ANSWERS for p in a.pages]


def text_of(embed: discord.Embed) -> str:
    parts = [embed.title, embed.description, *(t for f in embed.fields for t in (f.name, f.value))]
    return "\n".join(p for p in parts if p)


def sources_of(answer: answers.Answer) -> str:
    """Everything the answer shows as its sources: a Sources page or field."""
    texts = [p.embed.description or "" for p in answer.pages if p.key == "sources"]
    texts += [f.value for p in answer.pages for f in p.embed.fields if f.name == "Sources"]
    return "\n".join(texts)


@pytest.mark.parametrize(("name", "answer", "page"), PAGES, ids=[n for n, _, _ in PAGES])
def test_every_page_fits_discord_and_a_phone_and_carries_the_footer(
    name: str, answer: answers.Answer, page: answers.Page
) -> None:
    check_embed_limits(page.embed)
    assert answers.visible_length(page.embed) <= answers.SCREEN, name
    assert CONTENT.disclaimer in page.embed.footer.text
    assert "/see-a-doctor" in page.embed.footer.text


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a.kind} {a.subject}" for a in ANSWERS])
def test_every_citation_on_a_page_is_resolved_in_the_answers_sources(
    answer: answers.Answer,
) -> None:
    if answer.kind == "tips":
        return  # tips name their sources next to each tip (checked below)
    sources = sources_of(answer)
    assert sources, "no sources"
    for page in answer.pages:
        if page.key == "sources":
            continue
        for source_id in cited_ids(text_of(page.embed)):
            assert f"**{source_id}**" in sources, (answer.kind, page.key, source_id)
    assert "[S17:" not in "".join(text_of(p.embed) for p in answer.pages), "page keys leak"


def test_a_page_key_resolves_to_the_page_that_backs_it() -> None:
    sources = sources_of(answers.nutrient_answer(CONTENT, CONTENT.nutrient("potassium")))
    assert "when-to-see-doctor" in sources and "low-potassium/basics/causes" in sources
    assert "night-leg-cramps" not in sources  # no Mayo page it doesn't cite


# --- /nutrient: the first screen answers the question; the rest is a click away -------------


@pytest.mark.parametrize("nutrient", CONTENT.nutrients, ids=[n.id for n in CONTENT.nutrients])
def test_nutrient_first_screen_says_what_for_how_much_and_where(nutrient) -> None:
    answer = answers.nutrient_answer(CONTENT, nutrient)
    assert [p.label for p in answer.pages] == [
        "Overview", "Intakes", "Foods", "Shortage", "Safety", "Sources",
    ]  # fmt: skip
    first = answer.pages[0].embed
    assert answers.visible_length(first) <= answers.FIRST_SCREEN
    assert first.title == nutrient.name and first.description  # what it is for
    names = [f.name for f in first.fields]
    assert "How much you need" in names and any(n.startswith("Where to get it") for n in names)
    where = next(f.value for f in first.fields if f.name.startswith("Where to get it"))
    assert where.count("• ") >= 3, "at least three foods on the first screen"
    need = next(f.value for f in first.fields if f.name == "How much you need")
    assert nutrient.upper_limit_summary, "every shipped nutrient has its upper limit in one line"
    assert f"**Upper limit** (adults): {answers.shown(nutrient.upper_limit_summary)}" in need
    for page in answer.pages:
        assert text_of(page.embed).count(f"Daily Value, {nutrient.daily_value}") <= 1, page.key
        assert "US label Daily Value" not in answers.shown(nutrient.intake)
    assert text_of(first).count(f"Daily Value, {nutrient.daily_value}") == 1
    intakes = text_of(answer.page("intakes").embed)
    assert answers.shown(nutrient.intake) in intakes
    safety = text_of(answer.page("safety").embed)
    assert answers.shown(nutrient.upper_limit) in safety


def test_magnesium_overview_lists_its_richest_foods() -> None:
    first = answers.nutrient_answer(CONTENT, CONTENT.nutrient("magnesium")).pages[0].embed
    assert "Pumpkin seeds, roasted, 1 oz (28.35 g): 156 mg, 37% DV" in text_of(first)


def test_magnesium_overview_gives_the_upper_limit_and_what_it_counts() -> None:
    """Someone about to buy magnesium pills sees the ceiling on the first screen, and that it
    is about supplements, not food."""
    first = answers.nutrient_answer(CONTENT, CONTENT.nutrient("magnesium")).pages[0].embed
    assert (
        "**Upper limit** (adults): 350 mg a day from supplements and medicines; "
        "food and water don't count [S8]."
    ) in text_of(first)


# --- potassium and the kidneys (every answer that shows potassium amounts) -----------------


def test_potassium_caution_reaches_every_answer_that_shows_potassium() -> None:
    caution = answers.shown(CONTENT.nutrient("potassium").caution or "")
    nutrient = answers.nutrient_answer(CONTENT, CONTENT.nutrient("potassium"))
    for key in ("overview", "foods", "safety"):
        assert caution in text_of(nutrient.page(key).embed), key
    foods = answers.foods_answer(CONTENT, CONTENT.nutrient("potassium"))
    assert caution in text_of(foods.pages[0].embed)
    for food_id in ("banana", "potato-baked", "dried-apricots", "spinach-boiled"):
        assert caution in text_of(
            answers.food_answer(CONTENT, CONTENT.food(food_id)).pages[0].embed
        )
    assert caution not in text_of(
        answers.food_answer(CONTENT, CONTENT.food("almonds")).pages[0].embed
    )


# --- caveats travel with their numbers -----------------------------------------------------


@pytest.mark.parametrize(("name", "answer", "page"), PAGES, ids=[n for n, _, _ in PAGES])
def test_a_number_with_a_caveat_is_never_shown_without_it(
    name: str, answer: answers.Answer, page: answers.Page
) -> None:
    text = text_of(page.embed)
    if "84.1 mcg" in text:
        assert "several times the Daily Value" in text and "much lower" in text
    if "2,944% DV" in text:
        assert "arithmetic, not a target" in text
    if "Daily Value, 4,700 mg" in text:
        assert "older 2005 adult intake" in text


# --- names say what the number is for ------------------------------------------------------


def test_a_broad_name_shows_which_form_the_figures_are_for() -> None:
    apricot = answers.food_answer(CONTENT, CONTENT.food("dried-apricots")).pages[0].embed
    assert apricot.title == "Apricots, dried"
    assert "dried apricots" in apricot.description and "Fresh apricots" in apricot.description
    milk = answers.food_answer(CONTENT, CONTENT.food("milk-2")).pages[0].embed
    assert "US, fortified" in milk.title and "check the label" in milk.description


# --- /compare states no article-only claim as fact -----------------------------------------


def test_compare_labels_the_articles_words_and_cites_the_signs() -> None:
    table = answers.compare_answer(CONTENT).pages[0].embed
    for field in table.fields[:5]:
        assert "**Role, as the article puts it:**" in field.value
        assert "**Best sources, as the article puts it:**" in field.value
        signs = field.value.split("**Signs of a shortage:**")[1].split("\n")[0]
        assert re.search(r"\[S\d", signs), field.name


# --- tips: readable sources, honest headings -----------------------------------------------


def test_tips_show_their_sources_as_linked_names_never_raw_tags() -> None:
    tips = answers.tips_answer(CONTENT)
    assert [p.key for p in tips.pages] == ["all", *(t.id for t in CONTENT.tip_topics)]
    for page in tips.pages:
        text = text_of(page.embed)
        assert not re.search(r"\[S\d+\w*(:[a-z-]+)?[,\]]|\[A1\]", text), page.key
        assert "](http" in text
    stretching = text_of(tips.page("stretching").embed)
    assert "[Mayo Clinic](http://newsnetwork.mayoclinic.org/" in stretching
    assert "Steady's base article" in text_of(tips.page("stress").embed)


def test_no_heading_promises_calmer_twitching_over_cramp_tips() -> None:
    tips = answers.tips_answer(CONTENT)
    assert "twitch" not in (tips.pages[0].embed.title or "").lower()
    stretching = tips.page("stretching").embed
    assert stretching.title == "Tips: Stretching for night cramps"
    assert tips.page("stretching").label == "Stretching"


def test_readable_drops_the_tags_and_names_the_pages() -> None:
    text = "Stretch before bed [S17:leg-cramps]. Rest [S30]."
    shown = CONTENT.readable(text)
    assert shown.startswith("Stretch before bed. Rest. *([Mayo Clinic](http")
    assert "[NHS](https://" in shown


# --- pages and lengths -----------------------------------------------------------------------


def test_visible_length_counts_a_link_as_its_label() -> None:
    embed = discord.Embed(title="t", description="[Mayo](https://example.org/a/very/long/path)")
    assert answers.visible_length(embed) == len("t") + len("Mayo")
    assert len(embed) > answers.visible_length(embed)


def test_long_answers_are_split_and_short_ones_are_not() -> None:
    assert len(answers.food_answer(CONTENT, CONTENT.food("banana")).pages) == 1
    causes = answers.causes_answer(CONTENT)
    assert len(causes.pages) >= 2 and causes.pages[-1].key == "sources"
    shown = "\n".join(text_of(p.embed) for p in causes.pages)
    for section in CONTENT.causes.sections:
        assert section.title in shown  # nothing is lost between the pages
    foods = answers.foods_answer(CONTENT, CONTENT.nutrient("vitamin-d"))
    listed = "\n".join(text_of(p.embed) for p in foods.pages)
    for food, _ in CONTENT.foods_for("vitamin-d"):
        assert f"**{food.name}**" in listed


# --- /about and /help --------------------------------------------------------------------------


def test_about_fits_and_says_what_is_kept() -> None:
    embed = render.render_about(CONTENT, "1.2.3")
    check_embed_limits(embed)
    text = " ".join(f.value for f in embed.fields)
    assert "/privacy export" in text and "/privacy delete" in text
    assert "message content" in text and "1.2.3" in text and CONTENT.disclaimer in text


def test_food_amount_formats() -> None:
    embed = answers.food_answer(CONTENT, CONTENT.food("cod-liver-oil")).pages[0].embed
    assert "1,360 IU (34.0 mcg), 170% DV" in embed.description
    clams = answers.food_answer(CONTENT, CONTENT.food("clams")).pages[0].embed
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


def test_a_long_list_spreads_over_pages_without_losing_a_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(answers, "SCREEN", 900)  # a small screen: many pages
    foods = answers.foods_answer(CONTENT, CONTENT.nutrient("magnesium"))
    lists = [p for p in foods.pages if p.key != "sources"]
    assert len(lists) >= 3 and [p.label for p in lists][1] == "More (2)"
    for page in lists:
        assert answers.visible_length(page.embed) <= 900, page.key
    listed = "\n".join(p.embed.description or "" for p in lists)
    for food, _ in CONTENT.foods_for("magnesium"):
        assert f"**{food.name}**" in listed
