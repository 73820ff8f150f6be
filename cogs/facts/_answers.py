"""The health answers as pages that fit a phone. Pure functions: content in, pages out.

A phone shows about 1,200 characters of an embed on one screen. So an answer that would run
longer than ``SCREEN`` characters is split into pages, and the member moves between them
with buttons that edit the message in place (``_views.py``):

- ``/nutrient``: Overview (what it is for, how much you need, where to get it: at most
  ``FIRST_SCREEN`` characters), Intakes by life stage, Foods, Shortage, Safety, Sources;
- ``/foods``, ``/causes``, ``/compare``, ``/see-a-doctor``: as many pages as their texts need,
  then Sources; an answer that fits one screen stays one page, with its Sources field;
- ``/tips``: one page for all topics and one per topic, each tip with its sources as linked
  names (a tip is read on its own, so it never shows raw ``[S17]`` tags).

Every page carries the footer (the disclaimer and the pointer to /see-a-doctor). The texts
show citations as bare ids (``[S17]``); the Sources page resolves each to the exact page.
Lengths are counted as a reader sees them: a markdown link counts as its label.

An answer is rebuilt from ``(kind, subject)`` on every click, so the buttons need no state
but their ``custom_id``. Page keys are stable words; a key that no longer exists (content
edited between restarts) is answered as out of date, never with an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import discord

from cogs.facts._render import format_amount, source_lines
from content import Content, limits
from content.citations import cited_ids, with_bare_ids
from content.schema import Food, Nutrient, TipTopic
from services.embeds import BULLET, HEALTH_COLOUR, RED_FLAG_COLOUR, cap, fit_lines, pack_lines

# What one phone screen shows; /nutrient's first page answers the main question in it.
FIRST_SCREEN = 1200
# Longer than this and an answer is split into pages.
SCREEN = 2000

# Starts a food's own caution wherever the food is named.
CAUTION_MARK = "⚠️ "

KINDS = ("nutrient", "foods", "food", "compare", "causes", "see-a-doctor", "tips")
_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")


@dataclass(frozen=True)
class Page:
    key: str  # stable, in the buttons' custom_id: "overview", "intakes", "sources"
    label: str  # the button's label
    embed: discord.Embed


@dataclass(frozen=True)
class Answer:
    kind: str  # one of KINDS
    subject: str  # the nutrient, food or topic id; "" when the answer has none
    pages: tuple[Page, ...]

    def page(self, key: str) -> Page | None:
        return next((p for p in self.pages if p.key == key), None)


def visible_length(embed: discord.Embed) -> int:
    """The characters a reader sees: like ``len(embed)``, but a link counts as its label."""
    texts = [embed.title, embed.description, embed.footer.text, embed.author.name]
    texts += [t for f in embed.fields for t in (f.name, f.value)]
    return sum(len(_LINK.sub(r"\1", t or "")) for t in texts)


def shown(text: str) -> str:
    """A content text as fact answers show it: ``[S17:leg-cramps]`` -> ``[S17]``."""
    return with_bare_ids(text)


def _embed(
    content: Content,
    title: str,
    description: str | None = None,
    colour: discord.Colour = HEALTH_COLOUR,
) -> discord.Embed:
    embed = discord.Embed(
        title=cap(title, limits.EMBED_TITLE), description=description, colour=colour
    )
    embed.set_footer(text=content.health_footer)
    return embed


def _sources_page(content: Content, title: str, keys: Sequence[str]) -> Page:
    lines = source_lines(content, keys)
    room = limits.EMBED_TOTAL - len(title) - len(content.health_footer) - 40
    text = fit_lines(lines, min(room, limits.EMBED_DESCRIPTION), "…and {n} more in /about")
    return Page("sources", "Sources", _embed(content, f"{title}: sources", text))


def _with_sources(content: Content, embed: discord.Embed, keys: Sequence[str]) -> bool:
    """Add a Sources field if the answer then still fits one screen; say whether it did."""
    value = "\n".join(source_lines(content, keys))
    if len(value) > limits.EMBED_FIELD_VALUE:
        return False
    embed.add_field(name="Sources", value=value, inline=False)
    if visible_length(embed) <= SCREEN and len(embed) <= limits.EMBED_TOTAL:
        return True
    embed.remove_field(len(embed.fields) - 1)
    return False


def _one_screen_or_paged(
    content: Content, kind: str, subject: str, first: Page, keys: Sequence[str]
) -> Answer:
    if _with_sources(content, first.embed, keys):
        return Answer(kind, subject, (first,))
    return Answer(kind, subject, (first, _sources_page(content, first.embed.title or "", keys)))


def _room(embed: discord.Embed, budget: int, *more: str) -> int:
    """Characters left on a screen of ``budget`` after what ``embed`` holds and ``more``."""
    return budget - visible_length(embed) - sum(len(m) for m in more)


# --- /nutrient --------------------------------------------------------------------------------


def _dv_line(nutrient: Nutrient) -> str:
    line = f"%DV is the share of the US label Daily Value, {nutrient.daily_value} [S1]."
    if nutrient.daily_value_note:
        line += " " + shown(nutrient.daily_value_note)
    return line


def _food_line(content: Content, nutrient: Nutrient, food: Food, bold: bool = False) -> str:
    """One food in a list: its amount, the amount's caveat, and the food's own caution on the
    line below, in one string, so no list or page break ever separates them."""
    amount = next(a for a in food.amounts if a.nutrient == nutrient.id)
    name = f"**{food.name}**" if bold else food.name
    line = f"{BULLET}{name}, {food.serving}: {format_amount(nutrient, amount)}"
    line += f" ({shown(amount.caveat)})" if amount.caveat else ""
    return line + (f"\n{CAUTION_MARK}{shown(food.caution)}" if food.caution else "")


def nutrient_answer(content: Content, nutrient: Nutrient) -> Answer:
    name = nutrient.name
    best = [content.food(food_id) for food_id in nutrient.best_foods]
    caution = ("⚠️ Check with your doctor first", shown(nutrient.caution or ""))

    overview = _embed(content, name, shown(nutrient.role))
    need = shown(nutrient.intake_summary)
    if nutrient.upper_limit_summary:
        # The ceiling belongs beside the amount: people read this screen before buying pills.
        # The buttons below say where the details are; one line is all the room there is.
        need += f"\n**Upper limit** (adults): {shown(nutrient.upper_limit_summary)}"
    else:
        need += "\nEvery age and stage: **Intakes**."
    overview.add_field(name="How much you need", value=need, inline=False)
    if nutrient.caution:
        overview.add_field(name=caution[0], value=caution[1], inline=False)
    where = "Where to get it (per serving)"
    head = _dv_line(nutrient)
    # Each part of the embed (title, description, field names and values, footer) also
    # starts a line of its own on the screen: leave room for those breaks too.
    breaks = 2 * len(overview.fields) + 2
    room = _room(overview, FIRST_SCREEN, where, head) - 1 - breaks
    lines = [_food_line(content, nutrient, food) for food in best]
    foods = fit_lines(lines, min(room, limits.EMBED_FIELD_VALUE - len(head) - 1), "More: **Foods**")
    overview.add_field(name=where, value=f"{head}\n{foods}", inline=False)

    intakes = _embed(content, f"{name}: intakes by life stage")
    intakes.add_field(name="Daily intake", value=shown(nutrient.intake), inline=False)
    intakes.add_field(name="Upper limit", value="See **Safety**.", inline=False)

    foods_page = _embed(content, f"{name}: best food sources", head)
    if nutrient.caution:
        foods_page.add_field(name=caution[0], value=caution[1], inline=False)
    foods_page.add_field(
        name="Per serving",
        value=fit_lines(
            [*lines, f"More foods: `/foods {nutrient.id}`"],
            limits.EMBED_FIELD_VALUE,
            "…more with /foods",
        ),
        inline=False,
    )
    if nutrient.food_caveats:
        foods_page.add_field(name="Good to know", value=shown(nutrient.food_caveats), inline=False)

    shortage = _embed(content, f"{name}: signs of a shortage, and who is at risk")
    shortage.add_field(
        name="Signs of a shortage", value=shown(nutrient.deficiency_signs), inline=False
    )
    shortage.add_field(name="Who is at risk", value=shown(nutrient.at_risk), inline=False)

    safety = _embed(content, f"{name}: safety")
    if nutrient.caution:
        safety.add_field(name=caution[0], value=caution[1], inline=False)
    safety.add_field(name="Upper limit (UL)", value=shown(nutrient.upper_limit), inline=False)
    if nutrient.notes:
        safety.add_field(
            name="Medicines and good to know", value=shown(nutrient.notes), inline=False
        )

    texts = [nutrient.role, nutrient.intake_summary, nutrient.upper_limit_summary]
    texts += [nutrient.caution, head, nutrient.intake]
    texts += [nutrient.food_caveats, nutrient.deficiency_signs, nutrient.at_risk]
    texts += [nutrient.upper_limit, nutrient.notes]
    texts += [next(a for a in f.amounts if a.nutrient == nutrient.id).caveat for f in best]
    texts += [f.caution for f in best]
    keys = cited_ids(*texts, nutrient.daily_value_note, listed=["S1", "S14"])
    pages = (
        Page("overview", "Overview", overview),
        Page("intakes", "Intakes", intakes),
        Page("foods", "Foods", foods_page),
        Page("shortage", "Shortage", shortage),
        Page("safety", "Safety", safety),
        _sources_page(content, name, keys),
    )
    return Answer("nutrient", nutrient.id, pages)


# --- /foods and /food -------------------------------------------------------------------------


# A message has at most 5 rows of 5 buttons; with a Sources page, 9 pages of lines is plenty.
MAX_LINE_PAGES = 9


def _pages_of_lines(
    content: Content,
    first: discord.Embed,
    lines: Sequence[str],
    title: str,
    key: str,
    label: str,
) -> list[Page]:
    """``first`` with as many of ``lines`` as fit one screen, then pages for the rest."""
    pages: list[Page] = []
    embed, rest = first, list(lines)
    while rest:
        separator = "\n\n" if embed.description else ""
        used = len(embed.description or "") + len(separator)
        room = min(_room(embed, SCREEN, separator), limits.EMBED_DESCRIPTION - used)
        last = len(pages) + 1 == MAX_LINE_PAGES
        body, taken = pack_lines(rest, room)
        if last or (taken == 0 and not embed.fields):
            # The last page allowed, or a line too long even for an empty screen.
            body, taken = fit_lines(rest, max(room, 60), "…and {n} more"), len(rest)
        if body:  # a first page full of cautions and caveats leaves its lines to the next
            embed.description = f"{embed.description or ''}{separator}{body}"
        number = len(pages) + 1
        page_key, page_label = (
            (key, label) if number == 1 else (f"{key}-{number}", f"More ({number})")
        )
        pages.append(Page(page_key, page_label, embed))
        rest = rest[taken:]
        embed = _embed(content, f"{title} (continued)")
    return pages


def foods_answer(content: Content, nutrient: Nutrient) -> Answer:
    title = f"{nutrient.name}: amounts in foods"
    header = (
        f"Per serving, richest first. {_dv_line(nutrient)} 20% or more is high, 5% or less is "
        f"low [S1]. Amounts computed from USDA SR28 [S14]."
    )
    rows = content.foods_for(nutrient.id)
    first = _embed(content, title, header)
    if nutrient.caution:
        first.add_field(
            name="⚠️ Check with your doctor first", value=shown(nutrient.caution), inline=False
        )
    if nutrient.food_caveats:
        first.add_field(name="Good to know", value=shown(nutrient.food_caveats), inline=False)
    lines = [_food_line(content, nutrient, food, bold=True) for food, _ in rows]
    if not lines:
        lines = ["No foods are listed for this nutrient yet."]
    pages = _pages_of_lines(content, first, lines, title, "list", "Foods")
    texts = [header, nutrient.caution, nutrient.food_caveats, *(a.caveat for _, a in rows)]
    texts += [food.caution for food, _ in rows]
    keys = cited_ids(*texts, listed=[s for food, _ in rows for s in food.sources])
    if len(pages) == 1:
        return _one_screen_or_paged(content, "foods", nutrient.id, pages[0], keys)
    return Answer("foods", nutrient.id, (*pages, _sources_page(content, title, keys)))


def food_answer(content: Content, food: Food) -> Answer:
    order = {n.id: i for i, n in enumerate(content.nutrients)}
    lines = []
    for amount in sorted(food.amounts, key=lambda a: order[a.nutrient]):
        nutrient = content.nutrient(amount.nutrient)
        line = f"{BULLET}**{nutrient.name}**: {format_amount(nutrient, amount)}"
        lines.append(line + (f" ({shown(amount.caveat)})" if amount.caveat else ""))
    intro = f"{shown(food.form_note)}\n\n" if food.form_note else ""
    description = (
        f"{intro}Per {food.serving}. %DV is the share of the US label Daily Value [S1]; "
        f"amounts computed from USDA SR28 [S14].\n\n" + "\n".join(lines)
    )
    embed = _embed(content, food.name, cap(description, limits.EMBED_DESCRIPTION))
    if food.caution:
        caution = shown(food.caution)
        if food.caution_detail:
            caution = f"{caution}.\n{shown(food.caution_detail)}"
        embed.add_field(name=f"{CAUTION_MARK}Caution", value=caution, inline=False)
    for nutrient, caution in content.cautions_for(food):
        embed.add_field(
            name=f"⚠️ {nutrient.name}: check with your doctor first",
            value=shown(caution),
            inline=False,
        )
    if food.note:
        embed.add_field(name="Good to know", value=shown(food.note), inline=False)
    embed.add_field(
        name="More",
        value="/nutrient explains each nutrient; /foods lists other foods rich in it.",
        inline=False,
    )
    texts = [food.form_note, food.note, food.caution, food.caution_detail]
    texts += [a.caveat for a in food.amounts]
    texts += [caution for _, caution in content.cautions_for(food)]
    keys = cited_ids(*texts, listed=["S1", *food.sources])
    return _one_screen_or_paged(content, "food", food.id, Page("food", "Food", embed), keys)


# --- /compare, /causes, /see-a-doctor ---------------------------------------------------------


def compare_answer(content: Content) -> Answer:
    compare = content.compare
    embed = _embed(content, compare.title, shown(compare.intro))
    cautions: list[str] = []
    for row in compare.rows:
        value = (
            f"**Role, as the article puts it:** {row.role}\n"
            f"**Signs of a shortage:** {shown(row.deficiency_symptom)}\n"
            f"**Best sources, as the article puts it:** {row.best_sources}"
        )
        # The sources named here come with what a reader must know before eating more of
        # them (potassium and the kidneys; vitamin A in liver), as on every list of foods.
        row_cautions = content.compare_row_cautions(row)
        value += "".join(f"\n{CAUTION_MARK}{shown(c)}" for c in row_cautions)
        cautions += row_cautions
        embed.add_field(name=row.nutrient, value=cap(value, limits.EMBED_FIELD_VALUE), inline=False)
    keys = cited_ids(
        compare.intro,
        *(r.deficiency_symptom for r in compare.rows),
        *cautions,
        listed=compare.sources,
    )
    return _one_screen_or_paged(content, "compare", "", Page("table", "Table", embed), keys)


def causes_answer(content: Content) -> Answer:
    causes = content.causes
    pages: list[Page] = []
    embed = _embed(content, causes.title, shown(causes.intro))
    label = "Overview"
    for section in causes.sections:
        text = shown(section.text)
        if embed.fields and _room(embed, SCREEN, section.title, text) < 0:
            pages.append(Page(f"part-{len(pages) + 1}", label, embed))
            embed = _embed(content, f"{causes.title} (continued)")
            label = cap(section.title, 40)
        embed.add_field(name=section.title, value=text, inline=False)
    pages.append(Page(f"part-{len(pages) + 1}", label, embed))
    keys = cited_ids(
        causes.intro,
        *(s.text for s in causes.sections),
        listed=[i for s in causes.sections for i in s.sources],
    )
    if len(pages) == 1:
        return _one_screen_or_paged(content, "causes", "", pages[0], keys)
    return Answer("causes", "", (*pages, _sources_page(content, causes.title, keys)))


def _cite(keys: Iterable[str]) -> str:
    ids = list(keys)
    return " " + shown(f"[{', '.join(ids)}]") if ids else ""


def see_a_doctor_answer(content: Content) -> Answer:
    flags = content.red_flags
    embed = _embed(content, flags.title, shown(flags.intro), colour=RED_FLAG_COLOUR)
    for name, entries in (
        ("See a health professional if…", flags.see_a_professional),
        ("Get medical help straight away if…", flags.get_help_now),
    ):
        lines = [f"{BULLET}{flag.text}{_cite(flag.sources)}" for flag in entries]
        embed.add_field(name=name, value=fit_lines(lines, limits.EMBED_FIELD_VALUE), inline=False)
    embed.add_field(name="What happens next", value=shown(flags.what_happens_next), inline=False)
    keys = cited_ids(
        flags.intro,
        flags.what_happens_next,
        listed=[
            *(s for f in flags.see_a_professional for s in f.sources),
            *(s for f in flags.get_help_now for s in f.sources),
            *flags.next_steps_sources,
        ],
    )
    return _one_screen_or_paged(content, "see-a-doctor", "", Page("signs", "Signs", embed), keys)


# --- /tips ------------------------------------------------------------------------------------


def tips_answer(content: Content) -> Answer:
    overview = _embed(
        content, "Habits that can help", "One tip per topic; each topic has its own page."
    )
    for topic in content.tip_topics:
        first = content.tip_as_read(topic, topic.tips[0])
        overview.add_field(name=topic.name, value=content.readable(first.text), inline=False)
    pages = [Page("all", "All topics", overview)]
    pages += [
        Page(topic.id, _short_name(topic), _topic_embed(content, topic))
        for topic in content.tip_topics
    ]
    return Answer("tips", "", tuple(pages))


def _short_name(topic: TipTopic) -> str:
    return cap(topic.name.split(" and ")[0].split(" for ")[0], 40)


def _topic_embed(content: Content, topic: TipTopic) -> discord.Embed:
    lines = [f"{BULLET}{content.readable(tip.text)}" for tip in topic.tips]
    if topic.note:
        lines.append(f"{CAUTION_MARK}{content.readable(topic.note.text)}")
    summary = content.readable(topic.summary)
    room = limits.EMBED_DESCRIPTION - len(summary) - 2
    return _embed(content, f"Tips: {topic.name}", f"{summary}\n\n{fit_lines(lines, room)}")
