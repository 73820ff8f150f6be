"""The dashboard as its own process in the end-to-end tests: ``python -m bot dashboard``
started like the bot (:class:`WebProcess`, the ``start_web`` fixture, on a free port of
:mod:`testkit.ports`), and a browser whose one cookie jar serves every replica.

Import ``start_web`` into a test module or conftest to use the fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from testkit.bot_process import bot_environment
from testkit.dashboard import CSRF_FIELD, WebProcess, dashboard_env
from testkit.emulator import Emulator
from testkit.emulator.state import User
from testkit.ports import on_a_free_port_async

__all__ = ["FACTS_TTL_S", "Browser", "StartWeb", "WebProcess", "notified", "start_web"]

#: How long the web processes of these tests trust a server fact (DASHBOARD_FACTS_TTL_S).
FACTS_TTL_S = 3.0

#: Start a dashboard replica; returns it and its base URL.
StartWeb = Callable[[], Awaitable[tuple[WebProcess, str]]]


@pytest.fixture
async def start_web(
    postgres_url: str, emulator: Emulator, tmp_path: Path, netguard_log: Path
) -> AsyncIterator[StartWeb]:
    """Start a dashboard replica on a free port (again after a stop: a restart). Every
    replica's callback is registered with the emulator, as behind one load balancer."""
    processes: list[WebProcess] = []
    callbacks: list[str] = []

    async def start_on(port: int) -> WebProcess:
        env = dashboard_env(emulator, port)
        callbacks.append(f"http://127.0.0.1:{port}/callback")
        emulator.oauth.redirect_uris = list(dict.fromkeys(callbacks))
        env.update(DATABASE_URL=postgres_url, DASHBOARD_FACTS_TTL_S=str(FACTS_TTL_S))
        web = WebProcess(
            bot_environment(
                api_base=emulator.api_base,
                token=emulator.world.token,
                database_path=tmp_path / "unused.sqlite3",
                netguard_log=netguard_log,
                extra=env,
            ),
            on_output=emulator.notify,
        )
        processes.append(web)
        return await web.start_listening(emulator)

    async def start() -> tuple[WebProcess, str]:
        web, port = await on_a_free_port_async(start_on)
        return web, f"http://127.0.0.1:{port}"

    yield start
    for web in processes:
        if web.running:
            assert await web.terminate() == 0, web.output
        assert "Traceback" not in web.output, web.output


class Browser:
    """One member's browser: one cookie jar for every replica (they share a host name, as
    behind a load balancer)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def log_in(self, base: str, user: User) -> None:
        start = await self.http.get(f"{base}/login", allow_redirects=False)
        back = urlsplit(self.emulator.oauth.approve(start.headers["Location"], user))
        done = await self.http.get(f"{base}{back.path}?{back.query}", allow_redirects=False)
        assert done.status == 302, await done.text()

    async def get(self, url: str) -> aiohttp.ClientResponse:
        return await self.http.get(url, allow_redirects=False)

    async def csrf(self, url: str) -> str:
        match = CSRF_FIELD.search(await (await self.get(url)).text())
        assert match, f"no form on {url}"
        return match.group(1)

    async def post(self, url: str, form: dict[str, str], *, csrf: str) -> aiohttp.ClientResponse:
        return await self.http.post(url, data={"csrf": csrf, **form}, allow_redirects=False)


async def notified(url: str) -> tuple[asyncpg.Connection, asyncio.Event]:
    conn = await asyncpg.connect(url)
    heard = asyncio.Event()
    await conn.add_listener("steady_due", lambda *_: heard.set())
    return conn, heard
