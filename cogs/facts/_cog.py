"""The nine fact commands. Thin: parse the option, look it up, render, reply.

Unknown or odd input raises ``UserFacingError``; the command tree turns that into a short
ephemeral answer, so nothing here sends error messages itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.facts import _answers as answers
from cogs.facts import _render as render
from cogs.facts._views import page_view
from cogs.steady import Steady
from content import Content, limits
from content.matching import Candidate, find, suggest
from content.schema import Food, Group, Nutrient
from domain import VERSION
from domain.errors import UserFacingError
from domain.kinds import TIP_TOPIC_LABELS
from services.embeds import cap

if TYPE_CHECKING:
    from content.matching import Match

T = TypeVar("T", bound=Callable[..., Any])

TOPIC_CHOICES = [
    app_commands.Choice(name=label, value=topic.value) for topic, label in TIP_TOPIC_LABELS.items()
]


def everywhere(func: T) -> T:
    """Servers, DMs with the bot, and group DMs; installed to servers only."""
    func = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(func)
    return app_commands.allowed_installs(guilds=True, users=False)(func)


def shown(value: str, limit: int = 40) -> str:
    """User input made safe to echo: no control characters, markdown or mentions."""
    text = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C").strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    return text or "that"


def checked_query(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise UserFacingError(f"Please type a {what} name, or pick one from the list.")
    if len(value) > limits.MAX_QUERY:
        raise UserFacingError(
            f"That's a very long {what} name. Please type up to {limits.MAX_QUERY} characters, "
            "or pick one from the list."
        )
    return value.strip()


def expanded_choices(
    current: str,
    candidates: tuple[Candidate, ...],
    group_of: Callable[[str], Group | None],
    name_of: Callable[[str], str],
    before_typing: list[Candidate] | None = None,
) -> list[app_commands.Choice[str]]:
    """Autocomplete where a group ("B vitamins", "fish") is not an answer by itself: its
    members are offered instead. ``before_typing``: what to list when nothing is typed."""
    query = (current or "")[: limits.MAX_QUERY]
    if not query.strip() and before_typing is not None:
        found = before_typing
    else:
        found = suggest(query, candidates, limit=limits.AUTOCOMPLETE_CHOICES)
    choices: dict[str, str] = {}
    for candidate in found:
        group = group_of(candidate.id)
        for member in group.members if group else [candidate.id]:
            choices.setdefault(member, name_of(member))
    return [
        app_commands.Choice(name=cap(name, limits.CHOICE_NAME), value=key[: limits.CHOICE_VALUE])
        for key, name in list(choices.items())[: limits.AUTOCOMPLETE_CHOICES]
    ]


def _names(candidates: list[Candidate], conjunction: str = "or") -> str:
    """ "A, B or C"; food names contain commas, so those are separated by semicolons."""
    names = [c.name for c in candidates]
    if len(names) <= 2:
        return f" {conjunction} ".join(names)
    separator = "; " if any("," in n for n in names) else ", "
    return separator.join(names[:-1]) + f"{separator.rstrip()} {conjunction} " + names[-1]


async def send_answer(
    interaction: discord.Interaction, answer: answers.Answer, page: str | None = None
) -> None:
    """Post ``page`` of the answer (its first by default) with its page buttons."""
    shown_page = answer.page(page) if page else answer.pages[0]
    shown_page = shown_page or answer.pages[0]
    view = page_view(answer, shown_page.key)
    if view is None:
        await interaction.response.send_message(embed=shown_page.embed)
    else:
        await interaction.response.send_message(embed=shown_page.embed, view=view)


class Facts(commands.Cog):
    """Sourced facts about the nutrients and habits the source article links to twitching."""

    def __init__(self, bot: Steady) -> None:
        self.bot = bot

    @property
    def content(self) -> Content:
        return self.bot.content

    # --- look-ups ---------------------------------------------------------------------------

    def _match(
        self,
        value: str | None,
        what: str,
        candidates: tuple[Candidate, ...],
        nothing_close: Callable[[str], str],
    ) -> Match:
        """The entry the member means; otherwise the closest ones, or ``nothing_close``."""
        query = checked_query(value, what)
        match = find(query, candidates)
        if match is not None:
            return match
        close = suggest(query, candidates, limit=5, typing=False)
        if not close:
            raise UserFacingError(nothing_close(shown(query)))
        raise UserFacingError(
            f"I don't know a {what} called “{shown(query)}”. Did you mean {_names(close)}?"
        )

    def _no_nutrient_page(self, query: str) -> str:
        covered = _names([Candidate(n.id, n.name) for n in self.content.nutrients], "and")
        return f"I have no page for “{query}”. The nutrients I cover: {covered}."

    @staticmethod
    def _no_food_figures(query: str) -> str:
        return (
            f"I have no figures for “{query}”. To browse the foods I do have, use "
            "`/foods` with a nutrient (like `/foods magnesium`), or pick from the list as you "
            "type `/food`."
        )

    def resolve_nutrient(self, value: str | None) -> Nutrient:
        match = self._match(
            value, "nutrient", self.content.nutrient_candidates(), self._no_nutrient_page
        )
        group = self.content.nutrient_group(match.candidate.id)
        if group is not None:
            members = [self.content.nutrient(m) for m in group.members]
            names = _names([Candidate(m.id, m.name) for m in members], "and")
            raise UserFacingError(
                f"{group.name} have separate entries here: {names}. Pick one of them."
            )
        return self.content.nutrient(match.candidate.id)

    def resolve_food(self, value: str | None) -> Food:
        query = checked_query(value, "food")
        nutrient = find(query, self.content.nutrient_candidates())
        if (
            nutrient is not None
            and nutrient.exact
            and self.content.nutrient_group(nutrient.candidate.id) is None
        ):
            # "/food calcium" is someone looking for calcium-rich foods, not for the one
            # food whose name happens to mention calcium (fortified orange juice).
            name = nutrient.candidate.name
            typed = re.sub(r"\s*\(.*?\)", "", name).lower()  # "Folate (vitamin B9)" -> "folate"
            raise UserFacingError(
                f"{name} is a nutrient: `/foods {typed}` lists the foods rich in it, and "
                f"`/nutrient {typed}` explains it. `/food` takes a food, like banana or spinach."
            )
        match = self._match(query, "food", self.content.food_candidates(), self._no_food_figures)
        group = self.content.food_group(match.candidate.id)
        if group is not None:
            members = [self.content.food(m) for m in group.members]
            names = _names([Candidate(m.id, m.name) for m in members])
            raise UserFacingError(
                f"I have figures for several kinds of {group.name.lower()}: {names}. "
                "Pick one (they are in the list as you type `/food`)."
            )
        return self.content.food(match.candidate.id)

    def _nutrient_choices(self, current: str) -> list[app_commands.Choice[str]]:
        # Nothing typed yet: the nutrients in the content's order (magnesium first, as the
        # article and every list of them put it), not "B vitamins" expanded first.
        first = [Candidate(n.id, n.name) for n in self.content.nutrients]
        return expanded_choices(
            current,
            self.content.nutrient_candidates(),
            self.content.nutrient_group,
            lambda key: self.content.nutrient(key).name,
            first,
        )

    def _food_choices(self, current: str) -> list[app_commands.Choice[str]]:
        # Nothing typed yet: the foods A to Z, without the groups' members spliced in.
        first = sorted(
            (Candidate(f.id, f.name) for f in self.content.foods), key=lambda c: c.name.casefold()
        )
        return expanded_choices(
            current,
            self.content.food_candidates(),
            self.content.food_group,
            lambda key: self.content.food(key).name,
            first,
        )

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(
        name="nutrient",
        description="What a nutrient does, how much you need, and where to get it",
    )
    @app_commands.describe(name="A nutrient, like magnesium, Mg, vitamin D or B12")
    @everywhere
    async def nutrient(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]
    ) -> None:
        nutrient = self.resolve_nutrient(name)
        await send_answer(interaction, answers.nutrient_answer(self.content, nutrient))

    @nutrient.autocomplete("name")
    async def nutrient_name_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self._nutrient_choices(current)

    @app_commands.command(
        name="foods", description="Foods rich in a nutrient, with amounts and %DV"
    )
    @app_commands.describe(nutrient="A nutrient, like potassium, calcium or folate")
    @everywhere
    async def foods(
        self, interaction: discord.Interaction, nutrient: app_commands.Range[str, 1, 100]
    ) -> None:
        found = self.resolve_nutrient(nutrient)
        await send_answer(interaction, answers.foods_answer(self.content, found))

    @foods.autocomplete("nutrient")
    async def foods_nutrient_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self._nutrient_choices(current)

    @app_commands.command(
        name="food", description="Which of Steady's seven nutrients a food supplies, and how much"
    )
    @app_commands.describe(name="A food, like banana, spinach or sweet potato")
    @everywhere
    async def food(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]
    ) -> None:
        found = self.resolve_food(name)
        await send_answer(interaction, answers.food_answer(self.content, found))

    @food.autocomplete("name")
    async def food_name_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self._food_choices(current)

    @app_commands.command(
        name="compare", description="The source article's five nutrients, side by side"
    )
    @everywhere
    async def compare(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, answers.compare_answer(self.content))

    @app_commands.command(
        name="causes",
        description="Why muscles twitch: common triggers, and what the source article says",
    )
    @everywhere
    async def causes(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, answers.causes_answer(self.content))

    @app_commands.command(
        name="tips",
        description="Habits that can help: hydration, stress, sleep, stimulants, stretching",
    )
    @app_commands.describe(topic="Pick a topic, or leave empty for one tip from each")
    @app_commands.choices(topic=TOPIC_CHOICES)
    @everywhere
    async def tips(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        if topic is not None and topic not in {c.value for c in TOPIC_CHOICES}:
            raise UserFacingError(
                "Please pick a topic from the list: "
                + _names([Candidate(c.value, c.name) for c in TOPIC_CHOICES])
                + "."
            )
        await send_answer(interaction, answers.tips_answer(self.content), topic or "all")

    @app_commands.command(
        name="see-a-doctor", description="The signs that mean a twitch needs a health professional"
    )
    @everywhere
    async def see_a_doctor(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, answers.see_a_doctor_answer(self.content))

    @app_commands.command(
        name="about", description="What Steady is, its sources, and what data it keeps"
    )
    @everywhere
    async def about(self, interaction: discord.Interaction) -> None:
        embed = render.render_about(self.content, VERSION, self.bot.tree.get_commands())
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="help", description="Every Steady command, one line each")
    @everywhere
    async def help(self, interaction: discord.Interaction) -> None:
        lines = render.help_lines(self.bot.tree.get_commands())
        await interaction.response.send_message(embed=render.render_help(lines), ephemeral=True)
