"""``GET /login``, ``GET /callback``, ``POST /logout``: Discord login and the session cookie."""

from __future__ import annotations

from aiohttp import web

from dashboard.app import dashboard_of, render, session_of
from dashboard.discord_login import LoginFailed
from dashboard.sessions import LOGIN_LIFETIME, SESSION_LIFETIME, Session

MAX_NEXT = 200


def safe_next(value: str | None) -> str:
    """Where to land after login: a path on this site only (no open redirect).

    ``//evil.example`` and ``/\\evil.example`` are other sites to a browser, and a scheme or a
    control character has no business in a local path, so any of these gives ``/``.
    """
    if (
        not value
        or len(value) > MAX_NEXT
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(c in value for c in "\\:@")
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)
    ):
        return "/"
    return value


def set_cookie(response: web.StreamResponse, request: web.Request, session: Session) -> None:
    dashboard = dashboard_of(request)
    response.set_cookie(
        dashboard.cookie_name,
        dashboard.sessions.cookie_value(session),
        max_age=int(SESSION_LIFETIME if session.logged_in else LOGIN_LIFETIME),
        path="/",
        httponly=True,
        samesite="Lax",  # sent on the redirect back from Discord, not on cross-site POSTs
        secure=dashboard.secure_cookies,
    )


async def index(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if session is not None and session.logged_in:
        raise web.HTTPFound("/reminders")
    return render(request, "index.html", title="Steady", deleted="deleted" in request.query)


async def login(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    old = session_of(request)
    if old is not None:
        await dashboard.sessions.end(old)
    session = await dashboard.sessions.new(next_path=safe_next(request.query.get("next")))
    url = dashboard.login.begin(session)
    # Stored before the browser goes: Discord may send it back to another replica.
    await dashboard.sessions.begin_login(session)
    response = web.HTTPFound(url)
    set_cookie(response, request, session)
    raise response


async def callback(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    session = session_of(request)
    query = request.query
    if "error" in query:
        return render(
            request,
            "message.html",
            status=400,
            title="Login cancelled",
            message="Discord did not log you in. You can try again.",
            login_link=True,
        )
    if session is None or "code" not in query or "state" not in query:
        return render(
            request,
            "message.html",
            status=400,
            title="Login expired",
            message="This login link has expired or was not started here. Log in again.",
            login_link=True,
        )
    # The pending login is taken from the database once: a replayed callback, at this
    # replica or another, finds nothing.
    taken = await dashboard.sessions.take_login(session)
    session.login_state, session.code_verifier = taken if taken else (None, None)
    try:
        done = await dashboard.login.finish(
            session, code=query["code"][:512], state=query["state"][:512]
        )
    except LoginFailed as error:
        return render(
            request,
            "message.html",
            status=400,
            title="Login failed",
            message=str(error),
            login_link=True,
        )
    member = await dashboard.sessions.log_in(
        session,
        user_id=done.user.id,
        username=done.user.username,
        access_token=done.access_token,
        guilds=done.guilds,
    )
    response = web.HTTPFound(member.next_path)
    set_cookie(response, request, member)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    session = session_of(request)
    if session is not None:
        await dashboard.sessions.end(session)  # the row goes: every replica refuses it now
    response = web.HTTPFound("/")
    response.del_cookie(dashboard.cookie_name, path="/")
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/login", login)
    app.router.add_get("/callback", callback)
    app.router.add_post("/logout", logout)
