"""The shared embed helpers: limit checks, fitting lines, capping, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

from content import limits
from content.citations import cited_ids
from services.embeds import cap, check_embed_limits, discord_time, embed_limit_problems, fit_lines


def test_check_embed_limits_catches_each_kind_of_overflow() -> None:
    embed = discord.Embed(title="t" * 257, description="d" * 4097)
    for _ in range(26):
        embed.add_field(name="n", value="v" * 1025)
    embed.set_footer(text="f" * 2049)
    problems = " | ".join(embed_limit_problems(embed))
    for part in ("title", "description", "footer", "26 fields", "field 0 value", "total"):
        assert part in problems
    with pytest.raises(ValueError):
        check_embed_limits(embed)


def test_fit_lines_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"line {i}" for i in range(100)]
    text = fit_lines(lines, 60)
    assert len(text) <= 60 and text.endswith("more")
    assert fit_lines(["short"], 60) == "short"
    assert len(fit_lines(["x" * 500], limits.CHOICE_NAME)) <= limits.CHOICE_NAME


def test_cap_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert cap("short", 10) == "short"
    assert cap("a rather long sentence", 10) == "a rather…"
    assert len(cap("x" * 500, limits.CHOICE_NAME)) == limits.CHOICE_NAME


def test_discord_time_is_the_unix_second_in_discords_markup() -> None:
    moment = datetime(2026, 3, 8, 7, 0, 30, tzinfo=UTC)
    assert discord_time(moment, "R") == f"<t:{int(moment.timestamp())}:R>"
    assert discord_time(moment) == "<t:1772953230:f>"


def test_cited_ids_reads_single_and_grouped_citations_once_each() -> None:
    text = "Magnesium helps [S2]. Bananas [S14, S1] and again [S2]. Not [a link](x) or [s3]."
    assert cited_ids(text, None, listed=["S1", "S9"]) == ["S2", "S14", "S1", "S9"]
