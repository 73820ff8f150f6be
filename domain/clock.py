"""The clock every time-dependent part reads: the real one in production, a fake in tests.

Parts that decide by the time (the dispatcher, the sender, the services) take a ``clock``
argument instead of calling ``datetime.now`` themselves, so a test or the simulated day can
run them on a time of its choosing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: Returns the current instant, timezone-aware.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
