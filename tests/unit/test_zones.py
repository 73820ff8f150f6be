"""Time-zone look-up by IANA name, city, country and alias; autocomplete."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import UserFacingError
from domain.zones import resolve_zone, suggest_zones


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        ("  Europe/Berlin  ", "Europe/Berlin"),
        ("kolkata", "Asia/Kolkata"),
        ("india", "Asia/Kolkata"),
        ("lord howe", "Australia/Lord_Howe"),
        ("sao paulo", "America/Sao_Paulo"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("japan", "Asia/Tokyo"),
        ("EST", "America/New_York"),
        ("US/Eastern", "US/Eastern"),
    ],
)
def test_resolves(text: str, key: str):
    assert resolve_zone(text).key == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "berln",
        "Mars/Olympus",
        "<@123>",
        "@everyone",
        "../../etc/passwd",
        "x" * 500,
        "\u202e",
        # Files in the system's zoneinfo folder that are not anyone's time zone: the
        # server's own clock, and tzdata's placeholder whose abbreviation is "-00".
        "localtime",
        "Factory",
        "posixrules",
    ],
)
def test_unknown_zone_is_a_user_error(text: str):
    with pytest.raises(UserFacingError, match="Europe/Berlin"):
        resolve_zone(text)


def test_unknown_zone_suggests_close_names():
    with pytest.raises(UserFacingError, match="Did you mean Europe/Berlin"):
        resolve_zone("berln")


@pytest.mark.parametrize("text", ["nowhere", "Mars/Olympus", "qwerty"])
def test_no_guesses_for_what_is_no_place_at_all(text: str):
    with pytest.raises(UserFacingError) as error:
        resolve_zone(text)
    assert "Did you mean" not in str(error.value)


@pytest.mark.parametrize("text", ["GMT+2", "UTC-5", "utc +5:30", "UTC+10"])
def test_a_utc_offset_is_answered_with_why_a_city_is_better(text: str):
    """Not "Did you mean UTC?" (wrong by two hours), nor Etc/GMT-2 (which reads backwards)."""
    with pytest.raises(UserFacingError) as error:
        resolve_zone(text)
    message = str(error.value)
    assert message.startswith("A UTC offset doesn't follow daylight saving")
    assert "Type your city instead" in message and "Did you mean" not in message


def test_suggestions():
    assert suggest_zones("berlin")[0] == "Europe/Berlin"
    assert suggest_zones("new york")[0] == "America/New_York"
    assert suggest_zones("ber", limit=5)[0] == "Europe/Berlin"
    assert "Europe/Berlin" in suggest_zones("berln")
    assert len(suggest_zones("a")) == 25
    assert suggest_zones("") and len(suggest_zones("", limit=3)) == 3
    assert suggest_zones("<script>") == []


def test_a_city_that_matched_is_not_followed_by_loose_guesses():
    """ "berlin" is Europe/Berlin; Porto-Novo (for "benin") or Dublin are not worth a line."""
    assert suggest_zones("berlin") == ["Europe/Berlin"]
    assert suggest_zones("mumbai") == ["Asia/Kolkata"]
    assert suggest_zones("tokio")[0] == "Asia/Tokyo"  # a typo still gets its guesses


@given(st.text(max_size=80))
def test_suggestions_are_valid_names_for_any_input(text: str):
    for name in suggest_zones(text):
        assert resolve_zone(name).key == name
