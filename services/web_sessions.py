"""Dashboard sessions: kept in the database, named by a signed random id in one cookie.

Why server-side: the Discord access token and the member's server list must never reach the
browser, and logout must end a session for good (a self-contained signed cookie would stay
valid until it expired, even after logout). The cookie holds only ``<id>.<signature>``; the
signature (HMAC-SHA256 with a key derived from ``DASHBOARD_SECRET``) lets a forged or
tampered cookie be refused before any look-up, and changing the secret ends every session.

Why in the database (:mod:`storage.dashboard_sessions`): the dashboard may run as several
stateless replicas behind a load balancer (``python -m bot dashboard``), so any replica must
find any session, a restart must keep members logged in, and a logout at one replica must be
refused at every other. The row is keyed by the SHA-256 of the id, so the table alone gives
nobody a cookie.

The Discord access token is stored encrypted with Fernet (``cryptography``: AES-128-CBC and
HMAC-SHA256, authenticated, no hand-rolled crypto) under a key derived from
``DASHBOARD_SECRET`` with HKDF, so a copy of the database (a backup) does not hand out
members' tokens. A token that cannot be decrypted (the secret changed) ends the session.

A privacy deletion (``/privacy delete`` or the Privacy page) deletes every session of the
member in the same transaction as the rest of their data (:mod:`services.privacy`).

Expired rows are pruned at most once a minute by whichever replica is creating a session.
Each session has a CSRF token that every state-changing form must echo back.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage import dashboard_sessions as rows
from storage.database import Database

log = logging.getLogger(__name__)

#: A logged-in session ends this long after login, whatever the member does.
SESSION_LIFETIME = 8 * 3600.0
#: A login that was started but not finished (state + PKCE verifier) is kept this long.
LOGIN_LIFETIME = 10 * 60.0
#: Expired rows are deleted at most this often (per replica).
PRUNE_EVERY_S = 60.0


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
    # What the session was when read or last written: a request saves it only if it changed.
    stored_as: tuple[object, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions over the database; every replica built with the same secret shares them."""

    def __init__(
        self, db: Database, secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self._key = _derive(secret, b"steady-dashboard-session-cookie")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"steady-access-token")))
        self._clock = clock
        self._last_prune = float("-inf")

    # --- cookie value ----------------------------------------------------------------------

    def _signature(self, session_id: str) -> str:
        digest = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def cookie_value(self, session: Session) -> str:
        return f"{session.id}.{self._signature(session.id)}"

    def _verified_id(self, value: str | None) -> str | None:
        if not value or len(value) > 200 or "." not in value:
            return None
        session_id, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._signature(session_id)):
            return None
        return session_id

    async def from_cookie(self, value: str | None) -> Session | None:
        """The live session a cookie names, or None (unsigned, tampered, expired, ended)."""
        session_id = self._verified_id(value)
        if session_id is None:
            return None
        row = await rows.get(self.db, id_hash(session_id), self._clock())
        if row is None:
            return None
        token: str | None = None
        if row.access_token is not None:
            try:
                token = self._fernet.decrypt(row.access_token.encode()).decode()
            except InvalidToken:
                await rows.delete(self.db, row.id_hash)
                return None
        session = Session(
            id=session_id,
            csrf=row.csrf,
            expires_at=float(row.expires_at),
            user_id=row.user_id,
            username=row.username,
            guilds=_guilds_from_json(row.guilds),
            guilds_fetched_at=row.guilds_fetched_at,
            access_token=token,
            login_state=row.login_state,
            code_verifier=row.code_verifier,
            next_path=row.next_path,
            flash=row.flash,
        )
        session.stored_as = _snapshot(session)
        return session

    # --- lifecycle -------------------------------------------------------------------------

    async def new(self, lifetime: float = LOGIN_LIFETIME, *, next_path: str = "/") -> Session:
        await self._prune()
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_at=float(int(self._clock() + lifetime)),
            next_path=next_path,
        )
        return session

    async def begin_login(self, session: Session) -> None:
        """Store the pending login (its state and PKCE verifier set on ``session``) now: the
        callback may reach another replica."""
        await self.save(session)

    async def take_login(self, session: Session) -> tuple[str, str] | None:
        """The pending login's state and verifier, once: a second call, here or at any other
        replica, gets None."""
        taken = await rows.take_login(self.db, id_hash(session.id), self._clock())
        session.login_state = session.code_verifier = None
        session.stored_as = _snapshot(session)
        return taken

    async def log_in(
        self,
        old: Session,
        *,
        user_id: int,
        username: str,
        access_token: str,
        guilds: list[PartialGuild],
    ) -> Session:
        """A fresh session for the member: a new id and CSRF token (no session fixation)."""
        await self.end(old)
        session = await self.new(SESSION_LIFETIME, next_path=old.next_path)
        session.user_id = user_id
        session.username = username
        session.access_token = access_token
        session.guilds = guilds
        session.guilds_fetched_at = self._clock()
        await self.save(session)
        return session

    async def save(self, session: Session) -> None:
        """Write the session (all of it: a row is small, and a replica may have changed it)."""
        await rows.put(self.db, self._row(session))
        session.stored_as = _snapshot(session)

    async def save_if_changed(self, session: Session) -> None:
        """After a request: write the session if the request changed it (a flash, a fresh
        server list); else nothing. An ended session is not written back — neither this
        request's nor one ended meanwhile elsewhere (a logout at another replica, a privacy
        deletion from Discord): only a row still there is updated, none is made again."""
        if session.stored_as is None or session.stored_as == _snapshot(session):
            return
        if await rows.update(self.db, self._row(session)):
            session.stored_as = _snapshot(session)
        else:
            session.stored_as = None

    def _row(self, session: Session) -> rows.SessionRow:
        token = (
            None
            if session.access_token is None
            else self._fernet.encrypt(session.access_token.encode()).decode()
        )
        return rows.SessionRow(
            id_hash=id_hash(session.id),
            csrf=session.csrf,
            expires_at=int(session.expires_at),
            user_id=session.user_id,
            username=session.username,
            guilds=json.dumps([dataclasses.asdict(g) for g in session.guilds]),
            guilds_fetched_at=session.guilds_fetched_at,
            access_token=token,
            login_state=session.login_state,
            code_verifier=session.code_verifier,
            next_path=session.next_path,
            flash=session.flash,
        )

    def now(self) -> float:
        return self._clock()

    async def end(self, session: Session) -> None:
        """Logout: the row goes, so every replica refuses the cookie from now on."""
        session.stored_as = None  # nothing to write back after the request
        await rows.delete(self.db, id_hash(session.id))

    async def _prune(self) -> None:
        now = self._clock()
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        try:
            gone = await rows.prune(self.db, now)
        except Exception as error:  # pruning is housekeeping: a login must not fail over it
            log.warning("could not prune dashboard sessions: %s", error.__class__.__name__)
            return
        if gone:
            log.info("pruned %d expired dashboard sessions", gone)

    async def healthy(self) -> bool:
        """Whether sessions can be read now (the web process's ``/healthz``)."""
        try:
            await rows.ping(self.db)
        except Exception:
            return False
        return True

    async def count(self) -> int:
        return await rows.count(self.db)


def _snapshot(session: Session) -> tuple[object, ...]:
    """The session's fields as they are now (the server list copied)."""
    return tuple(
        tuple(getattr(session, f.name)) if f.name == "guilds" else getattr(session, f.name)
        for f in dataclasses.fields(session)
        if f.name != "stored_as"
    )


def _guilds_from_json(text: str) -> list[PartialGuild]:
    try:
        return [PartialGuild(**item) for item in json.loads(text)]
    except (TypeError, ValueError, KeyError):
        return []


def csrf_matches(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent or "")
