"""A member's own pages: reminders and settings, the 30-day history, privacy.

Every action calls the member services (:mod:`services.member_settings`,
:mod:`services.subscriptions`, :mod:`services.stats`, :mod:`services.privacy`), the same
methods ``/remind`` and ``/privacy`` call, with the logged-in member's id from the session — never an
id from the URL or the form — so nobody can read or change another member's data. A refused
value comes back as the service's own message, shown beside the field it is about; the
service checks everything before it writes, so a refused form changes nothing.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime
from functools import cache

from aiohttp import web
from markupsafe import Markup, escape

from dashboard import chart
from dashboard.app import (
    Handler,
    dashboard_of,
    form_of,
    guilds_with_bot,
    has_manage_server,
    login_required,
    member_session,
    render,
)
from dashboard.forms import Action, FieldNames, field, form_action
from domain.errors import FieldError, UserFacingError
from domain.kinds import KIND_LABELS, MEMBER_KINDS
from domain.zones import is_valid_zone_name
from services.member_settings import NoReminderChannel
from services.reminders import KIND_HINT, NOT_PAUSED, SubscriptionView
from services.stats import STATS_DAYS


@cache
def zone_options() -> Markup:
    """``<option>`` for every zone ``/remind timezone`` accepts by its IANA name: the list a
    browser searches as the member types. Built once: it is most of the page's bytes, and
    rendering it per request was most of the page's time."""
    names = sorted(z for z in zoneinfo.available_timezones() if is_valid_zone_name(z))
    return Markup("".join(f'<option value="{escape(z)}">' for z in names))


def relative(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    minutes = max(0, round((moment - now).total_seconds() / 60))
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    return f"in {hours // 24} days"


async def delivery_guilds(request: web.Request) -> list:
    """Servers the member is in (their own list) where the bot is too."""
    dashboard = dashboard_of(request)
    session = member_session(request)
    return await guilds_with_bot(session.guilds, dashboard.servers)


async def reminders_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    preview: list[SubscriptionView] | None = None,
) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    user_id = member_session(request).user_id
    assert user_id is not None
    now = dashboard.member_settings.clock()
    subscriptions = {v.kind: v for v in await dashboard.subscriptions.list_subscriptions(user_id)}
    return render(
        request,
        "reminders.html",
        status=status,
        title="My reminders",
        settings=await dashboard.member_settings.settings(user_id),
        kinds=[(k.name, k.label, subscriptions.get(k.name)) for k in MEMBER_KINDS],
        kind_names=KIND_LABELS,
        relative=lambda moment: relative(moment, now),
        zone_options=zone_options(),
        guilds=await delivery_guilds(request),
        preview=preview,
        errors=errors or {},
        values=values or {},
    )


# --- actions: each one service call --------------------------------------------------------


def _kind_of(form: dict[str, str]) -> str:
    """The one kind a form is about (the dashboard has no "stop all")."""
    kind = field(form, "kind")
    if kind not in KIND_LABELS:
        raise FieldError("kind", KIND_HINT)
    return kind


def _start_fields(form: dict[str, str]) -> dict[str, str]:
    """Each kind has its own time and every inputs on the page."""
    kind = form.get("kind", "")
    return {"time": f"{kind}-time", "every": f"{kind}-every"}


async def start(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    kind = _kind_of(form)
    time_text = field(form, "time")
    every = field(form, "every") if kind == "hydration" else ""
    dashboard = dashboard_of(request)
    if not (await dashboard.member_settings.settings(user_id)).timezone:
        # The service says it in commands (`/remind timezone`); the page has a field for it.
        raise UserFacingError(
            "Set your time zone first (under Settings, below): your reminders follow your "
            "local clock."
        )
    view = await dashboard.subscriptions.start(
        user_id, None, kind, time_text or None, every or None
    )
    times = ", ".join(t.strftime("%H:%M") for t in view.times)
    return f"{KIND_LABELS[view.kind]} reminders on at {times} ({view.zone})."


async def stop(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    stopped = await dashboard_of(request).subscriptions.stop(user_id, _kind_of(form))
    return stopped.answer


async def set_timezone(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    zone = await dashboard_of(request).member_settings.set_timezone(user_id, field(form, "zone"))
    return f"Your time zone is now {zone.key}. Your reminders follow your local clock there."


async def schedule(
    request: web.Request, user_id: int, form: dict[str, str]
) -> str | list[SubscriptionView]:
    service = dashboard_of(request).member_settings
    wake, bed = field(form, "wake"), field(form, "bed")
    if form.get("action") == "preview":
        return await service.preview_schedule(user_id, wake, bed)
    await service.set_schedule(user_id, wake, bed)
    settings = await service.settings(user_id)
    return f"Wake-up {settings.wake:%H:%M}, bedtime {settings.bed:%H:%M}."


async def pause(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    until = await dashboard_of(request).member_settings.pause(user_id, field(form, "days"))
    return (
        f"Paused until {until.strftime('%a %d %b %H:%M')}; they resume by themselves. "
        "Resume restarts them sooner."
    )


async def resume(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    if await dashboard_of(request).member_settings.resume(user_id) is None:
        return NOT_PAUSED
    return "Your reminders are back on."


def no_reminder_channel(request: web.Request, guild_id: int) -> str:
    """The refusal in web terms: where on the dashboard an admin sets the channel."""
    guild = next((g for g in member_session(request).guilds if g.id == guild_id), None)
    name = guild.name if guild else "That server"
    message = (
        f"{name} has no reminder channel yet: an admin of the server can set one on this "
        "dashboard, under Servers."
    )
    if guild is not None and has_manage_server(guild):
        message += f" You manage it: open Servers, then {name}, and pick a reminder channel."
    return message


async def delivery(request: web.Request, user_id: int, form: dict[str, str]) -> str:
    where = field(form, "where")
    guild_id = None
    if where == "server":
        chosen = field(form, "guild")
        # Only a server from the member's own list where the bot is: an edited id is refused.
        allowed = {str(g.id): g.id for g in await delivery_guilds(request)}
        if chosen not in allowed:
            raise FieldError("guild", "Pick one of your servers that Steady is in.")
        guild_id = allowed[chosen]
    try:
        choice = await dashboard_of(request).member_settings.set_delivery(user_id, where, guild_id)
    except NoReminderChannel as refusal:
        raise FieldError("guild", no_reminder_channel(request, refusal.guild_id)) from None
    if choice == "dm":
        return "Your reminders come by DM."
    return "Your reminders go to that server's reminder channel, with a mention."


# --- pages ---------------------------------------------------------------------------------


@login_required
async def reminders(request: web.Request) -> web.StreamResponse:
    return await reminders_page(request)


@login_required
async def history(request: web.Request) -> web.StreamResponse:
    user_id = member_session(request).user_id
    assert user_id is not None
    days, stats = await dashboard_of(request).stats.history(user_id, STATS_DAYS)
    return render(
        request,
        "history.html",
        title="History",
        svg=chart.history_svg(days),
        stats=stats,
        days=STATS_DAYS,
        kind_names=KIND_LABELS,
    )


@login_required
async def privacy(request: web.Request) -> web.StreamResponse:
    return render(request, "privacy.html", title="Privacy", confirm=False)


@login_required
async def export(request: web.Request) -> web.StreamResponse:
    user_id = member_session(request).user_id
    assert user_id is not None
    data = await dashboard_of(request).privacy.export(user_id)
    return web.Response(
        text=json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="steady-export.json"'},
    )


@login_required
async def delete_everything(request: web.Request) -> web.StreamResponse:
    """Two steps: the first POST asks to confirm; only ``confirm=yes`` deletes."""
    session = member_session(request)
    assert session.user_id is not None
    if form_of(request).get("confirm") != "yes":
        return render(request, "privacy.html", title="Privacy", confirm=True)
    dashboard = dashboard_of(request)
    # Every dashboard session of the member ends with their data, in the same transaction
    # (storage.reminders.delete_member_data), in every browser and replica. Ending this
    # request's session too keeps the request from writing it back afterwards.
    await dashboard.privacy.delete_all(session.user_id)
    await dashboard.sessions.end(session)
    response = web.HTTPSeeOther("/?deleted=1")
    response.del_cookie(dashboard.cookie_name, path="/")
    raise response


def _form(
    form_id: str, default_field: str, action: Action, fields: FieldNames = lambda form: {}
) -> Handler:
    return form_action(
        form_id, default_field, action, reminders_page, lambda r: "/reminders", fields
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reminders", reminders)
    app.router.add_post("/reminders/start", _form("start", "kind", start, _start_fields))
    app.router.add_post("/reminders/stop", _form("stop", "kind", stop))
    app.router.add_post("/settings/timezone", _form("timezone", "zone", set_timezone))
    app.router.add_post("/settings/schedule", _form("schedule", "bed", schedule))
    app.router.add_post("/settings/pause", _form("pause", "days", pause))
    app.router.add_post("/settings/resume", _form("resume", "resume", resume))
    app.router.add_post("/settings/delivery", _form("delivery", "where", delivery))
    app.router.add_get("/history", history)
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/privacy/export.json", export)
    app.router.add_post("/privacy/delete", delete_everything)
