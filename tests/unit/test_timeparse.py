"""Parsing of the times and numbers members type."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import UserFacingError
from domain.timeparse import parse_days, parse_every, parse_snooze_minutes, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21:30", time(21, 30)),
        ("9:30pm", time(21, 30)),
        ("9pm", time(21)),
        ("21h30", time(21, 30)),
        ("21h", time(21)),
        ("07:05", time(7, 5)),
        ("0:00", time(0)),
        ("12am", time(0)),
        ("12:15am", time(0, 15)),
        ("12pm", time(12)),
        ("9:30 PM", time(21, 30)),
        ("9.30am", time(9, 30)),
        ("  6AM ", time(6)),
        ("11 p.m.", time(23)),
        ("24:00", time(0)),  # "bed at 24:00" is midnight
        ("24h", time(0)),
        ("Noon", time(12)),
        ("midnight", time(0)),
    ],
)
def test_accepted_forms(text: str, expected: time):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "9",  # ambiguous: 09:00 or 21:00?
        "24:30",
        "25h",
        "9:60",
        "13pm",
        "0am",
        "21h30pm",
        "9:3",
        "٩pm",  # Arabic-Indic digit
        "<@123> 9pm",
        "@everyone",
        "9pm; DROP TABLE members",
        "9" * 1000,
        "\x00 9pm",
    ],
)
def test_rejected_forms_say_what_is_accepted(text: str | None):
    with pytest.raises(UserFacingError) as error:
        parse_time(text)
    assert "21:30, 9:30pm, 9pm, 21h30" in str(error.value)


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_user_error_without_echo(text: str):
    try:
        result = parse_time(text)
    except UserFacingError as error:
        # One fixed message: the input is never reflected back.
        assert str(error) == "That is not a time I understand. Accepted: 21:30, 9:30pm, 9pm, 21h30."
    else:
        assert isinstance(result, time) and result.second == 0


def test_days_and_every_ranges():
    assert parse_days(1) == 1
    assert parse_days("30") == 30
    assert parse_every(6) == 6
    assert parse_every(" 2 ") == 2
    assert parse_snooze_minutes(30) == 30
    for bad in (0, 31, -1, "x", "1.5", True, None, "99999999999"):
        with pytest.raises(UserFacingError, match="1 to 30"):
            parse_days(bad)  # type: ignore[arg-type]
    for bad in (0, 7, "7", None):
        with pytest.raises(UserFacingError, match="1 to 6"):
            parse_every(bad)  # type: ignore[arg-type]
