"""Interactions as Discord runs them: the payload the bot receives, the 3-second deadline,
the one-time acknowledgement, and the messages each callback type produces.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from testkit.emulator.state import Channel, Guild, Message, Role, User, World, snowflake

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5

PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}

GUILD_CONTEXT, BOT_DM_CONTEXT = 0, 1
TOKEN_LIFETIME = 15 * 60.0  # followups and edits work for 15 minutes

# Option types (docs: "Application Command Option Type").
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11


class ClientRefused(AssertionError):
    """The Discord client itself would not let the user do this (unknown command or option,
    missing required option, a value outside the choices, a hidden command)."""


@dataclass
class InteractionRecord:
    """One interaction, from INTERACTION_CREATE to the last followup."""

    id: int
    token: str
    type: int
    user: User
    channel: Channel
    guild: Guild | None
    payload: dict[str, Any]
    created: float = field(default_factory=time.monotonic)
    callback_type: int | None = None
    callback_at: float | None = None
    #: The message the user sees as the answer (created by 4/5, or the clicked message for 6/7).
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    late_callbacks: int = 0
    duplicate_callbacks: int = 0

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.created > TOKEN_LIFETIME

    @property
    def answered(self) -> bool:
        """Whether the user sees an answer (not "is thinking…", not "did not respond")."""
        if self.callback_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL):
            return True
        if self.callback_type == DEFERRED_UPDATE_MESSAGE:
            return True  # the click's spinner stops; any edit comes later
        if self.callback_type == DEFERRED_CHANNEL_MESSAGE:
            return self.original is not None and not self.original.loading
        return False


def new_token() -> str:
    return "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)


# --- building the payloads Discord sends -----------------------------------------------------


def find_command(
    world: World, name: str, guild: Guild | None
) -> tuple[dict[str, Any], list[str], bool]:
    """The registered command for ``"remind start"``-style names; guild commands first."""
    parts = name.split()
    pools: list[tuple[list[dict[str, Any]], bool]] = []
    if guild is not None:
        pools.append((world.guild_commands.get(guild.id, []), True))
    pools.append((world.global_commands, False))
    for pool, is_guild in pools:
        for command in pool:
            if command["name"] == parts[0] and command.get("type", 1) == 1:
                return command, parts[1:], is_guild
    scope = f"in guild {guild.name!r}" if guild else "in DMs"
    raise ClientRefused(f"/{parts[0]} is not a registered command visible {scope}")


def check_visible(world: World, command: dict[str, Any], user: User, guild: Guild | None) -> None:
    """Discord's client hides commands the context or the member's permissions exclude."""
    contexts = command.get("contexts")
    if contexts is None:
        contexts = [GUILD_CONTEXT] + (
            [] if command.get("dm_permission") is False else [BOT_DM_CONTEXT]
        )
    context = GUILD_CONTEXT if guild else BOT_DM_CONTEXT
    if context not in contexts:
        where = "servers" if guild else "DMs"
        raise ClientRefused(f"/{command['name']} is not available in {where}")
    required = command.get("default_member_permissions")
    if guild is not None and required is not None:
        from testkit.emulator.permissions import base_permissions

        member = guild.members.get(user.id)
        have = base_permissions(guild, member) if member else 0
        if int(required) & have != int(required):
            raise ClientRefused(
                f"{user.username} cannot see /{command['name']} (default_member_permissions)"
            )


def build_command_data(
    world: World,
    command: dict[str, Any],
    path: list[str],
    values: dict[str, Any],
    guild: Guild | None,
    channel: Channel,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND (or AUTOCOMPLETE when ``focused`` is set)."""
    resolved: dict[str, dict[str, Any]] = {}
    definitions = command.get("options") or []
    nest: list[tuple[dict[str, Any], int]] = []
    for part in path:
        match = next((o for o in definitions if o["name"] == part), None)
        if match is None or match["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
            raise ClientRefused(f"/{command['name']} has no sub-command {part!r}")
        nest.append((match, match["type"]))
        definitions = match.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in definitions):
        raise ClientRefused(f"/{command['name']} needs a sub-command")
    leaf = _build_options(world, definitions, values, guild, channel, resolved, focused)
    for option, kind in reversed(nest):
        leaf = [{"type": kind, "name": option["name"], "options": leaf}]
    data: dict[str, Any] = {
        "id": command["id"],
        "name": command["name"],
        "type": 1,
    }
    if leaf:
        data["options"] = leaf
    if resolved:
        data["resolved"] = resolved
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return data


def _build_options(
    world: World,
    definitions: list[dict[str, Any]],
    values: dict[str, Any],
    guild: Guild | None,
    channel: Channel,
    resolved: dict[str, dict[str, Any]],
    focused: str | None,
) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in definitions}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ClientRefused(f"no option(s) {sorted(unknown)}; the command has {sorted(by_name)}")
    out: list[dict[str, Any]] = []
    for definition in definitions:
        name = definition["name"]
        if name not in values:
            if definition.get("required") and focused is None:
                raise ClientRefused(f"option {name!r} is required")
            continue
        value = values[name]
        if name == focused:
            out.append(
                {"type": definition["type"], "name": name, "value": str(value), "focused": True}
            )
            continue
        out.append(
            {
                "type": definition["type"],
                "name": name,
                "value": _option_value(world, definition, value, guild, channel, resolved),
            }
        )
    return out


def _option_value(
    world: World,
    definition: dict[str, Any],
    value: Any,
    guild: Guild | None,
    channel: Channel,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    kind, name = definition["type"], definition["name"]
    if kind == STRING:
        if not isinstance(value, str):
            raise ClientRefused(f"option {name!r} takes text, not {value!r}")
        if not definition.get("min_length", 0) <= len(value) <= definition.get("max_length", 6000):
            raise ClientRefused(f"option {name!r}: length outside the allowed range")
    elif kind in (INTEGER, NUMBER):
        ok = isinstance(value, int) if kind == INTEGER else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            raise ClientRefused(f"option {name!r} takes a number, not {value!r}")
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ClientRefused(f"option {name!r}: {value} is outside {low}..{high}")
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise ClientRefused(f"option {name!r} takes True/False")
    elif kind == USER:
        if not isinstance(value, User):
            raise ClientRefused(f"option {name!r} takes a User")
        resolved.setdefault("users", {})[str(value.id)] = value.to_payload()
        if guild is not None and value.id in guild.members:
            member = guild.members[value.id].to_payload(with_user=False)
            member["permissions"] = str(world.permissions_of(value, channel))
            resolved.setdefault("members", {})[str(value.id)] = member
        return str(value.id)
    elif kind == CHANNEL:
        if not isinstance(value, Channel):
            raise ClientRefused(f"option {name!r} takes a Channel")
        payload = {
            "id": str(value.id),
            "name": value.name,
            "type": value.type,
            "permissions": str(world.permissions_of(value_user(world), value)),
            "parent_id": None,
            "flags": 0,
        }
        if value.guild_id is not None:
            payload["guild_id"] = str(value.guild_id)
        resolved.setdefault("channels", {})[str(value.id)] = payload
        return str(value.id)
    elif kind == ROLE:
        if not isinstance(value, Role):
            raise ClientRefused(f"option {name!r} takes a Role")
        resolved.setdefault("roles", {})[str(value.id)] = value.to_payload()
        return str(value.id)
    else:
        raise ClientRefused(f"option type {kind} is not emulated")
    choices = definition.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ClientRefused(f"option {name!r}: {value!r} is not one of the choices")
    return value


def value_user(world: World) -> User:
    """Resolved channels carry the *invoking bot's* permissions there."""
    return world.bot


def interaction_payload(
    world: World,
    *,
    kind: int,
    data: dict[str, Any],
    user: User,
    channel: Channel,
    guild: Guild | None,
    message: Message | None = None,
) -> tuple[int, str, dict[str, Any]]:
    """The full INTERACTION_CREATE payload, as Discord sends it in a guild or a DM."""
    interaction_id = snowflake()
    token = new_token()
    channel_payload = channel.to_payload()
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": kind,
        "data": data,
        "channel_id": str(channel.id),
        "channel": channel_payload,
        "token": token,
        "version": 1,
        "app_permissions": str(world.permissions_of(world.bot, channel)),
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild is not None:
        member = guild.members[user.id].to_payload()
        member["permissions"] = str(world.permissions_of(user, channel))
        channel_payload["permissions"] = member["permissions"]
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member,
            context=GUILD_CONTEXT,
            authorizing_integration_owners={"0": str(guild.id)},
        )
    else:
        payload.update(
            user=user.to_payload(),
            context=BOT_DM_CONTEXT,
            # A guild-installed app used in its DM: owner "0" (docs: authorizing owners).
            authorizing_integration_owners={"0": "0"},
        )
    if message is not None:
        payload["message"] = message.to_payload()
    return interaction_id, token, payload


def interaction_metadata(record: InteractionRecord) -> dict[str, Any]:
    """``message.interaction_metadata`` on a response: who triggered what."""
    meta: dict[str, Any] = {
        "id": str(record.id),
        "type": record.type,
        "user": record.user.to_payload(),
        "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
    }
    if record.type == APPLICATION_COMMAND:
        meta["name"] = record.payload["data"]["name"]
        meta["command_type"] = 1
    elif record.type == MESSAGE_COMPONENT and record.payload.get("message"):
        meta["interacted_message_id"] = record.payload["message"]["id"]
    if record.original is not None and record.type != MESSAGE_COMPONENT:
        meta["original_response_message_id"] = str(record.original.id)
    return meta
