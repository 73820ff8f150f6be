"""What every Discord answer shares: colours, fitting text into embeds, limit checks, timestamps.

Pure functions over ``discord.Embed`` and plain strings, used by the fact renderer, the
reminder and daily-tip renderers and ``/config``. Whatever a renderer puts in an embed whose
length depends on data (food lists, sources, command lists) is fitted here, so no answer can
pass Discord's limits (``content.limits``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import discord

from content import limits

# Health answers, red flags, and the bot's own pages (about, help).
HEALTH_COLOUR = discord.Colour.teal()
RED_FLAG_COLOUR = discord.Colour.orange()
INFO_COLOUR = discord.Colour.blurple()
# Reminders, the daily tip, /remind's and /config's answers: Steady's own voice.
STEADY_COLOUR = discord.Colour.from_rgb(88, 166, 255)

BULLET = "• "

# Discord's timestamp styles: t 16:20, f 20 April 2021 16:20, R "in 2 hours", …
TimestampStyle = Literal["t", "T", "d", "D", "f", "F", "R"]


def discord_time(moment: datetime, style: TimestampStyle = "f") -> str:
    """A Discord timestamp (``<t:…:R>``): each reader's client shows it in their own time."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pack_lines(lines: Sequence[str], limit: int) -> tuple[str, int]:
    """As many whole lines as fit in ``limit`` (joined by newlines), and how many that was."""
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if used + cost > limit:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept), len(kept)


def fit_lines(lines: Sequence[str], limit: int, more: str = "…and {n} more") -> str:
    """Join as many whole lines as fit in ``limit``, then say how many were left out."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = len(line) + (1 if kept else 0)
        rest = len(lines) - index - 1
        tail = len(more.format(n=rest + 1)) + 1 if rest else 0
        if used + cost + tail > limit:
            note = more.format(n=len(lines) - index)
            return "\n".join([*kept, note]) if kept else cap(note, limit)
        kept.append(line)
        used += cost
    return "\n".join(kept)


def embed_limit_problems(embed: discord.Embed) -> list[str]:
    """Every way ``embed`` breaks Discord's limits (empty when it is fine)."""
    problems: list[str] = []

    def over(what: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            problems.append(f"{what}: {len(text)} characters > {limit}")

    over("title", embed.title, limits.EMBED_TITLE)
    over("description", embed.description, limits.EMBED_DESCRIPTION)
    over("footer", embed.footer.text, limits.EMBED_FOOTER)
    if len(embed.fields) > limits.EMBED_FIELDS:
        problems.append(f"{len(embed.fields)} fields > {limits.EMBED_FIELDS}")
    for index, field in enumerate(embed.fields):
        over(f"field {index} name", field.name, limits.EMBED_FIELD_NAME)
        over(f"field {index} value", field.value, limits.EMBED_FIELD_VALUE)
        if not (field.name or "").strip() or not (field.value or "").strip():
            problems.append(f"field {index} is empty (Discord rejects empty fields)")
    if len(embed) > limits.EMBED_TOTAL:
        problems.append(f"total: {len(embed)} characters > {limits.EMBED_TOTAL}")
    return problems


def check_embed_limits(embed: discord.Embed) -> None:
    """Raise ``ValueError`` naming every broken limit."""
    problems = embed_limit_problems(embed)
    if problems:
        raise ValueError("; ".join(problems))
