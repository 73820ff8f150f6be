"""Content -> embeds. Pure functions: no Discord calls, so tests render every entry directly.

Every health answer ends with the same footer (the disclaimer and the pointer to
/see-a-doctor) and a Sources field that resolves the ``[S14]``-style citations in its texts.
Parts whose length depends on the data (food lists, sources) are fitted into whatever room
the fixed texts leave, so an answer can never pass Discord's limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import discord
from discord import app_commands

from bot.embeds import (
    BULLET,
    HEALTH_COLOUR,
    INFO_COLOUR,
    RED_FLAG_COLOUR,
    cap,
    fit_lines,
    pack_lines,
)
from content import Content, limits
from content.citations import cited_ids
from content.schema import Amount, Food, Nutrient, TipTopic


def source_lines(content: Content, ids: Iterable[str]) -> list[str]:
    lines = []
    for source_id in ids:
        source = content.source(source_id)
        label = f"{source.publisher}: {source.title}"
        lines.append(
            f"**{source.id}** [{label}]({source.url})" if source.url else f"**{source.id}** {label}"
        )
    return lines


def _footer(content: Content) -> str:
    return f"{content.disclaimer} {content.see_doctor_pointer}"


def _finish(embed: discord.Embed, content: Content, source_ids: list[str]) -> discord.Embed:
    """Add the Sources field(s) in the room left, then the footer every health answer carries."""
    footer = _footer(content)
    lines = source_lines(content, source_ids)
    name = "Sources"
    while lines and len(embed.fields) < limits.EMBED_FIELDS:
        left = limits.EMBED_TOTAL - len(embed) - len(footer) - len(name)
        room = min(left, limits.EMBED_FIELD_VALUE)
        if room < 60:
            break
        text, count = pack_lines(lines, room)
        if count == len(lines):
            embed.add_field(name=name, value=text, inline=False)
            break
        room_after = left - len(text) - len("Sources (continued)")
        if count and room_after > 200 and len(embed.fields) + 1 < limits.EMBED_FIELDS:
            embed.add_field(name=name, value=text, inline=False)
            lines = lines[count:]
            name = "Sources (continued)"
            continue
        embed.add_field(
            name=name, value=fit_lines(lines, room, "…and {n} more in /about"), inline=False
        )
        break
    embed.set_footer(text=footer)
    return embed


def format_amount(nutrient: Nutrient, amount: Amount) -> str:
    if amount.iu is not None:
        text = f"{amount.iu:,} IU ({amount.amount:.1f} {nutrient.unit})"
    else:
        text = f"{amount.amount:,g} {nutrient.unit}"
    if amount.dv_percent is not None:
        text += f", {amount.dv_percent:,}% DV"
    return text


# --- /nutrient, /foods, /food ---------------------------------------------------------------


def render_nutrient(content: Content, nutrient: Nutrient) -> discord.Embed:
    embed = discord.Embed(
        title=nutrient.name,
        description=f"US label Daily Value: {nutrient.daily_value} [S1]",
        colour=HEALTH_COLOUR,
    )
    fixed = [
        ("Role in muscle function", nutrient.role),
        ("Signs of deficiency", nutrient.deficiency_signs),
        ("Daily intake (adults)", nutrient.intake),
        ("Upper limit (UL)", nutrient.upper_limit),
        ("Who is at risk", nutrient.at_risk),
    ]
    if nutrient.notes:
        fixed.append(("Medicines and good to know", nutrient.notes))
    foods_name = "Best food sources (per serving)"
    fixed_size = len(embed) + sum(len(n) + len(v) for n, v in fixed) + len(foods_name)
    room = limits.EMBED_TOTAL - fixed_size - len(_footer(content)) - len("Sources")
    # Foods get up to half of what is left; the sources field takes the rest.
    food_room = min(limits.EMBED_FIELD_VALUE, max(room // 2, 0))

    amounts = {f.id: a for f in content.foods for a in f.amounts if a.nutrient == nutrient.id}
    food_lines = [
        f"{BULLET}{content.food(food_id).name}, {content.food(food_id).serving}: "
        f"{format_amount(nutrient, amounts[food_id])}"
        for food_id in nutrient.best_foods
    ]
    food_lines.append("More: /foods")
    foods_value = fit_lines(food_lines, food_room, "…more with /foods")

    for name, value in fixed[:2]:
        embed.add_field(name=name, value=value, inline=False)
    embed.add_field(name=foods_name, value=foods_value, inline=False)
    for name, value in fixed[2:]:
        embed.add_field(name=name, value=value, inline=False)
    return _finish(embed, content, cited_ids(listed=["S1", *nutrient.sources, "S14"]))


def render_foods(content: Content, nutrient: Nutrient) -> discord.Embed:
    header = (
        f"Per serving, richest first. %DV is the share of the US label Daily Value, "
        f"{nutrient.daily_value}: 20% or more is high, 5% or less is low [S1]. "
        f"Amounts computed from USDA SR28 [S14]."
    )
    lines = [
        f"{BULLET}**{food.name}**, {food.serving}: {format_amount(nutrient, amount)}"
        for food, amount in content.foods_for(nutrient.id)
    ]
    caveat_name = "Good to know"
    reserve = len(_footer(content)) + limits.EMBED_FIELD_VALUE // 2  # room for sources
    if nutrient.food_caveats:
        reserve += len(caveat_name) + len(nutrient.food_caveats)
    room = min(limits.EMBED_DESCRIPTION, limits.EMBED_TOTAL - reserve - 300) - len(header) - 2
    body = fit_lines(lines, room) if lines else "No foods are listed for this nutrient yet."
    embed = discord.Embed(
        title=cap(f"{nutrient.name}: amounts in foods", limits.EMBED_TITLE),
        description=f"{header}\n\n{body}",
        colour=HEALTH_COLOUR,
    )
    if nutrient.food_caveats:
        embed.add_field(name=caveat_name, value=nutrient.food_caveats, inline=False)
    food_sources = [s for food, _ in content.foods_for(nutrient.id) for s in food.sources]
    ids = cited_ids(header, nutrient.food_caveats, listed=food_sources)
    return _finish(embed, content, ids)


def render_food(content: Content, food: Food) -> discord.Embed:
    order = {n.id: i for i, n in enumerate(content.nutrients)}
    lines = [
        f"{BULLET}**{content.nutrient(a.nutrient).name}**: "
        f"{format_amount(content.nutrient(a.nutrient), a)}"
        for a in sorted(food.amounts, key=lambda a: order[a.nutrient])
    ]
    description = (
        f"Per {food.serving}. %DV is the share of the US label Daily Value [S1]; "
        f"amounts computed from USDA SR28 [S14].\n\n" + "\n".join(lines)
    )
    embed = discord.Embed(
        title=food.name,
        description=cap(description, limits.EMBED_DESCRIPTION),
        colour=HEALTH_COLOUR,
    )
    if food.note:
        embed.add_field(name="Good to know", value=food.note, inline=False)
    embed.add_field(
        name="More",
        value="/nutrient explains each nutrient; /foods lists other foods rich in it.",
        inline=False,
    )
    return _finish(embed, content, cited_ids(description, food.note, listed=food.sources))


# --- /compare, /causes, /tips, /see-a-doctor -----------------------------------------------


def render_compare(content: Content) -> discord.Embed:
    compare = content.compare
    embed = discord.Embed(title=compare.title, description=compare.intro, colour=HEALTH_COLOUR)
    for row in compare.rows:
        value = (
            f"**Role:** {row.role}\n"
            f"**Key deficiency symptom:** {row.deficiency_symptom}\n"
            f"**Best sources:** {row.best_sources}"
        )
        embed.add_field(name=row.nutrient, value=cap(value, limits.EMBED_FIELD_VALUE), inline=False)
    return _finish(embed, content, cited_ids(compare.intro, listed=compare.sources))


def render_causes(content: Content) -> discord.Embed:
    causes = content.causes
    embed = discord.Embed(title=causes.title, description=causes.intro, colour=HEALTH_COLOUR)
    for section in causes.sections:
        embed.add_field(name=section.title, value=section.text, inline=False)
    ids = cited_ids(
        causes.intro,
        *(s.text for s in causes.sections),
        listed=[i for s in causes.sections for i in s.sources],
    )
    return _finish(embed, content, ids)


def _cite(ids: Sequence[str]) -> str:
    return f" [{', '.join(ids)}]" if ids else ""


def render_see_a_doctor(content: Content) -> discord.Embed:
    flags = content.red_flags
    embed = discord.Embed(title=flags.title, description=flags.intro, colour=RED_FLAG_COLOUR)
    for name, entries in (
        ("See a health professional if…", flags.see_a_professional),
        ("Get medical help straight away if…", flags.get_help_now),
    ):
        lines = [f"{BULLET}{flag.text}{_cite(flag.sources)}" for flag in entries]
        embed.add_field(name=name, value=fit_lines(lines, limits.EMBED_FIELD_VALUE), inline=False)
    embed.add_field(name="What happens next", value=flags.what_happens_next, inline=False)
    ids = cited_ids(
        flags.intro,
        flags.what_happens_next,
        listed=[
            *(s for f in flags.see_a_professional for s in f.sources),
            *(s for f in flags.get_help_now for s in f.sources),
            *flags.next_steps_sources,
        ],
    )
    return _finish(embed, content, ids)


def render_tips(content: Content, topic_id: str | None = None) -> discord.Embed:
    if topic_id is not None:
        return _render_topic(content, content.tip_topic(topic_id))
    embed = discord.Embed(
        title="Habits that can help with twitching",
        description="One tip per topic. For more, use /tips with a topic.",
        colour=HEALTH_COLOUR,
    )
    ids: list[str] = []
    for topic in content.tip_topics:
        first = topic.tips[0]
        value = f"{topic.summary}\n**Try this:** {first.text}"
        embed.add_field(name=topic.name, value=cap(value, limits.EMBED_FIELD_VALUE), inline=False)
        ids += cited_ids(topic.summary, first.text, listed=first.sources)
    return _finish(embed, content, list(dict.fromkeys(ids)))


def _render_topic(content: Content, topic: TipTopic) -> discord.Embed:
    lines = [f"{BULLET}{tip.text}" for tip in topic.tips]
    room = limits.EMBED_DESCRIPTION - len(topic.summary) - 2
    embed = discord.Embed(
        title=f"Tips: {topic.name}",
        description=f"{topic.summary}\n\n{fit_lines(lines, room)}",
        colour=HEALTH_COLOUR,
    )
    ids = cited_ids(topic.summary, listed=[s for tip in topic.tips for s in tip.sources])
    return _finish(embed, content, ids)


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
    embed.add_field(name="Not medical advice", value=_footer(content), inline=False)
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
