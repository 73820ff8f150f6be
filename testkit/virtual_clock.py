"""A virtual clock for the simulated day (:mod:`benchmarks.day`): an asyncio event loop on which
work takes the real time it takes, and waiting takes none.

The loop's ``time()`` is the real monotonic clock plus an offset. The offset only grows, and
only at one moment: when the loop is about to block in ``select`` waiting for its next timer
while **nothing is ready to run and no database work is in flight**. Then nothing can happen
before that timer but the timer itself, so the loop adds the wait to the offset and returns
at once — an idle gap of the day (the dispatcher sleeping until the next due second, a
worker waiting for the limiter's next slot, a simulated network round trip) costs no real
time. Everything else runs in real time, on the same clock:

* Python work on the loop (claiming, planning, rendering, the limiter's bookkeeping) holds
  the loop; the clock advances by what it really took.
* Database work is in flight outside the loop (aiosqlite's thread, PostgreSQL's socket).
  While any is, ``select`` blocks for real, up to the next timer as usual: a timer that falls
  due meanwhile (a limiter slot) fires on time, and the result wakes the loop when it comes.
  So a claim that takes 40 ms delays everything behind it by 40 ms, as in production.

Database work is tracked explicitly, not guessed: every call of the engine's
:class:`~storage.database.Database` goes through :class:`TrackedDatabase`, which counts
itself in flight from the call until its result is back on the loop (a transaction, from
``BEGIN`` until its ``COMMIT`` is back). Waiting for SQLite's write lock counts as database
work too: its holder is in a statement or about to run one. Anything else that leaves the
loop (opening the database, a thread, DNS) runs inside :meth:`VirtualClockLoop.real_time`,
which holds the clock at real speed.

A loop with nothing ready, nothing in flight and no timer would wait forever on the real clock:
it raises :class:`Stalled` instead.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from storage.database import Database, Migration, Params, Row, Transaction


class Stalled(RuntimeError):
    """Nothing to run, nothing in flight, no timer: the simulation can never move on."""


class InFlight:
    """How much work is outside the loop right now (database calls, real-time sections)."""

    def __init__(self) -> None:
        self.count = 0
        self.calls = 0

    def __enter__(self) -> InFlight:
        self.count += 1
        self.calls += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.count -= 1


class _SkippingSelector(selectors.DefaultSelector):
    """The loop's selector: polls, then either waits for real or skips the wait."""

    def __init__(self) -> None:
        super().__init__()
        self.flight = InFlight()
        self.offset = 0.0
        self.skipped_s = 0.0  # virtual seconds skipped
        self.skips = 0
        self.waited_s = 0.0  # real seconds blocked waiting for work in flight

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if self.flight.count > 0:
            started = time.monotonic()
            events = super().select(timeout)
            self.waited_s += time.monotonic() - started
            return events
        if timeout is None:
            raise Stalled("nothing ready, nothing in flight and no timer: the loop would hang")
        self.offset += timeout
        self.skipped_s += timeout
        self.skips += 1
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """The event loop of the simulated day; see the module's docstring."""

    def __init__(self) -> None:
        self._skipper = _SkippingSelector()
        super().__init__(self._skipper)

    def time(self) -> float:
        return time.monotonic() + self._skipper.offset

    @property
    def flight(self) -> InFlight:
        return self._skipper.flight

    @contextmanager
    def real_time(self) -> Iterator[None]:
        """Run a section at real speed (opening databases, building a population)."""
        with self.flight:
            yield

    def figures(self) -> dict[str, float]:
        """How the clock ran: virtual seconds skipped, real seconds spent waiting on work in
        flight, and how many database calls were tracked."""
        return {
            "skipped_s": self._skipper.skipped_s,
            "skips": self._skipper.skips,
            "waited_in_flight_s": self._skipper.waited_s,
            "tracked_calls": self._skipper.flight.calls,
        }


class TrackedDatabase(Database):
    """A :class:`Database` whose every call counts as work in flight while it runs.

    Built with :func:`tracked`, which gives it the wrapped database's ``dialect`` and
    ``shared``; everything else is delegated unchanged.
    """

    def __init__(self, inner: Database, flight: InFlight) -> None:
        self.inner = inner
        self.flight = flight

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        with self.flight:
            return await self.inner.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with self.flight:
            return await self.inner.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        with self.flight:
            return await self.inner.fetchval(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        with self.flight:
            return await self.inner.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self.flight:
            await self.inner.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        # The whole transaction is in flight: between its statements the loop runs the
        # caller's own Python (which takes real time anyway), and the database is held.
        with self.flight:
            async with self.inner.transaction() as tx:
                yield tx

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        with self.flight:
            return await self.inner.migrate(migrations)

    async def close(self) -> None:
        with self.flight:
            await self.inner.close()

    async def announce_due_change(self) -> None:
        with self.flight:
            await self.inner.announce_due_change()

    async def listen_due_changes(self, callback: Any) -> None:
        with self.flight:
            await self.inner.listen_due_changes(callback)


def tracked(inner: Database, flight: InFlight) -> TrackedDatabase:
    """``inner`` with its calls tracked as in flight on ``flight``."""
    cls = type(
        f"Tracked{type(inner).__name__}",
        (TrackedDatabase,),
        {"dialect": inner.dialect, "shared": inner.shared},
    )
    return cls(inner, flight)
