"""Ports for the servers tests and benchmarks start, without the "find a free port" race.

Asking the kernel for a free port, closing the socket and handing the number to a server is a
race: between the close and the server's bind, another pytest worker (or anything else on the
machine) may take the port, and a test fails for nothing. So:

- **A server in this process binds port 0 and reads back the port it got** (the emulator,
  ``HealthServer`` in the unit tests): no window at all. Prefer this whenever you can.
- **A server in another process** cannot be handed a bound socket, and the ones we start must
  know their port up front: PostgreSQL refuses ``-p 0``; the bot refuses ``HEALTH_PORT=0`` and
  ``DASHBOARD_PORT=0`` (its settings are 1–65535), and the dashboard's OAuth redirect URI, which
  the emulator must have registered before the login, contains the port. For those,
  :func:`on_a_free_port` (or :func:`on_a_free_port_async`) calls ``start(port)`` with a port
  the kernel just said was free and, when the server reports the port taken (``start`` raises
  :class:`PortTaken`), tries again on another one. The race can still happen; it costs a retry
  instead of a failed test. This is the only place a port is picked by number.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

ATTEMPTS = 5


class PortTaken(Exception):
    """The server could not listen on the port it was given: another process took it."""


def _candidate(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (see the module's docstring for why only a candidate)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def on_a_free_port(start: Callable[[int], T], *, attempts: int = ATTEMPTS) -> tuple[T, int]:
    """``start(port)`` on a free port, again on another one while it raises :class:`PortTaken`.

    Returns what ``start`` returned and the port it runs on.
    """
    for attempt in range(attempts):
        port = _candidate()
        try:
            return start(port), port
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


async def on_a_free_port_async(
    start: Callable[[int], Awaitable[T]], *, attempts: int = ATTEMPTS
) -> tuple[T, int]:
    """:func:`on_a_free_port` for a ``start`` that is a coroutine function."""
    for attempt in range(attempts):
        port = _candidate()
        try:
            return await start(port), port
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
