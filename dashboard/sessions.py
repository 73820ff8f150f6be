"""Dashboard sessions, as the pages see them: kept in the database by the sessions service
(:mod:`services.web_sessions`, which says why and how), named by a signed random id in one
cookie. Re-exported here so the pages import them from their own package."""

from __future__ import annotations

from services.web_sessions import (
    LOGIN_LIFETIME,
    SESSION_LIFETIME,
    PartialGuild,
    Session,
    SessionStore,
    csrf_matches,
)

__all__ = [
    "LOGIN_LIFETIME",
    "SESSION_LIFETIME",
    "PartialGuild",
    "Session",
    "SessionStore",
    "csrf_matches",
]
