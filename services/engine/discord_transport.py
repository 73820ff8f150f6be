"""The real :class:`~services.engine.transport.DiscordTransport` over discord.py's HTTP client.

It uses ``bot.http`` directly (not ``User.send``/``TextChannel.send``) so that a reminder
costs exactly one request with a cached DM channel id, carries our deterministic nonce
with ``enforce_nonce``, and needs no cached user or channel objects. discord.py still
handles per-route buckets and retries a few 429s itself; what it finally raises is mapped
onto the engine's error types here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, Route

from services.engine.transport import (
    CODE_CANNOT_DM,
    CODE_MISSING_ACCESS,
    CODE_MISSING_PERMISSIONS,
    CODE_UNKNOWN_CHANNEL,
    CODE_UNKNOWN_USER,
    DiscordUnavailable,
    DMsClosed,
    MissingAccess,
    MissingPermissions,
    RateLimited,
    RequestRejected,
    TransportError,
    UnknownChannel,
)
from services.ratelimit import is_global_limit


def _retry_after(error: discord.HTTPException) -> float:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                pass
    return 1.0


def map_error(error: BaseException) -> TransportError:
    """discord.py / aiohttp exception -> the engine's error type."""
    if isinstance(error, discord.RateLimited):  # over ``max_ratelimit_timeout``
        return RateLimited(error.retry_after)
    if isinstance(error, discord.HTTPException):
        status, code = error.status, error.code
        if status == 429:
            headers = getattr(getattr(error, "response", None), "headers", None) or {}
            return RateLimited(_retry_after(error), is_global_limit(headers))
        if status >= 500:
            return DiscordUnavailable(f"HTTP {status}")
        if code in (CODE_CANNOT_DM, CODE_UNKNOWN_USER):
            return DMsClosed(error.text)
        if code == CODE_UNKNOWN_CHANNEL:
            return UnknownChannel(error.text)
        if code == CODE_MISSING_ACCESS:
            return MissingAccess(error.text)
        if code == CODE_MISSING_PERMISSIONS:
            return MissingPermissions(error.text)
        if status == 404:
            return UnknownChannel(error.text)
        return RequestRejected(status, code, error.text)
    if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DiscordUnavailable(repr(error))
    raise error


class DiscordPyTransport:
    def __init__(self, http: HTTPClient) -> None:
        self.http = http

    async def open_dm(self, user_id: int) -> int:
        try:
            data = await self.http.start_private_message(user_id)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as error:
            raise map_error(error) from error
        return int(data["id"])

    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        body = {**payload, "nonce": nonce, "enforce_nonce": True}
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        try:
            data = await self.http.request(route, json=body)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as error:
            raise map_error(error) from error
        return int(data["id"])
