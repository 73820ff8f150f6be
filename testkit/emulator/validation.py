"""One entry point per kind of request body: the spec's schema, then Discord's documented limits.

Routes call these and, when the list is non-empty, answer Discord's 400 50035 *and* record a
:class:`Rejection` that the end-to-end fixtures turn into a test failure: a body Discord
would refuse is a bug even when the bot copes with the 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testkit.emulator import limits, openapi
from testkit.emulator.errors import FieldError


@dataclass(frozen=True)
class Rejection:
    """A request body the emulator refused, kept for the test to report."""

    method: str
    path: str
    body: Any
    errors: tuple[FieldError, ...]

    def __str__(self) -> str:
        reasons = "; ".join(str(e) for e in self.errors)
        return f"{self.method} {self.path} rejected: {reasons}"


# Interaction callback type -> the spec's schema for that type. The spec's anyOf over all
# seven callback schemas reports confusing errors; Discord itself dispatches on ``type``.
_CALLBACK_SCHEMAS = {
    1: "PongInteractionCallbackRequest",
    4: "CreateMessageInteractionCallbackRequest",
    5: "CreateMessageInteractionCallbackRequest",
    6: "UpdateMessageInteractionCallbackRequest",
    7: "UpdateMessageInteractionCallbackRequest",
    8: "ApplicationCommandAutocompleteCallbackRequest",
    9: "ModalInteractionCallbackRequest",
    12: "LaunchActivityInteractionCallbackRequest",
}


def _merge(*groups: list[FieldError]) -> list[FieldError]:
    """Keep the first error per path: the documented limit beats the spec's looser one."""
    merged: dict[tuple[Any, ...], FieldError] = {}
    for group in groups:
        for error in group:
            merged.setdefault(error.path, error)
    return list(merged.values())


def _unknown_fields(
    body: Any, schema_name: str, *, also_known: frozenset[str] = frozenset()
) -> list[FieldError]:
    """Misspelt top-level fields. Discord silently ignores them; for a test that is a bug."""
    if not isinstance(body, dict):
        return []
    known = openapi.component_properties(schema_name) | also_known
    return [
        FieldError(
            (key,),
            "UNKNOWN_FIELD",
            f"Not a field of {schema_name}; Discord would silently ignore it",
        )
        for key in body
        if key not in known
    ]


def _not_an_object(body: Any) -> list[FieldError]:
    if isinstance(body, dict):
        return []
    return [FieldError((), "BASE_TYPE_INVALID", "Expected a JSON object")]


def create_message(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    return _merge(
        limits.message_errors(body, require_something=True),
        openapi.validate(openapi.operation_pointer("create_message"), body),
        _unknown_fields(body, "MessageCreateRequest"),
    )


def edit_message(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    return _merge(
        limits.message_errors(body),
        openapi.validate(openapi.schema_pointer("MessageEditRequestPartial"), body),
        _unknown_fields(body, "MessageEditRequestPartial"),
    )


def execute_webhook(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    return _merge(
        limits.message_errors(body, require_something=True),
        openapi.validate(openapi.schema_pointer("IncomingWebhookRequestPartial"), body),
        _unknown_fields(body, "IncomingWebhookRequestPartial"),
    )


def edit_webhook_message(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    return _merge(
        limits.message_errors(body),
        openapi.validate(openapi.schema_pointer("IncomingWebhookUpdateRequestPartial"), body),
        _unknown_fields(body, "IncomingWebhookUpdateRequestPartial"),
    )


def interaction_callback(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    schema = _CALLBACK_SCHEMAS.get(body.get("type"))
    if schema is None:
        return [FieldError(("type",), "BASE_TYPE_CHOICES", "Value must be one of (1, 4..9, 12).")]
    data = body.get("data") or {}
    extra: list[FieldError] = []
    if body["type"] in (4, 5, 7) and isinstance(data, dict):
        extra = [
            FieldError(("data", *e.path), e.code, e.message)
            for e in limits.message_errors(data, require_something=body["type"] == 4)
        ]
    elif body["type"] == 8 and isinstance(data, dict):
        extra = limits.autocomplete_errors(data)
    return _merge(
        extra,
        openapi.validate(openapi.schema_pointer(schema), body),
        _unknown_fields(body, schema),
    )


def bulk_overwrite_commands(body: Any) -> list[FieldError]:
    if not isinstance(body, list):
        return [FieldError((), "BASE_TYPE_INVALID", "Expected a JSON array")]
    unknown = [
        FieldError((i, *e.path), e.code, e.message)
        for i, command in enumerate(body)
        # The spec omits ``nsfw``, which Discord documents and discord.py always sends.
        for e in _unknown_fields(
            command, "ApplicationCommandUpdateRequest", also_known=frozenset({"nsfw"})
        )
    ]
    return _merge(
        limits.commands_errors(body),
        openapi.validate(openapi.operation_pointer("bulk_set_application_commands"), body),
        unknown,
    )


def create_dm(body: Any) -> list[FieldError]:
    if _not_an_object(body):
        return _not_an_object(body)
    errors = openapi.validate(openapi.operation_pointer("create_dm"), body)
    if body.get("recipient_id") is None:
        errors.append(FieldError(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required"))
    return errors
