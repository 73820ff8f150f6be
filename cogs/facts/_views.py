"""The page buttons under a long fact answer (Overview, Intakes, Foods, …, Sources).

They are ``DynamicItem``s: the ``custom_id`` carries the answer's kind, its subject and the
page (``steady:f:nutrient:magnesium:safety``), and a click rebuilds that page from the
content, so the buttons keep working after a restart with nothing kept in memory.

The member who asked turns the pages of the answer itself (the message is edited in place).
Anyone else who clicks gets that page privately, so reading along never changes the answer
under the asker's eyes.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from cogs.facts import _answers
from cogs.steady import steady
from cogs.tree import answer_error
from content import Content
from domain.errors import UserFacingError

_KINDS = "|".join(re.escape(kind) for kind in _answers.KINDS)
OUT_OF_DATE = "This answer has changed since it was posted. Please ask again with the command."


def build_answer(content: Content, kind: str, subject: str) -> _answers.Answer | None:
    """The answer a button belongs to, rebuilt from the content; ``None`` if it is gone."""
    try:
        if kind == "nutrient":
            return _answers.nutrient_answer(content, content.nutrient(subject))
        if kind == "foods":
            return _answers.foods_answer(content, content.nutrient(subject))
        if kind == "food":
            return _answers.food_answer(content, content.food(subject))
    except KeyError:
        return None
    builders = {
        "compare": _answers.compare_answer,
        "causes": _answers.causes_answer,
        "see-a-doctor": _answers.see_a_doctor_answer,
        "tips": _answers.tips_answer,
    }
    builder = builders.get(kind)
    return builder(content) if builder else None


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"steady:f:(?P<kind>{_KINDS}):(?P<subject>[a-z0-9-]{{0,64}}):(?P<page>[a-z0-9-]{{1,20}})",
):
    def __init__(self, kind: str, subject: str, page: str, label: str = "", current: bool = False):
        super().__init__(
            discord.ui.Button(
                label=label or page,
                style=discord.ButtonStyle.primary if current else discord.ButtonStyle.secondary,
                disabled=current,
                custom_id=f"steady:f:{kind}:{subject}:{page}",
            )
        )
        self.kind = kind
        self.subject = subject
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(match["kind"], match["subject"], match["page"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            content = steady(interaction.client).content
            answer = build_answer(content, self.kind, self.subject)
            page = answer.page(self.page) if answer else None
            if answer is None or page is None:
                raise UserFacingError(OUT_OF_DATE)
            view = page_view(answer, page.key)
            if _asked_by(interaction):
                await interaction.response.edit_message(embed=page.embed, view=view)
            else:
                await interaction.response.send_message(
                    embed=page.embed, view=view or discord.utils.MISSING, ephemeral=True
                )
        except Exception as error:  # buttons' errors don't pass through the command tree
            await answer_error(interaction, error, f"fact page {self.kind}:{self.page}")


def _asked_by(interaction: discord.Interaction) -> bool:
    """Whether the clicker is the member the answer was for (or it is their private copy)."""
    message = interaction.message
    if message is None or message.flags.ephemeral:
        return True
    metadata = message.interaction_metadata
    return metadata is None or metadata.user.id == interaction.user.id


def page_view(answer: _answers.Answer, current: str) -> discord.ui.View | None:
    """A button per page, the shown one highlighted and disabled; none for a one-page answer."""
    if len(answer.pages) < 2:
        return None
    view = discord.ui.View(timeout=None)
    for page in answer.pages:
        view.add_item(
            PageButton(answer.kind, answer.subject, page.key, page.label, page.key == current)
        )
    return view
