"""The web dashboard: a member's reminders, history and privacy, and an admin's servers.

A front-end beside the cogs, over the same services. It is handed those services at
construction (:class:`~dashboard.app.Dashboard`); the composition root
(``bot/dashboard_server.py``) builds and serves it.
"""
