"""Logged-in members using the dashboard while a burst of reminders is being sent.

Each member logs in through the emulator's Discord login (as tests/e2e/dashboard_helpers.py
does), then, until told to stop, loads one of their pages (My reminders, History), waits
``think`` seconds and loads the next. Every page time is measured at the client, from the
request to the last byte of the answer; the client runs in the benchmark's process beside the
emulator, so its own scheduling delays count against the figure, never for it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from testkit.dashboard import DashboardBrowser
from testkit.emulator import Emulator
from testkit.emulator.state import User

PAGES = ("/reminders", "/history")


@dataclass
class DashboardLoad:
    browsers: list[DashboardBrowser]
    think: float = 1.0
    page_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @classmethod
    async def log_in(cls, emulator: Emulator, base_url: str, users: list[User]) -> DashboardLoad:
        load = cls([DashboardBrowser(base_url, emulator) for _ in users])
        try:
            await asyncio.gather(*(b.log_in(u) for b, u in zip(load.browsers, users, strict=True)))
        except BaseException:
            await load.close()
            raise
        return load

    async def _member(self, browser: DashboardBrowser, offset: int, stop: asyncio.Event) -> None:
        i = offset
        while not stop.is_set():
            path = PAGES[i % len(PAGES)]
            i += 1
            started = time.perf_counter()
            try:
                async with browser.http.get(path, allow_redirects=False) as response:
                    await response.read()
                    if response.status != 200:
                        self.failures.append(f"{path}: {response.status}")
                        continue
            except Exception as error:  # a failed page is a figure too
                self.failures.append(repr(error)[:200])
                continue
            self.page_ms.append((time.perf_counter() - started) * 1000)
            try:
                await asyncio.wait_for(stop.wait(), self.think)
            except TimeoutError:
                pass

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._member(b, i, stop) for i, b in enumerate(self.browsers)))

    async def close(self) -> None:
        await asyncio.gather(*(b.close() for b in self.browsers))
