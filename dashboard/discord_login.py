"""Log in with Discord: OAuth2 authorization code with ``state`` and PKCE, through authlib.

authlib builds the authorize URL (state, S256 code challenge), exchanges the code at the
token endpoint and signs the API calls with the bearer token. What stays here is Discord's
side of it: which URLs, which scopes, and reading the user and their server list.

The access token only ever lives in the server-side session (dashboard/sessions.py);
neither it nor the client secret is logged, and the browser sees neither.
"""

from __future__ import annotations

import hmac
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from dashboard.sessions import PartialGuild, Session

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
TIMEOUT_S = 10.0


class LoginFailed(Exception):
    """The login cannot be finished; ``str()`` is shown to the member."""


@dataclass(frozen=True)
class DiscordUser:
    id: int
    username: str


@dataclass(frozen=True)
class LoggedIn:
    user: DiscordUser
    access_token: str
    guilds: list[PartialGuild]


def parse_guilds(payload: object) -> list[PartialGuild]:
    """Discord's ``/users/@me/guilds`` list; ``permissions`` is the member's, as a string."""
    if not isinstance(payload, list):
        raise LoginFailed("Discord sent an unexpected server list; please try again.")
    guilds = []
    for item in payload:
        try:
            guilds.append(
                PartialGuild(
                    id=int(item["id"]),
                    name=str(item.get("name") or "")[:100],
                    permissions=int(item.get("permissions") or 0),
                    owner=bool(item.get("owner")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # one odd entry must not lock the member out of the rest
    return guilds


class DiscordLogin:
    def __init__(
        self,
        *,
        client_id: int,
        client_secret: str,
        authorize_url: str,
        api_base: str,
        redirect_uri: str,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.authorize_url = authorize_url
        self.api_base = api_base.rstrip("/")
        self.redirect_uri = redirect_uri
        self._tls: ssl.SSLContext | None = None

    def _client(self, token: dict | None = None) -> AsyncOAuth2Client:
        # Every client gets the same TLS context: a client builds its own by default, loading
        # the CA bundle — 20 ms of CPU on the event loop, and a login makes three clients.
        # Inside the bot that held up the reminder sender: 50 members logging in during a
        # burst cost it 3 s of sends (docs/benchmarks.md).
        if self._tls is None:
            self._tls = httpx2.create_ssl_context()
        return AsyncOAuth2Client(
            client_id=str(self.client_id),
            client_secret=self._client_secret,
            scope=SCOPES,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token=token,
            timeout=TIMEOUT_S,
            verify=self._tls,
        )

    def begin(self, session: Session) -> str:
        """Where to send the browser; the state and PKCE verifier stay in ``session``."""
        verifier = generate_token(64)
        client = self._client()
        url, state = client.create_authorization_url(
            self.authorize_url, state=generate_token(32), code_verifier=verifier
        )
        session.login_state = state
        session.code_verifier = verifier
        return url

    async def finish(self, session: Session, *, code: str, state: str) -> LoggedIn:
        """Check ``state``, trade the code (with the PKCE verifier) for a token, read the user."""
        expected, verifier = session.login_state, session.code_verifier
        # One use only: a replayed callback finds nothing to match.
        session.login_state = session.code_verifier = None
        if not expected or not verifier or not hmac.compare_digest(expected, state):
            raise LoginFailed("This login link has expired or was not started here. Log in again.")
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    f"{self.api_base}/oauth2/token", code=code, code_verifier=verifier
                )
            except (OAuthError, httpx2.HTTPError, ValueError) as error:
                # The error's class and Discord's error code only: never the code or a token.
                log.warning("Discord refused the login code: %s", error.__class__.__name__)
                raise LoginFailed(
                    "Discord did not accept this login. Please log in again."
                ) from None
        async with self._client(token=dict(token)) as client:
            try:
                user = await self._get(client, "/users/@me")
                guilds = parse_guilds(await self._get(client, "/users/@me/guilds"))
                user_id = int(user["id"])
            except (httpx2.HTTPError, KeyError, TypeError, ValueError) as error:
                log.warning("could not read the member from Discord: %s", error.__class__.__name__)
                raise LoginFailed("Discord could not tell who you are. Please try again.") from None
        name = str(user.get("global_name") or user.get("username") or user_id)[:100]
        return LoggedIn(DiscordUser(user_id, name), str(token["access_token"]), guilds)

    async def guilds(self, access_token: str) -> list[PartialGuild]:
        """The member's servers now (their permissions may have changed since login)."""
        async with self._client(token={"access_token": access_token, "token_type": "Bearer"}) as c:
            return parse_guilds(await self._get(c, "/users/@me/guilds"))

    async def _get(self, client: AsyncOAuth2Client, path: str) -> Any:
        response = await client.get(f"{self.api_base}{path}")
        response.raise_for_status()
        return response.json()
