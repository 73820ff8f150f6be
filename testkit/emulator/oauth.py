"""Discord's OAuth2 for "Log in with Discord": authorize page, token endpoint, bearer calls.

What it checks is what Discord checks: the client id, a redirect URI registered for the
application (exact match), ``response_type=code``, known scopes; at the token endpoint the
client secret (HTTP Basic or form), a code used once and within 10 minutes, the same
redirect URI, and the PKCE ``code_verifier`` against the S256 challenge. Bearer tokens then
read ``/users/@me`` (scope ``identify``) and ``/users/@me/guilds`` (scope ``guilds``), the
latter with the member's server-wide ``permissions`` as Discord computes them.

Who "is logged in to Discord" in the browser: the authorize page asks for a username (a
test's browser fills it in); :meth:`OAuth.approve` does the same without a browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from testkit.emulator import errors as err
from testkit.emulator import permissions as perms

if TYPE_CHECKING:
    from testkit.emulator.server import Emulator
    from testkit.emulator.state import User

AUTHORIZE_PATH = "/oauth2/authorize"
BEARER_PATHS = ("/users/@me", "/users/@me/guilds")
KNOWN_SCOPES = {"identify", "guilds", "email", "guilds.members.read"}
CODE_LIFETIME = 600.0
TOKEN_LIFETIME = 604_800
DEFAULT_CLIENT_SECRET = "emulator-client-secret"


@dataclass
class Grant:
    user_id: int
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    expires_at: float


@dataclass
class OAuth:
    emulator: Emulator
    client_secret: str = DEFAULT_CLIENT_SECRET
    #: Redirect URIs registered in the (emulated) developer portal.
    redirect_uris: list[str] = field(default_factory=list)
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    #: Why each refused token request was refused ("invalid_grant: …"), for tests to read.
    refusals: list[str] = field(default_factory=list)

    # --- authorize ---------------------------------------------------------------------------

    def _check_authorize(self, params: dict[str, str]) -> str | None:
        """What Discord's authorize page would complain about, or None."""
        if params.get("client_id") != str(self.emulator.world.application_id):
            return "Invalid OAuth2 client_id"
        if params.get("redirect_uri") not in self.redirect_uris:
            return "Invalid OAuth2 redirect_uri"
        if params.get("response_type") != "code":
            return "Invalid response_type"
        scopes = set(params.get("scope", "").split())
        if not scopes or not scopes <= KNOWN_SCOPES:
            return "Invalid scope"
        if "code_challenge" in params and params.get("code_challenge_method") != "S256":
            return "Invalid code_challenge_method"
        return None

    def _grant(self, params: dict[str, str], user: User) -> str:
        """The redirect back to the app, with a new one-time code and the state unchanged."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            user_id=user.id,
            redirect_uri=params["redirect_uri"],
            scopes=frozenset(params["scope"].split()),
            challenge=params.get("code_challenge"),
            expires_at=time.monotonic() + CODE_LIFETIME,
        )
        back = {"code": code}
        if "state" in params:
            back["state"] = params["state"]
        return f"{params['redirect_uri']}?{urlencode(back)}"

    def approve(self, authorize_url: str, user: User) -> str:
        """``user`` clicks Authorize: the URL Discord redirects the browser back to."""
        params = dict(parse_qsl(urlsplit(authorize_url).query))
        problem = self._check_authorize(params)
        if problem:
            raise AssertionError(f"Discord would refuse this authorize URL: {problem}")
        return self._grant(params, user)

    async def authorize_page(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        problem = self._check_authorize(params)
        if problem:
            return _page(f"<p role='alert'>{html.escape(problem)}</p>", status=400)
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in params.items()
        )
        return _page(
            "<h1>Log in to Discord (emulator)</h1>"
            f"<form method='post' action='{AUTHORIZE_PATH}'>{hidden}"
            "<label for='username'>Username</label> <input id='username' name='username'>"
            "<button type='submit' name='decision' value='authorize'>Authorize</button>"
            "<button type='submit' name='decision' value='cancel'>Cancel</button></form>"
        )

    async def authorize_submit(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        decision = form.pop("decision", "")
        username = form.pop("username", "").strip()
        problem = self._check_authorize(form)
        if problem:
            return _page(f"<p role='alert'>{html.escape(problem)}</p>", status=400)
        if decision == "cancel":
            back = {"error": "access_denied", "state": form.get("state", "")}
            raise web.HTTPFound(f"{form['redirect_uri']}?{urlencode(back)}")
        user = next((u for u in self.emulator.world.users.values() if u.username == username), None)
        if user is None or user.bot:
            return _page("<p role='alert'>Unknown user</p>", status=400)
        raise web.HTTPFound(self._grant(form, user))

    # --- token -------------------------------------------------------------------------------

    def _refuse(self, error: str, description: str, status: int = 400) -> web.Response:
        self.refusals.append(f"{error}: {description}")
        self.emulator.notify()
        return err.json_response({"error": error, "error_description": description}, status=status)

    def _client_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        return client_id == str(self.emulator.world.application_id) and hmac.compare_digest(
            secret or "", self.client_secret
        )

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._client_ok(request, form):
            return self._refuse("invalid_client", "Invalid client", status=401)
        if form.get("grant_type") != "authorization_code":
            return self._refuse("unsupported_grant_type", "Unsupported grant type")
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.expires_at < time.monotonic():
            return self._refuse("invalid_grant", 'Invalid "code" in request.')
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("invalid_grant", 'Invalid "redirect_uri" in request.')
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not hmac.compare_digest(computed, grant.challenge):
                return self._refuse("invalid_grant", "Invalid code verifier")
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant
        return err.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(sorted(grant.scopes)),
            }
        )

    # --- bearer calls ------------------------------------------------------------------------

    def grant_for(self, request: web.Request) -> Grant | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.tokens.get(header[len("Bearer ") :])

    def revoke_all(self, user: User) -> None:
        """The member de-authorised the app in Discord's settings."""
        for token in [t for t, g in self.tokens.items() if g.user_id == user.id]:
            del self.tokens[token]

    async def bearer_call(self, request: web.Request, path: str) -> web.Response:
        grant = self.grant_for(request)
        world = self.emulator.world
        if grant is None or grant.user_id not in world.users:
            return err.error_response(err.UNAUTHORIZED)
        user = world.users[grant.user_id]
        if path == "/users/@me":
            if "identify" not in grant.scopes:
                return err.error_response(err.UNAUTHORIZED)
            return err.json_response(user.to_payload())
        if "guilds" not in grant.scopes:
            return err.error_response(err.MISSING_ACCESS)
        return err.json_response(
            [
                _partial_guild(guild, user)
                for guild in world.guilds.values()
                if user.id in guild.members
            ]
        )


def _partial_guild(guild: Any, user: User) -> dict[str, Any]:
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "banner": None,
        "owner": guild.owner_id == user.id,
        "permissions": str(perms.base_permissions(guild, guild.members[user.id])),
        "features": [],
    }


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><head><title>Discord</title></head><body>{body}</body></html>",
        content_type="text/html",
        status=status,
    )


def add_routes(app: web.Application, oauth: OAuth, api_prefix: str) -> None:
    app.router.add_get(AUTHORIZE_PATH, oauth.authorize_page)
    app.router.add_post(AUTHORIZE_PATH, oauth.authorize_submit)
    app.router.add_post(f"{api_prefix}/oauth2/token", oauth.token)
    app.router.add_get(f"{api_prefix}/users/@me/guilds", _bearer(oauth, "/users/@me/guilds"))


def _bearer(oauth: OAuth, path: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return await oauth.bearer_call(request, path)

    return handler
