"""Discord's REST API v10, the routes the bot uses, as an aiohttp application.

A middleware does what Discord does before any handler runs: count the request, check the
token, apply injected faults and rate limits, and attach ``X-RateLimit-*`` headers. Handlers
check the body (spec + documented limits), permissions, and then change the world.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from testkit.emulator import errors as err
from testkit.emulator import interactions as ix
from testkit.emulator import oauth, validation
from testkit.emulator import permissions as perms
from testkit.emulator.state import Attachment, Channel, Message, snowflake

if TYPE_CHECKING:
    from testkit.emulator.server import Emulator

API_PREFIX = "/api/v10"
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NONCE_WINDOW = 5 * 60.0  # Discord dedupes an enforced nonce for "a few minutes"


def _emu(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def _template(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return None
    canonical = resource.canonical
    return canonical[len(API_PREFIX) :] if canonical.startswith(API_PREFIX) else canonical


def _needs_bot_token(template: str, request: web.Request) -> bool:
    # Interaction callbacks and interaction webhooks are authorised by their token instead;
    # the OAuth2 token endpoint by the client secret, a member's own calls by their bearer token.
    if template == "/oauth2/token":
        return False
    if template in oauth.BEARER_PATHS and request.headers.get("Authorization", "").startswith(
        "Bearer "
    ):
        return False
    return not template.startswith(("/interactions/", "/webhooks/"))


@web.middleware
async def discord_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    emu = _emu(request)
    if request.path == "/gateway" or not request.path.startswith(API_PREFIX):
        return await handler(request)
    path = request.path[len(API_PREFIX) :]
    template = _template(request)
    emu.stats.count_request(request.method, template or path)
    if template is None:
        emu.unknown_routes.append(f"{request.method} {path}")
        emu.notify()
        return err.error_response(err.NOT_FOUND)

    token = None
    if _needs_bot_token(template, request):
        token = emu.token_of(request)
        if token is None:
            emu.stats.unauthorized += 1
            return err.error_response(err.UNAUTHORIZED)
        emu.stats.token_requests.append(time.monotonic())

    fault = emu.faults.take(request.method, path)
    if fault is not None:
        if fault.status == 429:
            emu.stats.rate_limited += 1
        emu.notify()
        return err.json_response(fault.body, status=fault.status, headers=fault.headers)

    major = "+".join(
        request.match_info[k]
        for k in ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")
        if k in request.match_info
    )
    if token is None and template in oauth.BEARER_PATHS:
        major = request.headers.get("Authorization", "")  # a member's token has its own buckets
    headers, limited = emu.limiter.check(
        token=token, method=request.method, template=template, major=major
    )
    if limited is not None:
        emu.stats.rate_limited += 1
        if limited.is_global:
            emu.stats.global_rate_limited += 1
        if token is not None:
            emu.stats.token_rate_limited += 1
        emu.notify()
        return err.json_response(limited.body(), status=429, headers=limited.headers)

    response = await handler(request)
    response.headers.update(headers)
    emu.notify()
    return response


UPLOADS: web.RequestKey[list[Attachment]] = web.RequestKey("uploads", list)


async def _json_body(request: web.Request) -> Any:
    """The JSON body, also from multipart ``payload_json`` (messages with files).

    Files sent along (``files[n]``, described by ``attachments[].id == n`` in the JSON) are
    kept in ``request[UPLOADS]``; :func:`_attach_uploads` puts them on the message made.
    """
    if request.content_type == "multipart/form-data":
        form = await request.post()
        raw = form.get("payload_json")
        body = json.loads(raw) if isinstance(raw, str) else {}
        uploads = []
        for key, value in form.items():
            if key.startswith("files[") and isinstance(value, web.FileField):
                index = int(key[len("files[") : -1])
                uploads.append(
                    Attachment(index, value.filename, value.content_type, value.file.read())
                )
        request[UPLOADS] = uploads
        return body
    if not request.can_read_body:
        return None
    return json.loads(await request.text())


def _attach_uploads(request: web.Request, message: Message | None) -> None:
    uploads: list[Attachment] = request.get(UPLOADS, [])
    if message is not None and uploads:
        message.attachments = list(uploads)


def _reject(emu: Emulator, request: web.Request, body: Any, problems: list) -> web.Response:
    emu.record_rejection(request.method, request.path[len(API_PREFIX) :], body, problems)
    return err.json_response(err.invalid_form_body(problems), status=400)


# --- login ----------------------------------------------------------------------------------


async def get_current_user(request: web.Request) -> web.Response:
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return await _emu(request).oauth.bearer_call(request, "/users/@me")
    world = _emu(request).world
    me = world.bot.to_payload()
    me.update(verified=True, mfa_enabled=False, email=None, locale="en-US", bio="")
    return err.json_response(me)


async def get_application(request: web.Request) -> web.Response:
    world = _emu(request).world
    return err.json_response(
        {
            "id": str(world.application_id),
            "name": world.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": world.privileged_intents_enabled,
            "owner": {
                "id": "1",
                "username": "owner",
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
            },
            "team": None,
            "bot": world.bot.to_payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "approximate_guild_count": len(world.visible_guilds()),
        }
    )


async def get_gateway(request: web.Request) -> web.Response:
    return err.json_response({"url": _emu(request).gateway_url})


async def get_gateway_bot(request: web.Request) -> web.Response:
    emu = _emu(request)
    gateway = emu.gateway
    return err.json_response(
        {
            "url": emu.gateway_url,
            "shards": gateway.shards_for(len(emu.world.visible_guilds())),
            "session_start_limit": {
                "total": 1000,
                "remaining": max(0, 1000 - gateway.identifies),
                "reset_after": 86_400_000,
                "max_concurrency": gateway.max_concurrency,
            },
        }
    )


# --- application commands -------------------------------------------------------------------


def _check_app(emu: Emulator, request: web.Request) -> web.Response | None:
    if request.match_info["application_id"] != str(emu.world.application_id):
        return err.error_response(err.MISSING_ACCESS)
    return None


def _stored_commands(
    emu: Emulator, previous: list[dict[str, Any]], body: list[dict[str, Any]], guild_id: int | None
) -> list[dict[str, Any]]:
    """What Discord stores for a bulk overwrite: ids kept for same name+type, defaults filled."""
    old_ids = {(c["name"], c.get("type", 1)): c["id"] for c in previous}
    stored = []
    for command in body:
        kind = command.get("type") or 1
        perms_value = command.get("default_member_permissions")
        entry = {
            "id": old_ids.get((command["name"], kind)) or str(snowflake()),
            "application_id": str(emu.world.application_id),
            "version": str(snowflake()),
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description") or "",
            "description_localizations": command.get("description_localizations"),
            "options": command.get("options") or [],
            "default_member_permissions": None if perms_value is None else str(perms_value),
            "dm_permission": command.get("dm_permission", True),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
            "nsfw": bool(command.get("nsfw", False)),
        }
        if guild_id is not None:
            entry["guild_id"] = str(guild_id)
        stored.append(entry)
    return stored


async def get_global_commands(request: web.Request) -> web.Response:
    emu = _emu(request)
    return _check_app(emu, request) or err.json_response(emu.world.global_commands)


async def put_global_commands(request: web.Request) -> web.Response:
    emu = _emu(request)
    if denied := _check_app(emu, request):
        return denied
    body = await _json_body(request)
    if problems := validation.bulk_overwrite_commands(body):
        return _reject(emu, request, body, problems)
    emu.world.global_commands = _stored_commands(emu, emu.world.global_commands, body, None)
    emu.stats.command_syncs.append("global")
    return err.json_response(emu.world.global_commands)


def _guild_for_commands(emu: Emulator, request: web.Request) -> int | web.Response:
    guild = emu.world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None or not emu.world.bot_in_guild(guild):
        return err.error_response(err.MISSING_ACCESS)
    return guild.id


async def get_guild_commands(request: web.Request) -> web.Response:
    emu = _emu(request)
    if denied := _check_app(emu, request):
        return denied
    guild_id = _guild_for_commands(emu, request)
    if isinstance(guild_id, web.Response):
        return guild_id
    return err.json_response(emu.world.guild_commands.get(guild_id, []))


async def put_guild_commands(request: web.Request) -> web.Response:
    emu = _emu(request)
    if denied := _check_app(emu, request):
        return denied
    guild_id = _guild_for_commands(emu, request)
    if isinstance(guild_id, web.Response):
        return guild_id
    body = await _json_body(request)
    if problems := validation.bulk_overwrite_commands(body):
        return _reject(emu, request, body, problems)
    previous = emu.world.guild_commands.get(guild_id, [])
    emu.world.guild_commands[guild_id] = _stored_commands(emu, previous, body, guild_id)
    emu.stats.command_syncs.append(str(guild_id))
    return err.json_response(emu.world.guild_commands[guild_id])


# --- users, guilds, channels ----------------------------------------------------------------


async def create_dm(request: web.Request) -> web.Response:
    emu = _emu(request)
    body = await _json_body(request)
    if problems := validation.create_dm(body):
        return _reject(emu, request, body, problems)
    user = emu.world.users.get(int(body["recipient_id"]))
    if user is None or user.bot:
        return err.error_response(err.UNKNOWN_USER)
    emu.stats.dm_channel_creates += 1
    return err.json_response(emu.world.dm_channel(user).to_payload())


async def get_user(request: web.Request) -> web.Response:
    user = _emu(request).world.users.get(int(request.match_info["user_id"]))
    if user is None:
        return err.error_response(err.UNKNOWN_USER)
    return err.json_response(user.to_payload())


async def get_guild(request: web.Request) -> web.Response:
    emu = _emu(request)
    guild = emu.world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None or not emu.world.bot_in_guild(guild):
        return err.error_response(err.UNKNOWN_GUILD)
    payload = guild.to_payload(emu.world.bot)
    for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
        payload.pop(key, None)
    return err.json_response(payload)


async def get_guild_channels(request: web.Request) -> web.Response:
    emu = _emu(request)
    guild = emu.world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None or not emu.world.bot_in_guild(guild):
        return err.error_response(err.UNKNOWN_GUILD)
    return err.json_response([c.to_payload() for c in guild.channels.values()])


async def get_guild_member(request: web.Request) -> web.Response:
    emu = _emu(request)
    guild = emu.world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None or not emu.world.bot_in_guild(guild):
        return err.error_response(err.UNKNOWN_GUILD)
    member = guild.members.get(int(request.match_info["user_id"]))
    if member is None:
        return err.error_response((404, 10007, "Unknown Member"))
    return err.json_response(member.to_payload())


def _channel_for_bot(
    emu: Emulator, request: web.Request, *, need: int = 0
) -> Channel | web.Response:
    """The channel, or Discord's answer when the bot may not reach it or act in it."""
    channel = emu.world.channels.get(int(request.match_info["channel_id"]))
    if channel is None:
        return err.error_response(err.UNKNOWN_CHANNEL)
    if channel.is_dm:
        return channel
    guild = emu.world.guild_of(channel)
    if guild is None or not emu.world.bot_in_guild(guild):
        return err.error_response(err.MISSING_ACCESS)
    have = emu.world.permissions_of(emu.world.bot, channel)
    if not have & perms.VIEW_CHANNEL:
        return err.error_response(err.MISSING_ACCESS)
    if need and have & need != need:
        return err.error_response(err.MISSING_PERMISSIONS)
    return channel


async def get_channel(request: web.Request) -> web.Response:
    channel = _channel_for_bot(_emu(request), request)
    if isinstance(channel, web.Response):
        return channel
    return err.json_response(channel.to_payload())


async def create_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    body = await _json_body(request)
    if problems := validation.create_message(body):
        if len(problems) == 1 and problems[0].code == "CANNOT_SEND_EMPTY":
            emu.record_rejection(request.method, request.path[len(API_PREFIX) :], body, problems)
            return err.error_response(err.CANNOT_SEND_EMPTY)
        return _reject(emu, request, body, problems)
    need = perms.SEND_MESSAGES | (perms.EMBED_LINKS if body.get("embeds") else 0)
    channel = _channel_for_bot(emu, request, need=need)
    if isinstance(channel, web.Response):
        return channel
    if channel.is_dm and channel.recipient is not None and not channel.recipient.dms_open:
        return err.error_response(err.CANNOT_DM_USER)

    nonce = body.get("nonce")
    if nonce is not None and body.get("enforce_nonce"):
        key = (channel.id, str(nonce))
        seen = emu.nonces.get(key)
        if seen is not None and time.monotonic() - seen[1] < NONCE_WINDOW:
            emu.stats.nonce_dedupes += 1
            return err.json_response(emu.world.messages[seen[0]].to_payload())
    message = emu.create_message(channel, emu.world.bot, body)
    _attach_uploads(request, message)
    if nonce is not None and body.get("enforce_nonce"):
        emu.nonces[(channel.id, str(nonce))] = (message.id, time.monotonic())
    emu.stats.record_send(channel.id)
    return err.json_response(message.to_payload())


def _message_in(emu: Emulator, request: web.Request, channel: Channel) -> Message | None:
    message = emu.world.messages.get(int(request.match_info["message_id"]))
    if message is None or message.deleted or message.channel_id != channel.id:
        return None
    return message


async def get_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    channel = _channel_for_bot(emu, request, need=perms.READ_MESSAGE_HISTORY)
    if isinstance(channel, web.Response):
        return channel
    message = _message_in(emu, request, channel)
    if message is None or message.ephemeral:
        return err.error_response(err.UNKNOWN_MESSAGE)
    return err.json_response(message.to_payload())


async def edit_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    body = await _json_body(request)
    if problems := validation.edit_message(body):
        return _reject(emu, request, body, problems)
    channel = _channel_for_bot(emu, request)
    if isinstance(channel, web.Response):
        return channel
    message = _message_in(emu, request, channel)
    if message is None or message.ephemeral:
        return err.error_response(err.UNKNOWN_MESSAGE)
    if message.author.id != emu.world.bot.id:
        return err.error_response((403, 50005, "Cannot edit a message authored by another user"))
    emu.edit_message(message, body)
    _attach_uploads(request, message)
    return err.json_response(message.to_payload())


async def delete_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    channel = _channel_for_bot(emu, request)
    if isinstance(channel, web.Response):
        return channel
    message = _message_in(emu, request, channel)
    if message is None:
        return err.error_response(err.UNKNOWN_MESSAGE)
    if message.author.id != emu.world.bot.id and not (
        emu.world.permissions_of(emu.world.bot, channel) & perms.MANAGE_MESSAGES
    ):
        return err.error_response(err.MISSING_PERMISSIONS)
    message.deleted = True
    return web.Response(status=204)


# --- interactions ---------------------------------------------------------------------------


async def interaction_callback(request: web.Request) -> web.Response:
    emu = _emu(request)
    record = emu.interactions.get(int(request.match_info["interaction_id"]))
    if record is None or record.token != request.match_info["interaction_token"]:
        return err.error_response(err.UNKNOWN_INTERACTION)
    body = await _json_body(request)
    if time.monotonic() - record.created > emu.interaction_deadline:
        record.late_callbacks += 1
        return err.error_response(err.UNKNOWN_INTERACTION)
    if record.acknowledged:
        record.duplicate_callbacks += 1
        return err.error_response(err.ALREADY_ACKNOWLEDGED)
    if problems := validation.interaction_callback(body):
        return _reject(emu, request, body, problems)
    kind = body["type"]
    if kind not in ix.ALLOWED_CALLBACKS.get(record.type, set()):
        problems = [
            err.FieldError(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {kind} is not valid for interaction type {record.type}",
            )
        ]
        return _reject(emu, request, body, problems)
    emu.apply_callback(record, kind, body.get("data") or {})
    if kind in (ix.CHANNEL_MESSAGE, ix.UPDATE_MESSAGE):
        _attach_uploads(request, record.original)
    if request.query.get("with_response") not in ("1", "true", "True"):
        return web.Response(status=204)
    return err.json_response(emu.callback_response(record))


def _record_for_webhook(emu: Emulator, request: web.Request) -> ix.InteractionRecord | None:
    if request.match_info["webhook_id"] != str(emu.world.application_id):
        return None
    record = emu.interactions_by_token.get(request.match_info["webhook_token"])
    if record is None or not record.acknowledged or record.expired:
        return None
    return record


async def execute_followup(request: web.Request) -> web.Response:
    emu = _emu(request)
    record = _record_for_webhook(emu, request)
    if record is None:
        return err.error_response(err.UNKNOWN_WEBHOOK)
    body = await _json_body(request)
    if problems := validation.execute_webhook(body):
        return _reject(emu, request, body, problems)
    message = emu.add_followup(record, body)
    _attach_uploads(request, message)
    if request.query.get("wait") in ("1", "true", "True"):
        return err.json_response(message.to_payload())
    return web.Response(status=204)


def _webhook_message(
    emu: Emulator, request: web.Request, record: ix.InteractionRecord
) -> Message | None:
    message_id = request.match_info["message_id"]
    if message_id == "@original":
        return record.original
    found = next((m for m in record.followups if str(m.id) == message_id), None)
    if found is None and record.original is not None and str(record.original.id) == message_id:
        found = record.original
    return found


async def get_webhook_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    record = _record_for_webhook(emu, request)
    if record is None:
        return err.error_response(err.UNKNOWN_WEBHOOK)
    message = _webhook_message(emu, request, record)
    if message is None or message.deleted:
        return err.error_response(err.UNKNOWN_MESSAGE)
    return err.json_response(message.to_payload())


async def edit_webhook_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    record = _record_for_webhook(emu, request)
    if record is None:
        return err.error_response(err.UNKNOWN_WEBHOOK)
    body = await _json_body(request)
    if problems := validation.edit_webhook_message(body):
        return _reject(emu, request, body, problems)
    message = _webhook_message(emu, request, record)
    if message is None or message.deleted:
        return err.error_response(err.UNKNOWN_MESSAGE)
    emu.edit_message(message, body)
    _attach_uploads(request, message)
    return err.json_response(message.to_payload())


async def delete_webhook_message(request: web.Request) -> web.Response:
    emu = _emu(request)
    record = _record_for_webhook(emu, request)
    if record is None:
        return err.error_response(err.UNKNOWN_WEBHOOK)
    message = _webhook_message(emu, request, record)
    if message is None or message.deleted:
        return err.error_response(err.UNKNOWN_MESSAGE)
    message.deleted = True
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    p = API_PREFIX
    app.router.add_get(f"{p}/users/@me", get_current_user)
    app.router.add_get(f"{p}/oauth2/applications/@me", get_application)
    app.router.add_get(f"{p}/gateway", get_gateway)
    app.router.add_get(f"{p}/gateway/bot", get_gateway_bot)
    app.router.add_get(f"{p}/applications/{{application_id}}/commands", get_global_commands)
    app.router.add_put(f"{p}/applications/{{application_id}}/commands", put_global_commands)
    guild_cmds = f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands"
    app.router.add_get(guild_cmds, get_guild_commands)
    app.router.add_put(guild_cmds, put_guild_commands)
    app.router.add_post(f"{p}/users/@me/channels", create_dm)
    app.router.add_get(f"{p}/users/{{user_id}}", get_user)
    app.router.add_get(f"{p}/guilds/{{guild_id}}", get_guild)
    app.router.add_get(f"{p}/guilds/{{guild_id}}/channels", get_guild_channels)
    app.router.add_get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", get_guild_member)
    app.router.add_get(f"{p}/channels/{{channel_id}}", get_channel)
    app.router.add_post(f"{p}/channels/{{channel_id}}/messages", create_message)
    message = f"{p}/channels/{{channel_id}}/messages/{{message_id}}"
    app.router.add_get(message, get_message)
    app.router.add_patch(message, edit_message)
    app.router.add_delete(message, delete_message)
    app.router.add_post(
        f"{p}/interactions/{{interaction_id}}/{{interaction_token}}/callback", interaction_callback
    )
    app.router.add_post(f"{p}/webhooks/{{webhook_id}}/{{webhook_token}}", execute_followup)
    hook_message = f"{p}/webhooks/{{webhook_id}}/{{webhook_token}}/messages/{{message_id}}"
    app.router.add_get(hook_message, get_webhook_message)
    app.router.add_patch(hook_message, edit_webhook_message)
    app.router.add_delete(hook_message, delete_webhook_message)
