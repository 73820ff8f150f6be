"""Discord's documented limits that the OpenAPI spec does not encode (or encodes loosely).

Sources: developer docs, "Channel > Create Message", "Embed Limits", "Message Components",
"Application Commands > Naming" and "Registering a Command". Every check returns
:class:`FieldError` values at the same paths Discord reports, so the 400 body looks real.
"""

from __future__ import annotations

import re
from typing import Any

from testkit.emulator.errors import FieldError

CONTENT_MAX = 2000
NONCE_MAX = 25
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
CHOICES_MAX = 25
OPTIONS_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100
COMMAND_TEXT_MAX = 4000
CHAT_INPUT_COMMANDS_MAX = 100

IS_COMPONENTS_V2 = 1 << 15
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
LINK_STYLE, PREMIUM_STYLE = 5, 6

Path = tuple[str | int, ...]


def _too_long(path: Path, limit: int) -> FieldError:
    return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


# --- messages ------------------------------------------------------------------------------


def message_errors(body: dict[str, Any], *, require_something: bool = False) -> list[FieldError]:
    """Limits on any message-like body: create, edit, interaction reply, followup."""
    errors: list[FieldError] = []
    if _length(body.get("content")) > CONTENT_MAX:
        errors.append(_too_long(("content",), CONTENT_MAX))
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > NONCE_MAX:
        errors.append(_too_long(("nonce",), NONCE_MAX))
    embeds = body.get("embeds") or []
    if isinstance(embeds, list):
        errors += _embeds_errors(embeds)
    components = body.get("components") or []
    if isinstance(components, list) and not int(body.get("flags") or 0) & IS_COMPONENTS_V2:
        errors += _components_errors(components)
    if require_something and not any(
        body.get(key) for key in ("content", "embeds", "components", "sticker_ids", "poll")
    ):
        errors.append(FieldError((), "CANNOT_SEND_EMPTY", "Cannot send an empty message"))
    return errors


def _embeds_errors(embeds: list[Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(embeds) > EMBEDS_MAX:
        errors.append(_too_long(("embeds",), EMBEDS_MAX))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        at = ("embeds", i)
        for key, limit in (("title", EMBED_TITLE_MAX), ("description", EMBED_DESCRIPTION_MAX)):
            if _length(embed.get(key)) > limit:
                errors.append(_too_long((*at, key), limit))
            total += _length(embed.get(key))
        footer = embed.get("footer") or {}
        if _length(footer.get("text")) > EMBED_FOOTER_MAX:
            errors.append(_too_long((*at, "footer", "text"), EMBED_FOOTER_MAX))
        total += _length(footer.get("text"))
        author = embed.get("author") or {}
        if _length(author.get("name")) > EMBED_AUTHOR_MAX:
            errors.append(_too_long((*at, "author", "name"), EMBED_AUTHOR_MAX))
        total += _length(author.get("name"))
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.append(_too_long((*at, "fields"), EMBED_FIELDS_MAX))
        for j, embed_field in enumerate(fields):
            name, value = embed_field.get("name"), embed_field.get("value")
            if _length(name) > EMBED_FIELD_NAME_MAX:
                errors.append(_too_long((*at, "fields", j, "name"), EMBED_FIELD_NAME_MAX))
            if _length(value) > EMBED_FIELD_VALUE_MAX:
                errors.append(_too_long((*at, "fields", j, "value"), EMBED_FIELD_VALUE_MAX))
            if not name or not value:
                key = "name" if not name else "value"
                errors.append(
                    FieldError(
                        (*at, "fields", j, key), "BASE_TYPE_REQUIRED", "This field is required"
                    )
                )
            total += _length(name) + _length(value)
    if total > EMBED_TOTAL_MAX:
        errors.append(
            FieldError(
                ("embeds",),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
            )
        )
    return errors


def _components_errors(rows: list[Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(rows) > ACTION_ROWS_MAX:
        errors.append(_too_long(("components",), ACTION_ROWS_MAX))
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        if row.get("type") != ACTION_ROW:
            errors.append(
                FieldError(
                    ("components", i, "type"),
                    "COMPONENT_LAYOUT_INVALID",
                    "Top-level components must be action rows without the IS_COMPONENTS_V2 flag",
                )
            )
            continue
        children = row.get("components") or []
        buttons = [c for c in children if isinstance(c, dict) and c.get("type") == BUTTON]
        if len(buttons) > ROW_BUTTONS_MAX or len(children) > ROW_BUTTONS_MAX:
            errors.append(_too_long(("components", i, "components"), ROW_BUTTONS_MAX))
        for j, child in enumerate(children):
            if not isinstance(child, dict):
                continue
            at = ("components", i, "components", j)
            custom_id = child.get("custom_id")
            if child.get("type") == BUTTON and child.get("style") in (LINK_STYLE, PREMIUM_STYLE):
                if custom_id is not None:
                    errors.append(
                        FieldError(
                            (*at, "custom_id"),
                            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                            "Link buttons cannot have a custom_id",
                        )
                    )
                continue
            if not custom_id:
                errors.append(
                    FieldError((*at, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
                )
                continue
            if _length(custom_id) > CUSTOM_ID_MAX:
                errors.append(_too_long((*at, "custom_id"), CUSTOM_ID_MAX))
            if custom_id in seen:
                errors.append(
                    FieldError(
                        (*at, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                )
            seen.add(custom_id)
            if _length(child.get("label")) > BUTTON_LABEL_MAX:
                errors.append(_too_long((*at, "label"), BUTTON_LABEL_MAX))
    return errors


# --- autocomplete --------------------------------------------------------------------------


def autocomplete_errors(data: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    choices = data.get("choices") or []
    if len(choices) > CHOICES_MAX:
        errors.append(_too_long(("data", "choices"), CHOICES_MAX))
    for i, choice in enumerate(choices):
        at = ("data", "choices", i)
        if not 1 <= _length(choice.get("name")) <= CHOICE_NAME_MAX:
            errors.append(
                FieldError(
                    (*at, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            )
        if _length(choice.get("value")) > CHOICE_STRING_VALUE_MAX:
            errors.append(_too_long((*at, "value"), CHOICE_STRING_VALUE_MAX))
    return errors


# --- application commands ------------------------------------------------------------------

# Docs, "Application Command Naming": letters (any script, lowercase where a lowercase
# exists), digits, '-', '_' and apostrophe; 1..32 characters. \w covers letters, digits, _.
_NAME = re.compile(r"^[-_'\w]{1,32}$")
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, NUMBER = 3, 4, 10
AUTOCOMPLETE_TYPES = {STRING, INTEGER, NUMBER}
KNOWN_CONTEXTS = {0, 1, 2}
KNOWN_INTEGRATION_TYPES = {0, 1}


def commands_errors(commands: list[Any]) -> list[FieldError]:
    """Discord's rules for a bulk overwrite (PUT .../commands)."""
    errors: list[FieldError] = []
    seen: set[tuple[int, str]] = set()
    chat_inputs = 0
    for i, command in enumerate(commands):
        if not isinstance(command, dict):
            continue
        kind = command.get("type") or CHAT_INPUT
        name = command.get("name") or ""
        at: Path = (i,)
        if kind == CHAT_INPUT:
            chat_inputs += 1
            errors += _name_errors(name, (*at, "name"))
            errors += _description_errors(command.get("description"), (*at, "description"))
            errors += _options_errors(command.get("options") or [], (*at, "options"), depth=0)
            if _command_text_length(command) > COMMAND_TEXT_MAX:
                errors.append(
                    FieldError(
                        at,
                        "APPLICATION_COMMAND_TOO_LARGE",
                        f"Command exceeds maximum size ({COMMAND_TEXT_MAX})",
                    )
                )
        elif command.get("description"):
            errors.append(
                FieldError(
                    (*at, "description"),
                    "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                    "Context menu commands cannot have a description",
                )
            )
        if (kind, name) in seen:
            errors.append(
                FieldError(
                    (*at, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique ({name})",
                )
            )
        seen.add((kind, name))
        for key, known in (
            ("contexts", KNOWN_CONTEXTS),
            ("integration_types", KNOWN_INTEGRATION_TYPES),
        ):
            values = command.get(key)
            if values is not None and (not values or set(values) - known):
                errors.append(
                    FieldError(
                        (*at, key), "BASE_TYPE_CHOICES", f"Values must be among {sorted(known)}."
                    )
                )
    if chat_inputs > CHAT_INPUT_COMMANDS_MAX:
        errors.append(
            FieldError(
                (),
                "APPLICATION_COMMANDS_TOO_MANY",
                f"Maximum number of application commands reached ({CHAT_INPUT_COMMANDS_MAX})",
            )
        )
    return errors


def _name_errors(name: Any, path: Path) -> list[FieldError]:
    if not isinstance(name, str) or not _NAME.match(name) or name != name.lower():
        return [FieldError(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")]
    return []


def _description_errors(description: Any, path: Path) -> list[FieldError]:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        return [FieldError(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")]
    return []


def _options_errors(options: list[Any], path: Path, *, depth: int) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(options) > OPTIONS_MAX:
        errors.append(_too_long(path, OPTIONS_MAX))
    kinds = [o.get("type") for o in options if isinstance(o, dict)]
    nested = [k in (SUB_COMMAND, SUB_COMMAND_GROUP) for k in kinds]
    if any(nested) and not all(nested):
        errors.append(
            FieldError(
                path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all other types",
            )
        )
    names: set[str] = set()
    optional_seen = False
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        at = (*path, i)
        kind = option.get("type")
        name = option.get("name")
        errors += _name_errors(name, (*at, "name"))
        errors += _description_errors(option.get("description"), (*at, "description"))
        # A name that is not a string is invalid already (above), and may not be hashable.
        if isinstance(name, str):
            if name in names:
                errors.append(
                    FieldError(
                        (*at, "name"),
                        "APPLICATION_COMMAND_OPTION_NAME_DUPLICATED",
                        "Option names must be unique",
                    )
                )
            names.add(name)
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            allowed_depth = 0 if kind == SUB_COMMAND_GROUP else 1
            if depth > allowed_depth:
                errors.append(
                    FieldError(
                        (*at, "type"),
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "Sub-commands cannot be nested this deep",
                    )
                )
            children = option.get("options") or []
            if kind == SUB_COMMAND_GROUP and any(
                c.get("type") != SUB_COMMAND for c in children if isinstance(c, dict)
            ):
                errors.append(
                    FieldError(
                        (*at, "options"),
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "A sub-command group may only contain sub-commands",
                    )
                )
            errors += _options_errors(children, (*at, "options"), depth=depth + 1)
            continue
        if option.get("required"):
            if optional_seen:
                errors.append(
                    FieldError(
                        (*at, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if option.get("autocomplete"):
            if choices:
                errors.append(
                    FieldError(
                        (*at, "autocomplete"),
                        "APPLICATION_COMMAND_AUTOCOMPLETE_AND_CHOICES",
                        "Autocomplete cannot be set on an option with choices",
                    )
                )
            if kind not in AUTOCOMPLETE_TYPES:
                errors.append(
                    FieldError(
                        (*at, "autocomplete"),
                        "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
                        "Autocomplete is only available on string, integer and number options",
                    )
                )
        if len(choices) > CHOICES_MAX:
            errors.append(_too_long((*at, "choices"), CHOICES_MAX))
        for j, choice in enumerate(choices):
            if not 1 <= _length(choice.get("name")) <= CHOICE_NAME_MAX:
                errors.append(
                    FieldError(
                        (*at, "choices", j, "name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                )
            if _length(choice.get("value")) > CHOICE_STRING_VALUE_MAX:
                errors.append(_too_long((*at, "choices", j, "value"), CHOICE_STRING_VALUE_MAX))
    return errors


def _command_text_length(command: dict[str, Any]) -> int:
    """Name, description and every option's name, description and choices, combined."""
    total = _length(command.get("name")) + _length(command.get("description"))
    for option in command.get("options") or []:
        total += _command_text_length(option)
        for choice in option.get("choices") or []:
            total += _length(choice.get("name")) + len(str(choice.get("value", "")))
    return total
