"""Per-member reminders and the server's daily tip: schedule maths, the dispatcher, the paced
sender, what they post, and the service ``/remind`` calls.

The bot creates one :class:`~services.engine.reminder_engine.ReminderEngine` in ``setup_hook`` and stops
it on shutdown.
"""
