"""Failures a test asks for: 5xx storms, 429 storms, any Discord error on the next N requests."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InjectedFault:
    """Answer the next ``remaining`` requests matching ``pattern`` with ``status`` + ``body``.

    ``pattern`` is an fnmatch pattern over ``"METHOD /path"`` with the path relative to the
    API base, e.g. ``"POST /channels/*/messages"``.
    """

    pattern: str
    status: int
    body: dict[str, Any]
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and fnmatch.fnmatchcase(f"{method} {path}", self.pattern)


@dataclass
class Faults:
    injected: list[InjectedFault] = field(default_factory=list)

    def take(self, method: str, path: str) -> InjectedFault | None:
        for fault in self.injected:
            if fault.matches(method, path):
                fault.remaining -= 1
                fault.hits += 1
                return fault
        return None
