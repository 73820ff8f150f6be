"""Running the bot with its dashboard on, the dashboard as its own process, and a plain HTTP
"browser" for either.

The browser tests (tests/browser/) drive Debian's chromium; the end-to-end tests and the
benchmark use aiohttp's client so the dashboard inside the real bot process (and
``python -m bot dashboard``, :class:`WebProcess`) is covered where no browser is installed.
Pick the dashboard's port with :func:`testkit.ports.on_a_free_port_async`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import aiohttp

from testkit.bot_process import BotProcess
from testkit.emulator import Emulator
from testkit.emulator.state import User
from testkit.ports import PortTaken

DASHBOARD_SECRET = "e2e-dashboard-secret-" + "k" * 40
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def dashboard_env(emulator: Emulator, port: int) -> dict[str, str]:
    """The bot's environment for a dashboard on ``port``, logging in through the emulator."""
    base_url = f"http://127.0.0.1:{port}"
    emulator.oauth.redirect_uris = [f"{base_url}/callback"]
    return {
        "DASHBOARD_PORT": str(port),
        "DASHBOARD_URL": base_url,
        "DASHBOARD_SECRET": DASHBOARD_SECRET,
        "DISCORD_CLIENT_SECRET": emulator.oauth.client_secret,
        "DISCORD_AUTHORIZE_URL": emulator.authorize_url,
    }


class WebProcess(BotProcess):
    """``python -m bot dashboard``: the web process, logged and stopped like the bot."""

    subcommand = ("dashboard",)

    async def start_listening(self, emulator: Emulator, within: float = 20.0) -> WebProcess:
        """Start it and wait until it listens. :class:`~testkit.ports.PortTaken` if its
        ``DASHBOARD_PORT`` was in use (try another), ``RuntimeError`` if it stopped otherwise."""
        await self.start()
        await emulator.wait_until(
            lambda: self.logged("dashboard at") or not self.running,
            within=within,
            what="the dashboard to listen",
        )
        if not self.running:
            if self.port_was_taken:
                raise PortTaken(self.output)
            raise RuntimeError(f"the web process exited during start-up:\n{self.output[-4000:]}")
        return self


class DashboardBrowser:
    """One member's browser without a screen: a cookie jar, links followed by hand."""

    def __init__(self, base_url: str, emulator: Emulator) -> None:
        self.base_url = base_url
        self.emulator = emulator
        self.http = aiohttp.ClientSession(
            base_url=base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def close(self) -> None:
        await self.http.close()

    async def log_in(self, user: User) -> None:
        start = await self.http.get("/login", allow_redirects=False)
        back = urlsplit(self.emulator.oauth.approve(start.headers["Location"], user))
        done = await self.http.get(f"{back.path}?{back.query}", allow_redirects=False)
        assert done.status == 302, await done.text()

    async def page(self, path: str) -> str:
        response = await self.http.get(path)
        return await response.text()

    async def submit(
        self, path: str, form: dict[str, str], *, from_page: str = "/reminders"
    ) -> aiohttp.ClientResponse:
        match = CSRF_FIELD.search(await self.page(from_page))
        assert match, f"no form on {from_page}"
        return await self.http.post(
            path, data={"csrf": match.group(1), **form}, allow_redirects=False
        )
