"""The dashboard's aiohttp application: security headers, sessions, CSRF, rendering.

Every request passes two middlewares. ``security_headers`` puts a strict
Content-Security-Policy (no inline script or style, nothing from other sites) and friends on
every answer, errors included. ``sessions_and_csrf`` finds the session the cookie names and
refuses any state-changing request whose form does not carry that session's CSRF token, before
a handler runs, so no handler can forget the check.

Handlers live in ``auth.py`` (login/callback/logout), ``member_pages.py`` (reminders, history,
privacy) and ``server_pages.py`` (servers a member manages); they all call the same services
as the slash commands.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import discord
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from dashboard.discord_login import DiscordLogin
from dashboard.sessions import PartialGuild, Session, SessionStore, csrf_matches
from domain.errors import UserFacingError
from services.guild_config import ChannelAccess, GuildConfig
from services.member_settings import MemberSettings
from services.privacy import Privacy
from services.stats import ReminderStats
from services.subscriptions import Subscriptions

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Forms are small; anything bigger is refused before it is parsed.
MAX_BODY_BYTES = 16 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The callback URL carries the one-time code: never let it leave in a Referer.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC_DIR = Path(str(resources.files("dashboard") / "static"))


class GuildAccess(Protocol):
    """What the dashboard asks about servers, from the bot's point of view: the bot's own
    cache inside the bot process (``bot/dashboard_server.py``), Discord's REST API with the
    bot token in a web process of its own (:mod:`services.guild_facts`)."""

    async def bot_is_in(self, guild_id: int) -> bool: ...

    async def guild_name(self, guild_id: int) -> str: ...

    async def member_permissions(
        self, guild_id: int, user_id: int, *, fresh: bool = False
    ) -> discord.Permissions | None:
        """The member's server-wide permissions; None if either of them is not in it.
        ``fresh``: asked of Discord now, not from a cache (every state-changing request)."""

    async def channel_access(self, guild_id: int, channel_id: int) -> ChannelAccess: ...

    async def channel_accesses(self, guild_id: int) -> dict[int, ChannelAccess]:
        """The bot's access to every channel of the server, by id (one look-up for a page)."""

    async def channel_names(self, guild_id: int) -> dict[int, str]: ...

    async def postable_channels(self, guild_id: int) -> list[tuple[int, str]]:
        """Text and announcement channels, to pick from (``/config`` checks the choice)."""

    async def forget(self, guild_ids: list[int]) -> None:
        """Whatever is cached about these servers is asked again next time (*refresh*)."""


@dataclass(frozen=True)
class Dashboard:
    """Everything the pages use, handed in by the composition root: the services (the same
    classes the slash commands call), the bot's view of servers, login and sessions."""

    member_settings: MemberSettings
    subscriptions: Subscriptions
    stats: ReminderStats
    privacy: Privacy
    guild_config: GuildConfig
    servers: GuildAccess
    login: DiscordLogin
    sessions: SessionStore
    secure_cookies: bool

    @property
    def cookie_name(self) -> str:
        # "__Host-" makes browsers insist on Secure, Path=/ and no Domain: not settable by
        # a sibling sub-domain. It needs https, so plain-http deployments use the bare name.
        return "__Host-steady" if self.secure_cookies else "steady"


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
SESSION: web.RequestKey[Session | None] = web.RequestKey("session", object)  # type: ignore[arg-type]
FORM: web.RequestKey[dict[str, str]] = web.RequestKey("form", dict)


def dashboard_of(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]


def session_of(request: web.Request) -> Session | None:
    return request.get(SESSION)


def member_session(request: web.Request) -> Session:
    """The logged-in session of a page that requires one (checked by :func:`login_required`)."""
    session = session_of(request)
    assert session is not None and session.user_id is not None
    return session


def form_of(request: web.Request) -> dict[str, str]:
    return request.get(FORM, {})


# --- middlewares -------------------------------------------------------------------------


#: A stylesheet named with its content hash (``?v=…``) never changes under that name.
IMMUTABLE = "public, max-age=31536000, immutable"


def cache_control(request: web.Request) -> str:
    """``no-store`` for everything but a hashed static file: every page, redirect and error
    sets or depends on the session (the 302 from ``/login`` sets the cookie)."""
    if request.path.startswith("/static/") and "v" in request.query:
        return IMMUTABLE
    return "no-store"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(SECURITY_HEADERS)
        error.headers["Cache-Control"] = cache_control(request)
        raise
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache_control(request)
    return response


async def no_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp names itself and Python's version in ``Server``: nobody needs to know."""
    response.headers.popall("Server", None)


#: What an error page says, by status.
ERROR_PAGES = {
    400: ("Bad request", "This address did not make sense to the dashboard."),
    403: ("Not allowed", "You may not do that here."),
    404: ("Page not found", "There is no page at this address."),
    405: ("Not a page", "This address is for a form; open the page it belongs to."),
    413: ("Too much", "That form was too big."),
}


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404, 405, 500 and the rest in the site's own layout (not aiohttp's bare text)."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or request.path.startswith("/static/"):
            raise
        title, message = ERROR_PAGES.get(error.status, ("Something went wrong", error.reason))
        if error.status == 403 and error.text and not error.text.startswith("403"):
            message = error.text
        page = render(request, "message.html", status=error.status, title=title, message=message)
        for header in ("Allow", "Retry-After"):
            if header in error.headers:
                page.headers[header] = error.headers[header]
        return page
    except UserFacingError as error:  # Discord did not answer a server question, say
        return render(
            request, "message.html", status=503, title="Try again in a minute", message=str(error)
        )
    except Exception:
        log.exception("dashboard error on %s %s", request.method, request.path)
        return render(
            request,
            "message.html",
            status=500,
            title="Something went wrong",
            message="The dashboard could not do that just now. Nothing was changed twice; "
            "try again in a minute.",
        )


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@web.middleware
async def sessions_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/static/") or request.path == "/healthz":
        return await handler(request)  # no session: no database read for a stylesheet
    dashboard = dashboard_of(request)
    session = await dashboard.sessions.from_cookie(request.cookies.get(dashboard.cookie_name))
    request[SESSION] = session
    try:
        form = await read_form(request) if request.method not in SAFE_METHODS else None
        if form is not None and (session is None or not csrf_matches(session, form.get("csrf"))):
            response: web.StreamResponse = render(
                request,
                "message.html",
                status=403,
                title="This form has expired",
                message="Reload the page and try again.",
            )
        else:
            if form is not None:
                request[FORM] = form
            response = await handler(request)
    except web.HTTPException:
        # A redirect after a form may carry a flash for the next page: keep it.
        if session is not None:
            await dashboard.sessions.save_if_changed(session)
        raise
    if session is not None:
        await dashboard.sessions.save_if_changed(session)
    return response


async def read_form(request: web.Request) -> dict[str, str]:
    """The urlencoded form as text fields only; a file or a repeated field keeps the first."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {}
    form: dict[str, str] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, str) and key not in form:
            form[key] = value
    return form


def login_required(handler: Handler) -> Handler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        if session is None or not session.logged_in:
            if request.method == "GET":
                raise web.HTTPFound(f"/login?next={request.path}")
            raise web.HTTPForbidden(text="Log in first.")
        return await handler(request)

    return wrapper


# --- rendering ---------------------------------------------------------------------------


def discord_markup(text: str, channel_names: Mapping[int, str] | None = None) -> Markup:
    """The services answer in Discord's markdown (`code`, **bold**, <#channel>, new lines);
    show it as HTML, escaped first. A channel shows as its name (``deleted-channel`` if the
    server has no such channel any more)."""
    names = channel_names or {}
    out: list[str] = []
    for i, part in enumerate(str(escape(text)).split("`")):
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        bold = part.split("**")
        out.append("".join(f"<strong>{b}</strong>" if j % 2 else b for j, b in enumerate(bold)))
    html = "".join(out)
    html = re.sub(
        r"&lt;#(\d{1,20})&gt;",
        lambda m: f"<strong>#{escape(names.get(int(m.group(1)), 'deleted-channel'))}</strong>",
        html,
    )
    return Markup(html.replace("\n", "<br>"))


@jinja2.pass_context
def discord_filter(context: jinja2.runtime.Context, text: str) -> Markup:
    return discord_markup(text, context.get("channel_names"))


def local_time(moment: datetime | None) -> str:
    return moment.strftime("%a %d %b, %H:%M") if moment else ""


@cache
def static_url(name: str) -> str:
    """A static file's URL with a content hash, so browsers may cache it for long."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.filters["discord"] = discord_filter
    env.filters["local_time"] = local_time
    env.filters["clock"] = lambda t: t.strftime("%H:%M") if t else ""
    # Compile every template now, at start-up: compiled on first use instead, they cost the
    # first pages 40 ms of CPU on the event loop — inside the bot, the reminder sender's
    # loop, when members open the dashboard during a burst (docs/benchmarks.md).
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return env


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    session = session_of(request)
    page = request.app[TEMPLATES].get_template(template)
    body = page.render(
        session=session if session and session.logged_in else None,
        csrf=session.csrf if session else "",
        path=request.path,
        flash=pop_flash(session),
        errors=context.pop("errors", {}),
        values=context.pop("values", {}),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def pop_flash(session: Session | None) -> str | None:
    if session is None:
        return None
    message, session.flash = session.flash, None
    return message


async def guilds_with_bot(guilds: list[PartialGuild], servers: GuildAccess) -> list[PartialGuild]:
    """Those of ``guilds`` the bot is in, asked all at once (the web process asks Discord
    about each server it has not cached; the request limiter paces them)."""
    present = await asyncio.gather(*(servers.bot_is_in(g.id) for g in guilds))
    return [g for g, here in zip(guilds, present, strict=True) if here]


async def managed_guilds(session: Session, servers: GuildAccess) -> list[PartialGuild]:
    """From the member's own server list: those they manage and the bot is in."""
    return await guilds_with_bot([g for g in session.guilds if has_manage_server(g)], servers)


MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


def has_manage_server(guild: PartialGuild) -> bool:
    return guild.owner or bool(guild.permissions & (MANAGE_GUILD | ADMINISTRATOR))


# --- the application ---------------------------------------------------------------------


def page_of(path: str) -> str:
    """The page a form's address belongs to: ``/servers/1/daily-tip`` is on ``/servers/1``."""
    if path.startswith("/servers/"):
        return path.rsplit("/", 1)[0]
    if path.startswith(("/reminders/", "/settings/")):
        return "/reminders"
    if path.startswith("/privacy/"):
        return "/privacy"
    return "/"


async def back_to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(page_of(request.path))


def reload_safe(app: web.Application) -> None:
    """A refused form is shown at the form's address; reloading it or opening it again
    (a GET there) goes to the page it belongs to instead of a bare 405."""
    for resource in list(app.router.resources()):
        methods = {route.method for route in resource}
        if "POST" in methods and "GET" not in methods and isinstance(resource, web.Resource):
            resource.add_route("GET", back_to_page)


async def healthz(request: web.Request) -> web.Response:
    """For a load balancer or an orchestrator: 200 while sessions can be read, else 503."""
    ok = await dashboard_of(request).sessions.healthy()
    return web.Response(text="ok" if ok else "database unavailable", status=200 if ok else 503)


def make_app(dashboard: Dashboard) -> web.Application:
    from dashboard import auth, member_pages, server_pages

    app = web.Application(
        middlewares=[security_headers, error_pages, sessions_and_csrf],
        client_max_size=MAX_BODY_BYTES,
    )
    app.on_response_prepare.append(no_server_header)
    app[DASHBOARD] = dashboard
    app[TEMPLATES] = make_templates()
    auth.add_routes(app)
    member_pages.add_routes(app)
    server_pages.add_routes(app)
    app.router.add_get("/healthz", healthz)
    reload_safe(app)
    app.router.add_static("/static/", STATIC_DIR)
    return app
