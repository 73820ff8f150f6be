"""Per-member reminders: schedule maths, the dispatcher, the paced sender.

The cog talks to :class:`ReminderService` (``engine.service``); the bot creates one
:class:`ReminderEngine` in ``setup_hook`` and stops it on shutdown.
"""

from bot.reminders.engine import ReminderEngine
from bot.reminders.sender import DeliveryResult, Occurrence
from bot.reminders.service import KindStats, MemberView, ReminderService, SubscriptionView

__all__ = [
    "DeliveryResult",
    "KindStats",
    "MemberView",
    "Occurrence",
    "ReminderEngine",
    "ReminderService",
    "SubscriptionView",
]
