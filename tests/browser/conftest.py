"""A real headless browser for the dashboard: Debian's chromium driven by Playwright.

Playwright's own browser download is never used (no ``playwright install``): the tests launch
``/usr/bin/chromium``, which ``scripts/test`` installs with apt-get like faketime. Without it,
or without the ``playwright`` package, these tests skip with one line saying which is missing.

Screenshots of the main pages go to a temporary folder, or into ``docs/`` (which the README
shows) with ``STEADY_UPDATE_SCREENSHOTS=1``: a normal test run leaves the work tree clean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The real bot on the emulator, as the end-to-end tests start it (fixtures re-used here).
from tests.e2e.conftest import netguard_log, server, start_bot  # noqa: F401

# The dashboard as its own process (python -m bot dashboard) on PostgreSQL.
from tests.e2e.web_helpers import start_web  # noqa: F401

CHROMIUM = os.environ.get("STEADY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def chromium_path() -> str:
    """Where chromium is, or skip the test with one line saying how to get it."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator:
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("needs the playwright package (pip install -e .[test])")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    if os.environ.get("STEADY_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        return DOCS
    return tmp_path
