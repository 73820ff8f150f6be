"""What a click on a reminder's Done, Snooze or Stop button does.

The buttons are ``DynamicItem``s matched by the ``custom_id`` the engine put on the message
(:mod:`services.engine.messages`), so they keep working after a restart without any view being
stored in memory. Who may press them is checked by the service (the reminder's member only),
since a reminder posted in a server channel is visible to everyone there.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from cogs.steady import steady
from cogs.tree import answer_error
from domain.enums import Source
from services.embeds import discord_time
from services.engine.messages import (
    BUTTON_ID_PATTERN,
    SNOOZE_MINUTES,
    ButtonAction,
    reminder_button,
)


class ReminderButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_ID_PATTERN):
    def __init__(self, action: ButtonAction, delivery_id: int) -> None:
        super().__init__(reminder_button(action, delivery_id))
        self.action = action
        self.delivery_id = delivery_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReminderButton:
        return cls(ButtonAction(match["action"]), int(match["delivery"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(await self._act(interaction), ephemeral=True)
        except Exception as error:  # buttons' errors don't pass through the command tree
            await answer_error(interaction, error, f"reminder button {self.action}")

    async def _act(self, interaction: discord.Interaction) -> str:
        buttons = steady(interaction.client).reminder_buttons
        user_id = interaction.user.id
        if self.action == ButtonAction.DONE:
            marked = await buttons.mark_done(self.delivery_id, user_id)
            if marked is None:
                return "This reminder is already marked as done ✅"
            if marked.source == Source.TEST:  # /remind stats leaves test sends out
                return "Marked as done ✅ This was a test, so it doesn't count toward your `/remind stats`."
            return "Marked as done ✅ Nice work — it counts toward your `/remind stats`."
        if self.action == ButtonAction.SNOOZE:
            at = await buttons.snooze(self.delivery_id, user_id, SNOOZE_MINUTES)
            return f"Snoozed ⏰ I'll remind you once more at {at.strftime('%H:%M')} ({discord_time(at, 'R')})."
        stopped = await buttons.stop(self.delivery_id, user_id)
        if not stopped.kinds:
            return stopped.answer
        return f"{stopped.answer} Start them again any time with `/remind start`."
