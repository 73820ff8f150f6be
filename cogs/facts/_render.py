"""Pieces every fact answer shares (footer, source lines, amounts), and /about and /help.

Pure functions: no Discord calls, so tests render every entry directly. The health answers
themselves, split into pages that fit a phone, are in ``_answers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import discord
from discord import app_commands

from content import Content, limits
from content.schema import Amount, Nutrient
from services.embeds import (
    INFO_COLOUR,
    cap,
    fit_lines,
)


def source_lines(content: Content, keys: Iterable[str]) -> list[str]:
    """One line per cited page: ``**S17** [Mayo Clinic: Night leg cramps](url)``."""
    lines = []
    for key in keys:
        citation = content.citation(key)
        label = f"{citation.publisher}: {citation.title}".replace("[", "(").replace("]", ")")
        lines.append(
            f"**{citation.source_id}** [{label}]({citation.url})"
            if citation.url
            else f"**{citation.source_id}** {label}"
        )
    return list(dict.fromkeys(lines))


def format_amount(nutrient: Nutrient, amount: Amount) -> str:
    if amount.iu is not None:
        text = f"{amount.iu:,} IU ({amount.amount:.1f} {nutrient.unit})"
    else:
        text = f"{amount.amount:,g} {nutrient.unit}"
    if amount.dv_percent is not None:
        text += f", {amount.dv_percent:,}% DV"
    return text


# --- /about and /help -----------------------------------------------------------------------


def command_summary(commands: Iterable[object]) -> str:
    """Every top-level command, groups with their subcommands: `/remind` (list, start, …)."""
    parts = []
    for item in sorted(commands, key=lambda c: getattr(c, "name", "")):
        if isinstance(item, app_commands.Group):
            subs = ", ".join(sorted(sub.name for sub in item.commands))
            parts.append(f"`/{item.name}` ({subs})")
        elif isinstance(item, app_commands.Command):
            parts.append(f"`/{item.name}`")
    return " · ".join(parts)


def render_about(content: Content, version: str, commands: Iterable[object] = ()) -> discord.Embed:
    about = content.about
    embed = discord.Embed(title="About Steady", description=about.what_it_is, colour=INFO_COLOUR)
    summary = command_summary(commands)
    if summary:
        embed.add_field(
            name="Commands",
            value=cap(summary + "\n`/help` says what each one does.", limits.EMBED_FIELD_VALUE),
            inline=False,
        )
    embed.add_field(name="Not medical advice", value=content.health_footer, inline=False)
    embed.add_field(name="What Steady keeps about you", value=about.data_kept, inline=False)
    entries = [f"**{s.id}** {s.publisher}" for s in content.sources]
    embed.add_field(
        name="Sources",
        value=fit_lines(
            [" · ".join(entries)] if len(" · ".join(entries)) <= 900 else entries,
            limits.EMBED_FIELD_VALUE - 60,
        )
        + "\nEach answer links the exact pages it uses.",
        inline=False,
    )
    embed.add_field(name="Version", value=cap(version or "unknown", 100), inline=False)
    return embed


def help_lines(commands: Iterable[app_commands.Command | app_commands.Group | object]) -> list[str]:
    """One line per command, groups expanded to their subcommands, sorted by name."""
    lines: list[tuple[str, str]] = []

    def walk(items: Iterable[object]) -> None:
        for item in items:
            if isinstance(item, app_commands.Group):
                walk(item.commands)
            elif isinstance(item, app_commands.Command):
                lines.append((item.qualified_name, item.description))

    walk(commands)
    return [f"`/{name}` {description}" for name, description in sorted(lines)]


def render_help(lines: Sequence[str]) -> discord.Embed:
    embed = discord.Embed(title="Steady commands", colour=INFO_COLOUR)
    if not lines:
        embed.description = "No commands are registered yet."
        return embed
    # Fill the description first, then spill into fields, never splitting a line.
    chunks: list[list[str]] = [[]]
    limit = limits.EMBED_DESCRIPTION
    for line in lines:
        line = cap(line, limits.EMBED_FIELD_VALUE)
        current = chunks[-1]
        if len("\n".join([*current, line])) > limit:
            chunks.append([line])
            limit = limits.EMBED_FIELD_VALUE
        else:
            current.append(line)
    embed.description = "\n".join(chunks[0])
    for chunk in chunks[1 : limits.EMBED_FIELDS]:
        embed.add_field(name="More commands", value="\n".join(chunk), inline=False)
    embed.set_footer(text="Options with a list autocomplete as you type.")
    while len(embed) > limits.EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed
