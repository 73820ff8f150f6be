"""What the sender posts: a member's reminder (embed and buttons) and a server's daily tip.

Built beside the engine, not in a cog: the engine renders every occurrence it sends through
:class:`MessageRenderer`, and the reminders cog only answers clicks on the buttons whose
``custom_id`` is defined here (:data:`BUTTON_ID_PATTERN`). Pure functions apart from the
renderer's one look-up of the daily tip's zone; the sender adds the ``nonce`` and, in a
server channel, the member's mention.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import discord

from content import Content
from domain.enums import Source
from domain.kinds import ReminderKind, spec_of
from domain.schedule import zone_or_utc
from services.embeds import STEADY_COLOUR
from services.engine.sender import Occurrence
from storage import reminders
from storage.database import Database

T = TypeVar("T")

SNOOZE_MINUTES = 30

# The daily tip is headed by its topic ("Stretching for night cramps"), so a cramp tip never
# sits under a heading that promises calmer twitching.
DAILY_TIP_TITLE = "💡 Today's tip: {topic}"


class ButtonAction(StrEnum):
    DONE = "done"
    SNOOZE = "snooze"
    STOP = "stop"


@dataclass(frozen=True)
class ButtonLook:
    label: str
    style: discord.ButtonStyle
    emoji: str


BUTTONS: dict[ButtonAction, ButtonLook] = {
    ButtonAction.DONE: ButtonLook("Done", discord.ButtonStyle.success, "✅"),
    ButtonAction.SNOOZE: ButtonLook(
        f"Snooze {SNOOZE_MINUTES} min", discord.ButtonStyle.secondary, "⏰"
    ),
    ButtonAction.STOP: ButtonLook("Stop", discord.ButtonStyle.danger, "🛑"),
}

# A button's custom_id carries everything a click needs (the action and the reminder's ledger
# row), so the buttons keep working after a restart with nothing kept in memory.
BUTTON_ID_PATTERN = r"steady:r:(?P<action>" + "|".join(BUTTONS) + r"):(?P<delivery>[0-9]{1,19})"


def button_custom_id(action: ButtonAction, delivery_id: int) -> str:
    return f"steady:r:{action}:{delivery_id}"


def reminder_button(action: ButtonAction, delivery_id: int) -> discord.ui.Button[Any]:
    look = BUTTONS[action]
    return discord.ui.Button(
        label=look.label,
        style=look.style,
        emoji=look.emoji,
        custom_id=button_custom_id(action, delivery_id),
    )


def reminder_buttons(delivery_id: int) -> list[dict[str, Any]]:
    """The component dicts of a reminder's Done / Snooze / Stop buttons."""
    return [dict(reminder_button(action, delivery_id).to_component_dict()) for action in BUTTONS]


def pick(items: list[T], key: int) -> T:
    """Rotate through ``items`` by a number that grows with each reminder (the ledger id)."""
    return items[key % len(items)]


def reminder_embed(content: Content, occurrence: Occurrence) -> discord.Embed:
    message = pick(content.reminder_messages(occurrence.kind), occurrence.delivery_id)
    tip = pick(content.tips_for_kind(occurrence.kind), occurrence.delivery_id // 2)
    title = spec_of(occurrence.kind).title
    if occurrence.source == Source.SNOOZE:
        title += " (snoozed)"
    elif occurrence.source == Source.TEST:
        title += " (test)"
    embed = discord.Embed(title=title, description=message, colour=STEADY_COLOUR)
    # A tip is read on its own here: its sources as linked names, not [S17] tags. Every
    # reminder, like every health answer, ends with the disclaimer and the "see a doctor if…"
    # pointer.
    embed.add_field(name="Tip", value=content.readable(tip.text), inline=False)
    embed.set_footer(text=content.health_footer)
    return embed


def reminder_payload(content: Content, occurrence: Occurrence) -> dict[str, Any]:
    """The POST /channels/{id}/messages body for a member's reminder (without the nonce).

    It pings nobody: in a server channel the sender prefixes the member's mention and allows
    only that ping.
    """
    return {
        "embeds": [reminder_embed(content, occurrence).to_dict()],
        "components": [{"type": 1, "components": reminder_buttons(occurrence.delivery_id)}],
        "allowed_mentions": {"parse": []},
    }


def daily_tip_payload(content: Content, position: int, guild_id: int) -> dict[str, Any]:
    """A server's daily tip. Tips rotate topic by topic from a per-server starting point,
    so no tip repeats until all were shown."""
    tips = content.daily_tip_rotation()
    tip_id, text = tips[(guild_id + position) % len(tips)]
    title = DAILY_TIP_TITLE.format(topic=content.topic_of_tip(tip_id).name)
    embed = discord.Embed(title=title, description=content.readable(text), colour=STEADY_COLOUR)
    embed.set_footer(text=content.health_footer)
    return {"embeds": [embed.to_dict()], "components": [], "allowed_mentions": {"parse": []}}


class MessageRenderer:
    """The sender's ``render``: an occurrence in, the message body to post out."""

    def __init__(self, db: Database, content: Content) -> None:
        self.db = db
        self.content = content

    async def __call__(self, occurrence: Occurrence) -> dict[str, Any]:
        if occurrence.kind == ReminderKind.DAILY_TIP:
            assert occurrence.guild_id is not None
            return daily_tip_payload(
                self.content, await self.tip_day(occurrence), occurrence.guild_id
            )
        return reminder_payload(self.content, occurrence)

    async def tip_day(self, occurrence: Occurrence) -> int:
        """The daily tip's place in the rotation: the local date it is posted on.

        One post a day means consecutive posts fall on consecutive local dates, so stepping
        through the tips by date shows every tip before any repeats, and a resend of the same
        occurrence after a crash picks the same tip. (Counting past posts would stall once
        old ledger rows are pruned.)
        """
        subscription = (
            await reminders.get(self.db, occurrence.subscription_id)
            if occurrence.subscription_id
            else None
        )
        zone = zone_or_utc(subscription.zone if subscription else None)
        return occurrence.scheduled_at.astimezone(zone).date().toordinal()
