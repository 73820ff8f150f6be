"""Request bodies checked against Discord's official OpenAPI spec.

The spec (``testkit/emulator/discord-api-spec/openapi.json``, 1.2 MB, vendored with its source,
commit and licence beside it) is loaded once, on the first
request that needs it; one compiled ``jsonschema`` validator is cached per schema, so
thousands of requests cost a dict look-up and a validation each.

The spec is a public preview and is looser or stricter than Discord in a few places (see its
SOURCE.md). Each deviation is patched narrowly in :func:`_patch_spec_quirks` with the reason.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
from pathlib import Path
from typing import Any

# jsonschema ships no type information, and its stub package (types-jsonschema) is not a
# test dependency: the two imports are untyped, nothing else.
import jsonschema  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from testkit.emulator.errors import FieldError

SPEC_ENV = "DISCORD_OPENAPI_SPEC"
_SPEC_URI = "urn:discord-openapi"
_VENDORED_SPEC = Path(__file__).resolve().parent / "discord-api-spec" / "openapi.json"


def spec_path() -> Path:
    """The vendored spec, unless ``DISCORD_OPENAPI_SPEC`` names a newer copy to try."""
    override = os.environ.get(SPEC_ENV)
    if override:
        if not Path(override).is_file():
            raise FileNotFoundError(f"{SPEC_ENV}={override}: no such file")
        return Path(override)
    return _VENDORED_SPEC


def _patch_spec_quirks(spec: dict[str, Any]) -> None:
    """Narrow fixes where the preview spec rejects bodies Discord accepts."""
    schemas = spec["components"]["schemas"]
    # Snowflakes are strings in the spec, but Discord accepts integers too and discord.py
    # sends some ids as integers (recipient_id, allowed_mentions.users, message_reference).
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0}],
        "format": "snowflake",
    }
    # ChannelTypes lacks GUILD_MEDIA (16), which Discord documents and discord.py sends in
    # an option's channel_types for channel parameters.
    channel_types = schemas["ChannelTypes"]["oneOf"]
    if not any(branch.get("const") == 16 for branch in channel_types):
        channel_types.append({"title": "GUILD_MEDIA", "const": 16})


@functools.cache
def _spec() -> tuple[dict[str, Any], Registry]:
    with spec_path().open(encoding="utf-8") as handle:
        spec = json.load(handle)
    spec = copy.deepcopy(spec)
    _patch_spec_quirks(spec)
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return spec, Registry().with_resource(_SPEC_URI, resource)


@functools.cache
def _operation_pointers() -> dict[str, str]:
    """operationId -> JSON pointer of its ``application/json`` request-body schema."""
    spec, _ = _spec()
    pointers: dict[str, str] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                escaped = path.replace("~", "~0").replace("/", "~1")
                pointers[operation["operationId"]] = (
                    f"/paths/{escaped}/{method}/requestBody/content/application~1json/schema"
                )
    return pointers


_lock = threading.Lock()
_validators: dict[str, jsonschema.protocols.Validator] = {}


def _validator(pointer: str) -> jsonschema.protocols.Validator:
    validator = _validators.get(pointer)
    if validator is None:
        with _lock:
            _, registry = _spec()
            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry
            )
            _validators[pointer] = validator
    return validator


def schema_pointer(name: str) -> str:
    """The pointer of a named component schema, e.g. ``MessageCreateRequest``."""
    return f"/components/schemas/{name}"


def operation_pointer(operation_id: str) -> str:
    try:
        return _operation_pointers()[operation_id]
    except KeyError:
        raise KeyError(f"no JSON request body for operation {operation_id!r} in the spec") from None


def component_properties(name: str) -> set[str]:
    """Top-level property names of a component schema (to catch misspelt fields)."""
    spec, _ = _spec()
    return set(spec["components"]["schemas"][name].get("properties", {}))


def validate(pointer: str, body: Any) -> list[FieldError]:
    """Every spec violation in ``body``, as Discord-style field errors."""
    return [_to_field_error(e) for e in _validator(pointer).iter_errors(body)]


def _branch_errors(error: ValidationError) -> list[ValidationError]:
    """Of a failed oneOf/anyOf, the errors of the branch the body meant to match.

    Discord's unions are discriminated by ``type``: a branch whose ``type`` itself does not
    match is not the one the client meant, so its errors would only mislead.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [
        errors
        for errors in branches.values()
        if not any(
            tuple(e.relative_path) == ("type",) and e.validator in ("enum", "const") for e in errors
        )
    ]
    if len(meant) == 1:
        return meant[0]
    return list(error.context or [])


def _to_field_error(error: ValidationError) -> FieldError:
    # A failed oneOf/anyOf says little; the failing branch the body meant says what is wrong.
    while error.context:
        error = best_match(_branch_errors(error))
    path = tuple(error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    if keyword == "maxLength":
        return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length.")
    if keyword == "minLength":
        return FieldError(path, "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length.")
    if keyword == "maxItems":
        return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length.")
    if keyword == "minItems":
        return FieldError(path, "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length.")
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return FieldError((*path, missing), "BASE_TYPE_REQUIRED", "This field is required")
    if keyword in ("enum", "const"):
        return FieldError(path, "BASE_TYPE_CHOICES", f"Value must be one of {value}.")
    if keyword in ("maximum", "minimum"):
        return FieldError(path, "NUMBER_TYPE_OUT_OF_RANGE", error.message)
    if keyword == "type":
        return FieldError(path, "BASE_TYPE_INVALID", f"Expected {value}: {error.message}")
    return FieldError(path, "BASE_TYPE_INVALID", error.message)
