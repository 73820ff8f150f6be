"""Pages for the servers a member manages: what ``/config`` does, on the same service.

Who may see a server's page is asked again at every request
(:meth:`GuildAccess.member_permissions`: the member's roles, the bot still in it) — of the
bot's own view inside the bot process, of Discord's REST API in a web process of its own (a
page within the facts' short cache, every form fresh) — and judged by ``check_can_manage``,
the rule and wording ``/config`` uses. The server list comes from the member's own Discord server list (refreshed at most once a minute), so a
server only shows up where the member has Manage Server and the bot is present. A channel is
checked as ``/config`` checks it (``channel_access``); a channel id edited in the form, from
another server or of no channel at all, is refused as not a channel of this server.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from dashboard.app import (
    Handler,
    dashboard_of,
    login_required,
    managed_guilds,
    member_session,
    render,
)
from dashboard.forms import Action, field, form_action
from domain.errors import FieldError, UserFacingError
from services.guild_config import ChannelAccess, check_can_manage
from services.guild_facts import DiscordUnavailable

log = logging.getLogger(__name__)

#: How long the member's own server list is trusted before it is asked of Discord again.
GUILD_LIST_TTL_S = 60.0
#: The *refresh* link asks Discord again at most this often per session.
REFRESH_EVERY_S = 10.0


def guild_id_of(request: web.Request) -> int:
    raw = request.match_info["guild_id"]
    if not raw.isdigit() or len(raw) > 20:
        raise web.HTTPNotFound()
    return int(raw)


async def require_manager(request: web.Request) -> int:
    """The server of the URL, if the member manages it now; else the /config refusal."""
    dashboard = dashboard_of(request)
    session = member_session(request)
    assert session.user_id is not None
    guild_id = guild_id_of(request)
    # A form is judged on the member's roles now, never on a cached answer.
    permissions = await dashboard.servers.member_permissions(
        guild_id, session.user_id, fresh=request.method == "POST"
    )
    if permissions is None:
        raise UserFacingError("Steady is not in that server, or you are not a member of it.")
    check_can_manage(permissions)
    return guild_id


async def server_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    preview: Any = None,
) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    try:
        guild_id = await require_manager(request)
    except DiscordUnavailable:
        raise  # not a refusal: the site's "try again in a minute" page (503)
    except UserFacingError as refusal:
        return refused(request, str(refusal))
    servers = dashboard.servers
    names = await servers.channel_names(guild_id)
    accesses = await servers.channel_accesses(guild_id)
    settings = await dashboard.guild_config.settings(
        guild_id,
        lambda channel_id: (
            accesses.get(channel_id) or ChannelAccess(channel_id, exists=False, postable=False)
        ),
    )
    return render(
        request,
        "server.html",
        status=status,
        title=await servers.guild_name(guild_id),
        guild_id=guild_id,
        settings=settings,
        channels=await servers.postable_channels(guild_id),
        channel_names=names,
        errors=errors or {},
        values=values or {},
    )


def refused(request: web.Request, message: str) -> web.Response:
    return render(request, "message.html", status=403, title="Not your server", message=message)


async def refresh_guilds(request: web.Request, older_than: float) -> bool:
    """Ask Discord for the member's server list if the one kept is older than ``older_than``
    seconds; returns whether it was asked."""
    dashboard = dashboard_of(request)
    session = member_session(request)
    now = dashboard.sessions.now()
    if not session.access_token or now - session.guilds_fetched_at <= older_than:
        return False
    try:
        session.guilds = await dashboard.login.guilds(session.access_token)
        session.guilds_fetched_at = now
    except Exception as error:  # the last list is still a fine answer
        log.warning("could not refresh a member's server list: %s", error.__class__.__name__)
        return False
    return True


@login_required
async def servers(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    session = member_session(request)
    if "refresh" in request.query:
        # A server created (or Steady added) since the list was read: ask Discord again now,
        # at most every REFRESH_EVERY_S, then show the list at its own address.
        if await refresh_guilds(request, REFRESH_EVERY_S):
            await dashboard.servers.forget([g.id for g in session.guilds])
            session.flash = "Your server list is fresh from Discord."
        else:
            session.flash = "The list was just refreshed; try again in a few seconds."
        raise web.HTTPSeeOther("/servers")
    await refresh_guilds(request, GUILD_LIST_TTL_S)
    return render(
        request,
        "servers.html",
        title="My servers",
        guilds=await managed_guilds(session, dashboard.servers),
    )


@login_required
async def server(request: web.Request) -> web.StreamResponse:
    return await server_page(request)


# --- actions: each one GuildConfig call ----------------------------------------------------


async def _channel(request: web.Request, guild_id: int, form: dict[str, str]) -> ChannelAccess:
    raw = field(form, "channel")
    if not raw.isdigit() or len(raw) > 20:
        raise FieldError("channel", "Pick a text channel.")
    servers = dashboard_of(request).servers
    if int(raw) not in await servers.channel_names(guild_id):
        # An id edited into the form (another server's channel, or none at all).
        raise FieldError("channel", "That is not a channel of this server: pick one from the list.")
    return await servers.channel_access(guild_id, int(raw))


async def reminder_channel(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    guild_id = await require_manager(request)
    config = dashboard_of(request).guild_config
    if form.get("action") == "off":
        cleared = await config.clear_reminder_channel(guild_id)
        return "The reminder channel is off." if cleared else "No reminder channel was set."
    await config.set_reminder_channel(guild_id, await _channel(request, guild_id, form))
    return (
        "Reminder channel set. Members who choose server delivery, or whose DMs are closed, "
        "are reminded there with a mention."
    )


async def daily_tip(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    guild_id = await require_manager(request)
    config = dashboard_of(request).guild_config
    if form.get("action") == "off":
        stopped = await config.turn_off_daily_tip(guild_id)
        return (
            "The daily tip is off." if stopped else "The daily tip was not on, so nothing changed."
        )
    access = await _channel(request, guild_id, form)
    time_text, zone_text = field(form, "time"), field(form, "zone")
    tip = await config.set_daily_tip(guild_id, access, time_text, zone_text)
    return f"A daily tip will be posted at {tip.time:%H:%M} ({tip.zone})."


def _form(form_id: str, default_field: str, action: Action) -> Handler:
    return form_action(
        form_id,
        default_field,
        action,
        server_page,
        lambda request: f"/servers/{request.match_info['guild_id']}",
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/servers", servers)
    app.router.add_get(r"/servers/{guild_id}", server)
    app.router.add_post(
        r"/servers/{guild_id}/reminder-channel", _form("reminder", "channel", reminder_channel)
    )
    app.router.add_post(r"/servers/{guild_id}/daily-tip", _form("tip", "channel", daily_tip))
