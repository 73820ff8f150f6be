"""Dashboard sessions: kept on the server, named by a signed random id in one cookie.

Why server-side: the Discord access token and the member's server list must never reach the
browser, and logout must end a session for good (a self-contained signed cookie would stay
valid until it expired, even after logout). The cookie holds only ``<id>.<signature>``; the
signature (HMAC-SHA256 with ``DASHBOARD_SECRET``) lets a forged or tampered cookie be
refused before any look-up, and changing the secret ends every session.

Sessions live in this process's memory: a restart logs everyone out, which is the safe
failure. Each has a CSRF token that every state-changing form must echo back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: A logged-in session ends this long after login, whatever the member does.
SESSION_LIFETIME = 8 * 3600.0
#: A login that was started but not finished (state + PKCE verifier) is kept this long.
LOGIN_LIFETIME = 10 * 60.0
#: Memory bound: past this many sessions the oldest are dropped (those members log in again).
MAX_SESSIONS = 50_000


@dataclass(frozen=True)
class PartialGuild:
    """One entry of Discord's ``/users/@me/guilds`` for the logged-in member."""

    id: int
    name: str
    permissions: int
    owner: bool = False


@dataclass
class Session:
    id: str
    csrf: str
    expires_at: float
    user_id: int | None = None
    username: str = ""
    guilds: list[PartialGuild] = field(default_factory=list)
    guilds_fetched_at: float = 0.0
    # Never rendered, never logged: used only to ask Discord for the member's server list.
    access_token: str | None = field(default=None, repr=False)
    # While a login is under way: the OAuth2 state and PKCE verifier, and where to go after.
    login_state: str | None = field(default=None, repr=False)
    code_verifier: str | None = field(default=None, repr=False)
    next_path: str = "/"
    flash: str | None = None  # a one-time confirmation for the next page

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None


class SessionStore:
    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = hashlib.sha256(b"steady-dashboard-session:" + secret.encode()).digest()
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    # --- cookie value ----------------------------------------------------------------------

    def _signature(self, session_id: str) -> str:
        digest = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def cookie_value(self, session: Session) -> str:
        return f"{session.id}.{self._signature(session.id)}"

    def from_cookie(self, value: str | None) -> Session | None:
        """The live session a cookie names, or None (unsigned, tampered, expired, ended)."""
        if not value or len(value) > 200 or "." not in value:
            return None
        session_id, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._signature(session_id)):
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            self._sessions.pop(session_id, None)
            return None
        return session

    # --- lifecycle -------------------------------------------------------------------------

    def new(self, lifetime: float = LOGIN_LIFETIME) -> Session:
        self._evict()
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock() + lifetime,
        )
        self._sessions[session.id] = session
        return session

    def log_in(
        self,
        old: Session,
        *,
        user_id: int,
        username: str,
        access_token: str,
        guilds: list[PartialGuild],
    ) -> Session:
        """A fresh session for the member: a new id and CSRF token (no session fixation)."""
        self.end(old)
        session = self.new(SESSION_LIFETIME)
        session.user_id = user_id
        session.username = username
        session.access_token = access_token
        session.guilds = guilds
        session.guilds_fetched_at = self._clock()
        session.next_path = old.next_path
        return session

    def now(self) -> float:
        return self._clock()

    def end(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def _evict(self) -> None:
        now = self._clock()
        if len(self._sessions) < MAX_SESSIONS:
            return
        for session_id in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[session_id]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]  # dicts keep insertion order

    def __len__(self) -> int:
        return len(self._sessions)


def csrf_matches(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent or "")
