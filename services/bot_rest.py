"""An HTTP session to Discord's REST API as the bot, for a process without discord.py's client.

The web process (``python -m bot dashboard``) asks Discord a few things with the bot token —
a server's facts (:mod:`services.guild_facts`), a member's DM channel
(:mod:`services.engine.rest_dms`) — and every one of those requests counts against the
token's one limit, so each goes through the token's request limiter (on PostgreSQL the
schedule every process shares) like the bot's own.
"""

from __future__ import annotations

import aiohttp

from services.ratelimit import RequestLimiter, limiter_trace

USER_AGENT = "DiscordBot (https://github.com/steady, 0.1) Steady-dashboard"


class BotRest:
    """One lazily opened ``aiohttp`` session, authorised as the bot and paced by ``limiter``."""

    def __init__(self, token: str, limiter: RequestLimiter, timeout_s: float) -> None:
        self._token = token
        self._limiter = limiter
        self._timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                headers={"Authorization": f"Bot {self._token}", "User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                trace_configs=[limiter_trace(self._limiter)],
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
