"""Discord's JSON error bodies, built in one place so every route answers alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class FieldError:
    """One reason a body was rejected, at a path inside the body (``("embeds", 0, "title")``)."""

    path: tuple[str | int, ...]
    code: str
    message: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "<body>"
        return f"{where}: {self.code} {self.message}"


def invalid_form_body(errors: list[FieldError]) -> dict[str, Any]:
    """Discord's 400 body: ``{"code": 50035, "message": "Invalid Form Body", "errors": {...}}``.

    ``errors`` nests by path and ends in ``{"_errors": [{"code", "message"}]}``, exactly as
    Discord shows it, so the bot's error handling sees the real shape.
    """
    tree: dict[str, Any] = {}
    for error in errors:
        node = tree
        for part in error.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": error.code, "message": error.message})
    return {"code": 50035, "message": "Invalid Form Body", "errors": tree}


# Discord's JSON error codes the emulator answers with (docs: "JSON Error Codes").
UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
UNKNOWN_USER = (404, 10013, "Unknown User")
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
MISSING_ACCESS = (403, 50001, "Missing Access")
CANNOT_SEND_EMPTY = (400, 50006, "Cannot send an empty message")
CANNOT_DM_USER = (403, 50007, "Cannot send messages to this user")
MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
UNAUTHORIZED = (401, 0, "401: Unauthorized")
NOT_FOUND = (404, 0, "404: Not Found")


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with exactly ``Content-Type: application/json``, as Discord sends it.

    discord.py only parses a body as JSON when the header is exactly that string;
    aiohttp's ``web.json_response`` would append ``; charset=utf-8``.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def error_response(error: tuple[int, int, str], **extra: Any) -> web.Response:
    status, code, message = error
    return json_response({"message": message, "code": code, **extra}, status=status)
