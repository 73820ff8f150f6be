"""The discord.py adapter: request shape and error mapping."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import discord
import pytest

from services.engine.discord_transport import DiscordPyTransport, map_error
from services.engine.transport import (
    DiscordUnavailable,
    DMsClosed,
    MissingAccess,
    MissingPermissions,
    RateLimited,
    RequestRejected,
    UnknownChannel,
)


def response(status: int, headers: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, reason="x", headers=headers or {})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (discord.Forbidden(response(403), {"code": 50007, "message": "Cannot send"}), DMsClosed),
        (discord.NotFound(response(404), {"code": 10013, "message": "Unknown User"}), DMsClosed),
        (
            discord.Forbidden(response(403), {"code": 50001, "message": "Missing Access"}),
            MissingAccess,
        ),
        (
            discord.Forbidden(response(403), {"code": 50013, "message": "Missing Perms"}),
            MissingPermissions,
        ),
        (
            discord.NotFound(response(404), {"code": 10003, "message": "Unknown Channel"}),
            UnknownChannel,
        ),
        (discord.DiscordServerError(response(502), "bad gateway"), DiscordUnavailable),
        (
            discord.HTTPException(response(400), {"code": 50035, "message": "Invalid"}),
            RequestRejected,
        ),
        (aiohttp.ClientConnectionError("reset"), DiscordUnavailable),
        (TimeoutError(), DiscordUnavailable),
    ],
)
def test_error_mapping(error, expected):
    assert isinstance(map_error(error), expected)


def test_429_maps_to_rate_limited_with_retry_after():
    error = discord.HTTPException(
        response(429, {"Retry-After": "3.5", "X-RateLimit-Global": "true"}), "slow down"
    )
    mapped = map_error(error)
    assert isinstance(mapped, RateLimited)
    assert (mapped.retry_after, mapped.is_global) == (3.5, True)
    assert map_error(discord.RateLimited(12.0)).retry_after == 12.0


@pytest.mark.parametrize(
    ("headers", "is_global"),
    [({"X-RateLimit-Scope": "global"}, True), ({"X-RateLimit-Scope": "user"}, False), ({}, False)],
)
def test_429_is_global_by_the_limiter_s_rule(headers, is_global):
    """The same rule as the request limiter's (services/ratelimit.py), scope header included."""
    mapped = map_error(discord.HTTPException(response(429, headers), "slow down"))
    assert isinstance(mapped, RateLimited) and mapped.is_global is is_global


class FakeHTTP:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.fail = fail

    async def start_private_message(self, user_id: int) -> dict:
        return {"id": str(900 + user_id)}

    async def request(self, route, json=None):
        self.calls.append((route.method, route.path, json))
        if self.fail:
            raise self.fail
        return {"id": "1234"}


async def test_send_message_posts_with_nonce_and_enforce_nonce():
    http = FakeHTTP()
    transport = DiscordPyTransport(http)  # type: ignore[arg-type]
    assert await transport.open_dm(5) == 905
    assert await transport.send_message(77, {"embeds": []}, "sabc.def") == 1234
    ((method, path, body),) = http.calls
    assert (method, path) == ("POST", "/channels/{channel_id}/messages")
    assert body == {"embeds": [], "nonce": "sabc.def", "enforce_nonce": True}


async def test_send_message_maps_errors():
    http = FakeHTTP(discord.Forbidden(response(403), {"code": 50007, "message": "no"}))
    with pytest.raises(DMsClosed):
        await DiscordPyTransport(http).send_message(1, {}, "n")  # type: ignore[arg-type]
