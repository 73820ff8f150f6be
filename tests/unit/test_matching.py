"""Forgiving look-up: aliases, case, spacing, hyphens, typos; odd input never raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content import load_content
from content.matching import Candidate, find, normalise, suggest

CONTENT = load_content()
NUTRIENTS = CONTENT.nutrient_candidates()
FOODS = CONTENT.food_candidates()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mg", "magnesium"),
        ("MG", "magnesium"),
        ("Vit D", "vitamin-d"),
        ("vit. d3", "vitamin-d"),
        ("cholecalciferol", "vitamin-d"),
        ("b-12", "vitamin-b12"),
        ("B 12", "vitamin-b12"),
        ("cobalamin", "vitamin-b12"),
        ("potas", "potassium"),
        ("magnesum", "magnesium"),
        ("  Calcium  ", "calcium"),
        ("folic acid", "folate"),
        ("b9", "folate"),
        ("pyridoxine", "vitamin-b6"),
        ("k", "potassium"),
        ("ｍｇ", "magnesium"),  # full-width letters fold by NFKC
        ("vitamin-b6", "vitamin-b6"),  # the id autocomplete sends back
        ("b vitamins", "b-vitamins"),
    ],
)
def test_nutrients_are_found(query: str, expected: str) -> None:
    match = find(query, NUTRIENTS)
    assert match is not None and match.candidate.id == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sweet potato", "sweet-potato"),
        ("Sweet Potatoes", "sweet-potato"),
        ("sweet-potato", "sweet-potato"),
        ("banana", "banana"),
        ("Bananas", "banana"),
        ("spinach", "spinach-boiled"),
        ("pumpkin sed", "pumpkin-seeds"),
        ("almnds", "almonds"),
    ],
)
def test_foods_are_found(query: str, expected: str) -> None:
    match = find(query, FOODS)
    assert match is not None and match.candidate.id == expected


@pytest.mark.parametrize("query", ["", "   ", "🍌", "zinc", "'; DROP TABLE foods; --", "x" * 5000])
def test_unknown_or_odd_input_is_not_found(query: str) -> None:
    assert find(query, NUTRIENTS) is None


@pytest.mark.parametrize("query", ["sodium", "chloride", "caffeine", "calories"])
def test_a_short_alias_inside_another_word_is_not_a_match(query: str) -> None:
    """ "d" (vitamin D) is in "sodium", "ca" (calcium) in "caffeine": those are other things
    people ask about, not a typo of the nutrient, so the answer is "I don't know"."""
    assert find(query, NUTRIENTS) is None


@pytest.mark.parametrize(
    "query", ["omega 3", "Omega-3", "zinc 3", "vitamin k2", "vit k", "vitamin c", "b1", "b3"]
)
def test_a_shared_number_or_letter_is_not_a_match(query: str) -> None:
    """ "omega 3" shares only the "3" of "vitamin d 3", "b1" only the start of "b 12": other
    things we have no page for, so neither a look-up nor a suggestion names one of ours."""
    assert find(query, NUTRIENTS) is None
    assert suggest(query, NUTRIENTS, typing=False) == []


@pytest.mark.parametrize("query", ["omega 3", "zinc 3", "3", "12", "vitamin k", "vitamin e"])
def test_autocomplete_offers_nothing_for_what_we_do_not_cover(query: str) -> None:
    assert suggest(query, NUTRIENTS) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("b 12", "vitamin-b12"),
        ("vit d", "vitamin-d"),
        ("vitamin d3 1000", "vitamin-d"),  # a dose is not a different vitamin
        ("magnesium glycinate", "magnesium"),
        ("mag glycinate", "magnesium"),
        ("calcium carbonate", "calcium"),
        ("potassium chloride", "potassium"),
        ("b12 deficiency", "vitamin-b12"),
        ("methyl b12", "vitamin-b12"),
    ],
)
def test_near_misses_that_name_our_nutrient_still_find_it(query: str, expected: str) -> None:
    match = find(query, NUTRIENTS)
    assert match is not None and match.candidate.id == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("b", "vitamin-b12"), ("b1", "vitamin-b12"), ("vitamin b 1", "vitamin-b12")],
)
def test_autocomplete_takes_an_unfinished_last_word(typed: str, expected: str) -> None:
    """While typing "b12" the member has "b1" in the box: B12 is what they are heading for."""
    assert expected in [c.id for c in suggest(typed, NUTRIENTS)]


def test_ambiguous_query_is_not_guessed() -> None:
    candidates = (Candidate("vitamin-b6", "Vitamin B6"), Candidate("vitamin-b12", "Vitamin B12"))
    assert find("vitamin b", candidates) is None
    assert {c.id for c in suggest("vitamin b", candidates)} == {"vitamin-b6", "vitamin-b12"}


def test_empty_query_lists_the_first_25_by_name() -> None:
    listed = suggest("", FOODS)
    assert len(listed) == 25
    assert [c.name.casefold() for c in listed] == sorted(c.name.casefold() for c in FOODS)[:25]


def test_suggest_puts_the_best_first_and_respects_the_limit() -> None:
    assert suggest("potas", NUTRIENTS)[0].id == "potassium"
    assert suggest("sweet pot", FOODS)[0].id == "sweet-potato"
    assert len(suggest("a", FOODS, limit=3)) <= 3
    assert suggest("a", FOODS, limit=0) == []


def test_normalise() -> None:
    assert normalise("Vit. D-3") == "vitamin d 3"
    assert normalise("B12") == normalise("b-12") == "b 12"
    assert normalise("🍌") == ""


@given(st.text(max_size=300))
def test_never_raises_and_stays_within_limits(query: str) -> None:
    find(query, NUTRIENTS)
    assert len(suggest(query, FOODS)) <= 25
    assert normalise(normalise(query)) == normalise(query)
