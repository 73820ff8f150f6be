"""The buttons on a reminder: Done, Snooze 30 min, Stop.

They are ``DynamicItem``s: everything a click needs (the action and the ledger row of the
reminder) is in the ``custom_id``, so the buttons keep working after a restart without any
view being stored in memory. Who may press them is checked by the service (the reminder's
member only), since a reminder posted in a server channel is visible to everyone there.
"""

from __future__ import annotations

import re

import discord

from bot.embeds import discord_time
from bot.tree import answer_error

SNOOZE_MINUTES = 30

_BUTTONS: dict[str, tuple[str, discord.ButtonStyle, str]] = {
    "done": ("Done", discord.ButtonStyle.success, "✅"),
    "snooze": (f"Snooze {SNOOZE_MINUTES} min", discord.ButtonStyle.secondary, "⏰"),
    "stop": ("Stop", discord.ButtonStyle.danger, "🛑"),
}


class ReminderButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"steady:r:(?P<action>done|snooze|stop):(?P<delivery>[0-9]{1,19})",
):
    def __init__(self, action: str, delivery_id: int) -> None:
        label, style, emoji = _BUTTONS[action]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, emoji=emoji, custom_id=f"steady:r:{action}:{delivery_id}"
            )
        )
        self.action = action
        self.delivery_id = delivery_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ReminderButton:
        return cls(match["action"], int(match["delivery"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(await self._act(interaction), ephemeral=True)
        except Exception as error:  # buttons' errors don't pass through the command tree
            await answer_error(interaction, error, f"reminder button {self.action}")

    async def _act(self, interaction: discord.Interaction) -> str:
        service = interaction.client.reminder_service  # type: ignore[attr-defined]
        user_id = interaction.user.id
        if self.action == "done":
            if await service.mark_done(self.delivery_id, user_id):
                return "Marked as done ✅ Nice work — it counts toward your `/remind stats`."
            return "This reminder is already marked as done ✅"
        if self.action == "snooze":
            at = await service.snooze(self.delivery_id, user_id, SNOOZE_MINUTES)
            return f"Snoozed ⏰ I'll remind you once more at {at.strftime('%H:%M')} ({discord_time(at, 'R')})."
        kind = await service.stop_from_button(self.delivery_id, user_id)
        return f"Stopped your {kind} reminders. Start them again any time with `/remind start`."


def reminder_buttons(delivery_id: int) -> list[dict]:
    """The buttons' component dicts for a reminder message."""
    return [ReminderButton(action, delivery_id).item.to_component_dict() for action in _BUTTONS]
