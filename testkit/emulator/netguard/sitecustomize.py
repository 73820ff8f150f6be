"""Loaded at start-up by a bot process under test (its directory is put on PYTHONPATH).

Tests must never reach the internet, and a bot that dials ``discord.com`` or
``gateway.discord.gg`` despite ``DISCORD_API_BASE`` is exactly the bug end-to-end tests must
catch. So any name look-up or connection to a non-loopback address is refused (``OSError``)
and written to the file named by ``STEADY_TEST_NETGUARD_LOG``; the test fixture fails the
test if that file is not empty.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

_LOG = os.environ.get("STEADY_TEST_NETGUARD_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): a local wildcard, used to bind
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"pid {os.getpid()}: {what}\n")


def _guard_address(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets and the like never leave the machine
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_loopback(host):
        _record(f"connect {address!r}")
        raise OSError(errno.ENETUNREACH, f"netguard: {address!r} is not loopback (test)")


_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not _is_loopback(host):
        _record(f"getaddrinfo {host!r} {port!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"netguard: {host!r} is not loopback (test)")
    return _original_getaddrinfo(host, port, *args, **kwargs)


def _connect(self, address):  # type: ignore[no-untyped-def]
    _guard_address(self, address)
    return _original_connect(self, address)


def _connect_ex(self, address):  # type: ignore[no-untyped-def]
    _guard_address(self, address)
    return _original_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect  # type: ignore[method-assign]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
