"""Opening a member's DM channel over plain REST, for a process without discord.py's client.

The web process (``python -m bot dashboard``) has no gateway connection and no discord.py
client, yet a member who subscribes there should have their DM channel opened ahead like
one who subscribes in a server (:mod:`services.engine.dm_channels`). This is the one call
that needs: ``POST /users/@me/channels`` with the bot token, every attempt through the
token's request limiter (on PostgreSQL the schedule every process of the token shares), and
Discord's answer mapped onto the engine's error types as the bot's transport maps them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from services.bot_rest import BotRest
from services.engine.transport import (
    CODE_CANNOT_DM,
    CODE_UNKNOWN_USER,
    DiscordUnavailable,
    DMsClosed,
    RateLimited,
    RequestRejected,
    TransportError,
)
from services.ratelimit import RequestLimiter, is_global_limit

#: A 429 is waited out this many times before the open is left to the sender.
MAX_RETRIES = 3
#: The longest 429 waited out here: longer, and the sender opens it when it is due instead.
MAX_WAIT_S = 5.0
TIMEOUT_S = 10.0


class RestDms:
    """:class:`~services.engine.transport.OpensDms` over aiohttp with the bot token."""

    def __init__(
        self,
        *,
        token: str,
        api_base: str,
        limiter: RequestLimiter,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._sleep = sleep
        self._rest = BotRest(token, limiter, TIMEOUT_S)

    async def close(self) -> None:
        await self._rest.close()

    async def open_dm(self, user_id: int) -> int:
        # The DM-open route's bucket (about 10/s) is the token's, shared with the bot
        # processes' opens: a 429 on it is waited out, a few times, as discord.py does there.
        for _ in range(MAX_RETRIES):
            try:
                return await self._open_dm(user_id)
            except RateLimited as limited:
                if limited.retry_after > MAX_WAIT_S:
                    raise
                await self._sleep(limited.retry_after)
        return await self._open_dm(user_id)

    async def _open_dm(self, user_id: int) -> int:
        try:
            async with self._rest.session().post(
                f"{self.api_base}/users/@me/channels", json={"recipient_id": str(user_id)}
            ) as response:
                body = await _json(response)
                if response.status >= 300:
                    raise rest_error(response.status, body, response.headers)
                return int(body["id"])
        except (aiohttp.ClientError, TimeoutError) as failure:
            raise DiscordUnavailable(repr(failure)) from failure


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def rest_error(status: int, body: dict[str, Any], headers: Any) -> TransportError:
    """Discord's refusal as the engine's error type (as ``discord_transport.map_error``)."""
    if status == 429:
        retry_after = body.get("retry_after", headers.get("Retry-After", 1))
        return RateLimited(float(retry_after), is_global_limit(headers))
    if status >= 500:
        return DiscordUnavailable(f"HTTP {status}")
    code = int(body.get("code") or 0)
    if code in (CODE_CANNOT_DM, CODE_UNKNOWN_USER):
        return DMsClosed(str(body.get("message") or ""))
    return RequestRejected(status, code, str(body.get("message") or ""))
