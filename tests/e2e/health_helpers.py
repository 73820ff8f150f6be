"""Reading a bot's ``/healthz`` and ``/metrics`` the way an orchestrator does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        is_json = r.content_type == "application/json"
        return r.status, await (r.json() if is_json else r.text())


async def health_becomes(url: str, status: int, within: float = 10.0) -> dict[str, Any]:
    """Poll as an orchestrator does until ``/healthz`` answers ``status``."""
    deadline = time.monotonic() + within
    while True:
        got, body = await get(url)
        if got == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz stayed {got} ({body}), expected {status}")
        await asyncio.sleep(0.1)
