"""Pages for servers the member manages (Manage Server) and the bot is in."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.app import dashboard_of, login_required, managed_guilds, member_session, render


@login_required
async def servers(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    session = member_session(request)
    return render(
        request,
        "servers.html",
        title="My servers",
        guilds=managed_guilds(session, dashboard.servers),
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/servers", servers)
