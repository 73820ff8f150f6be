"""Issue 19, read as a dietitian and a GP would: what reaches the member says what the sources
say, with their conditions, for every age Discord allows, and never more than they say.

One section per point of the issue. Where the rule is general, the schema holds it (its
broken copies are in ``test_content.py``); these tests check what the member is shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest

from cogs.facts import Facts
from cogs.facts import _answers as answers
from content import load_content
from services.engine.messages import daily_tip_payload, reminder_embed
from services.engine.sender import Occurrence

CONTENT = load_content()


def text_of(embed: discord.Embed) -> str:
    parts = [embed.title, embed.description, *(t for f in embed.fields for t in (f.name, f.value))]
    return "\n".join(p for p in parts if p)


def _all_pages() -> list[tuple[str, answers.Page]]:
    found = [answers.compare_answer(CONTENT), answers.causes_answer(CONTENT)]
    found += [answers.nutrient_answer(CONTENT, n) for n in CONTENT.nutrients]
    found += [answers.foods_answer(CONTENT, n) for n in CONTENT.nutrients]
    found += [answers.food_answer(CONTENT, f) for f in CONTENT.foods]
    return [(f"{a.kind} {a.subject} {p.key}", p) for a in found for p in a.pages]


PAGES = _all_pages()


# --- 1. liver and cod liver oil: vitamin A, wherever the food is named ----------------------


def test_liver_and_cod_liver_oil_carry_the_vitamin_a_and_pregnancy_caution() -> None:
    for food_id, figure in (("beef-liver", "6,582 mcg RAE"), ("cod-liver-oil", "4,080 mcg RAE")):
        food = CONTENT.food(food_id)
        assert food.caution and "Vitamin A" in food.caution and "pregnancy" in food.caution
        assert "S32" in food.sources and "S33" in food.sources
        page = answers.food_answer(CONTENT, food).pages[0].embed
        caution = next(f.value for f in page.fields if "Caution" in f.name)
        assert figure in caution and "3,000 mcg for adults" in caution
        assert "1,700 mcg at 9–13" in caution and "NHS" in caution and "pregnant" in caution


@pytest.mark.parametrize(("name", "page"), PAGES, ids=[n for n, _ in PAGES])
def test_a_food_with_a_caution_is_never_named_without_it(name: str, page: answers.Page) -> None:
    cautioned = [f for f in CONTENT.foods if getattr(f, "caution", None)]
    assert {f.id for f in cautioned} >= {"beef-liver", "cod-liver-oil"}
    text = text_of(page.embed)
    for food in cautioned:
        if food.name in text:
            assert answers.shown(food.caution or "") in text, (name, food.id)


def test_the_caution_shares_the_line_of_the_food_it_qualifies() -> None:
    """A list split over pages must never leave the caution behind its food."""
    for nutrient_id in ("vitamin-d", "vitamin-b6", "vitamin-b12", "folate"):
        listed = "\n".join(
            p.embed.description or ""
            for p in answers.foods_answer(CONTENT, CONTENT.nutrient(nutrient_id)).pages
        )
        assert re.search(r"\*\*(Beef liver|Cod liver oil)[^\n]*\n⚠️ Vitamin A", listed)


def test_a_compare_row_that_names_liver_carries_its_caution() -> None:
    row = CONTENT.compare.rows[-1].model_copy(update={"best_sources": "Liver, eggs and dairy"})
    compare = CONTENT.compare.model_copy(update={"rows": (*CONTENT.compare.rows[:-1], row)})
    edited = CONTENT.model_copy(update={"compare": compare})
    [*_, b_vitamins] = answers.compare_answer(edited).pages[0].embed.fields
    assert answers.shown(CONTENT.food("beef-liver").caution or "") in b_vitamins.value


# --- 2. /see-a-doctor: get help now, as the reference says -----------------------------------


def _get_help_now() -> str:
    page = answers.see_a_doctor_answer(CONTENT).pages[0].embed
    return next(f.value for f in page.fields if f.name.startswith("Get medical help"))


def test_get_help_now_matches_the_reference_and_interprets_nothing() -> None:
    urgent = _get_help_now()
    heart = next(line for line in urgent.split("\n") if "heartbeat" in line)
    # Either sign with suspected low potassium, not both, and not "and also weak or tired".
    assert "irregular or your blood pressure is low" in heart and "potassium" in heart
    assert "weak" not in heart
    assert "paralysis" in urgent and "breathing" in urgent and "seizure" in urgent
    assert not re.search(r"can mean|could mean|together these|a sign of", urgent)


# --- 3. the sources' conditions kept --------------------------------------------------------


def test_potassium_and_calcium_advice_keeps_its_conditions() -> None:
    potassium = CONTENT.nutrient("potassium")
    assert "excretion is impaired" in (potassium.caution or "")
    assert "excretion is impaired" in potassium.intake
    notes = potassium.notes or ""
    assert "are advised to eat less" not in notes
    for words in ("NSAIDs", "monitoring blood levels", "prescriber"):
        assert words in notes, words
    safety = text_of(
        answers.nutrient_answer(CONTENT, CONTENT.nutrient("calcium")).page("safety").embed
    )
    assert "4–6 h after" in safety and "Ask a pharmacist" in safety


# --- 4. the potassium caveat wherever potassium sources are named ---------------------------


def test_compare_rows_carry_the_cautions_of_their_nutrients() -> None:
    fields = answers.compare_answer(CONTENT).pages[0].embed.fields
    potassium = next(f.value for f in fields if f.name == "Potassium")
    assert "Bananas" in potassium
    assert answers.shown(CONTENT.nutrient("potassium").caution or "") in potassium
    assert "Kidney disease" not in next(f.value for f in fields if f.name == "Magnesium")


# --- 5. children 9–13, and caffeine advice for teens on every caffeine reminder -------------


@pytest.mark.parametrize(
    ("nutrient_id", "field", "figures"),
    [
        ("magnesium", "intake", ["Children 9–13: 240 mg"]),
        ("potassium", "intake", ["children 9–13: boys 2,500 mg, girls 2,300 mg"]),
        ("vitamin-b6", "intake", ["Children 9–13: 1.0 mg"]),
        ("vitamin-b12", "intake", ["Children 9–13: 1.8 mcg"]),
        ("folate", "intake", ["Children 9–13: 300 mcg DFE"]),
        ("vitamin-b6", "upper_limit", ["60 mg for children 9–13"]),
        ("folate", "upper_limit", ["600 mcg for children 9–13"]),
    ],
)
def test_children_9_to_13_get_their_own_figures(
    nutrient_id: str, field: str, figures: list[str]
) -> None:
    answer = answers.nutrient_answer(CONTENT, CONTENT.nutrient(nutrient_id))
    page = answer.page("intakes" if field == "intake" else "safety")
    for figure in figures:
        assert figure in text_of(page.embed), figure


def test_the_water_tip_gives_the_9_to_13_intakes() -> None:
    scale = next(t for t in CONTENT.tip_topic("hydration").tips if t.id == "hydration-scale")
    assert "2.4 L for boys and 2.1 L for girls aged 9–13" in scale.text


def _occurrence(kind: str, delivery_id: int) -> Occurrence:
    return Occurrence(
        delivery_id=delivery_id,
        nonce=f"s1.{delivery_id}",
        kind=kind,
        source="schedule",
        user_id=42,
        guild_id=7,
        subscription_id=1,
        scheduled_at=datetime(2024, 6, 3, 10, 0, tzinfo=UTC),
        via="dm",
    )


def test_every_caffeine_reminder_carries_the_advice_for_teens_once() -> None:
    tips = len(CONTENT.tip_topic("stimulants").tips)
    for delivery_id in range(1, 4 * tips):
        embed = reminder_embed(CONTENT, _occurrence("caffeine", delivery_id))
        [tip] = embed.fields
        assert tip.value.count("American Academy of Pediatrics") == 1, delivery_id
        assert "Under 18?" in tip.value and len(tip.value) <= 1024
    for position in range(len(CONTENT.all_tips())):
        posted = daily_tip_payload(CONTENT, position, guild_id=0)["embeds"][0]
        if "Caffeine" in posted["title"]:
            assert posted["description"].count("American Academy of Pediatrics") == 1


# --- 6. folate in mcg DFE, explained once ---------------------------------------------------


def test_folate_intakes_are_in_dfe_and_dfe_is_explained_once() -> None:
    answer = answers.nutrient_answer(CONTENT, CONTENT.nutrient("folate"))
    intakes = text_of(answer.page("intakes").embed)
    for figure in ("400 mcg DFE", "600 mcg DFE", "500 mcg DFE", "300 mcg DFE"):
        assert figure in intakes, figure
    assert not re.search(r"\d mcg[;,.]", intakes)
    everything = "\n".join(text_of(p.embed) for p in answer.pages)
    assert everything.count("dietary folate equivalents") == 1


# --- 7. the article's claims attributed; no title states the premise -----------------------


def test_no_title_or_command_description_states_the_articles_premise() -> None:
    premise = re.compile(r"twitch-related|for muscle twitching|for your muscles", re.IGNORECASE)
    for command in Facts.__cog_app_commands__:
        assert not premise.search(command.description), command.name
    title = answers.compare_answer(CONTENT).pages[0].embed.title or ""
    assert "article" in title and not premise.search(title)


def test_claims_beyond_the_sources_are_attributed_or_gone() -> None:
    electrolytes = next(s for s in CONTENT.causes.sections if s.id == "electrolytes").text
    first = re.split(r"(?<=\.)\s+", electrolytes)[0]
    assert "article" in first, first
    sleep = " ".join(CONTENT.reminder_messages("sleep"))
    assert "recovery" not in sleep and "calmer" not in sleep
    tips = " ".join(text for _, text in CONTENT.all_tips())
    assert "catching up" not in tips and "tension building" not in tips


# --- 8. the small ones -----------------------------------------------------------------------


def test_broccoli_serving_reads_as_the_reference_gives_it() -> None:
    assert CONTENT.food("broccoli-boiled").serving == "1/2 cup (78 g)"
