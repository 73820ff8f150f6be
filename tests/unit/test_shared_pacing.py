"""One send schedule for several processes (services/engine/shared_pacing.py, storage/send_rate.py).

The pacing tests run "processes" (pacers) side by side on virtual time, with the GCRA row
played by :class:`FakeRow` (the same arithmetic as the SQL); the storage tests run the SQL
on a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging

import pytest

from domain.errors import DatabaseUnavailable
from services.engine.shared_pacing import SharedSlotPacer, pacer_for
from services.ratelimit import SlotPacer
from storage import send_rate
from storage.database import Database

RATE = 50.0


class VirtualTime:
    """A clock that jumps to the next sleeper's wake-up once every task is waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    async def run(self, *coroutines) -> list:
        tasks = [asyncio.create_task(c) for c in coroutines]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every task run until it waits on virtual time
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        return [t.result() for t in tasks]


class FakeRow:
    """The GCRA row: what storage.send_rate does in one UPDATE, on the virtual clock."""

    def __init__(self, time: VirtualTime) -> None:
        self.time = time
        self.tat = 0.0
        self.failing = False

    async def reserve(self, _db, count: int, interval: float) -> tuple[float, float]:
        if self.failing:
            raise DatabaseUnavailable("gone")
        now = self.time.clock()
        first = max(self.tat, now)
        self.tat = first + count * interval
        return first, now

    async def hold(self, _db, seconds: float) -> None:
        self.tat = max(self.tat, self.time.clock() + seconds)


@pytest.fixture
def world():
    time = VirtualTime()
    row = FakeRow(time)

    def process() -> SharedSlotPacer:
        return SharedSlotPacer(
            None,  # type: ignore[arg-type]  (the fake row needs no database)
            RATE,
            clock=time.clock,
            sleep=time.sleep,
            reserve=row.reserve,
            hold=row.hold,
        )

    return time, row, process


async def sends(time: VirtualTime, pacer: SlotPacer, count: int, stop_at: float = 1e18) -> list:
    moments = []
    for _ in range(count):
        if time.now >= stop_at:
            break
        await pacer.acquire()
        moments.append(time.now)
    return moments


def most_in_one_second(moments: list[float]) -> int:
    moments = sorted(moments)
    best, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_three_processes_together_hold_the_one_rate(world) -> None:
    time, _, process = world
    a, b, c = process(), process(), process()
    results = await time.run(sends(time, a, 200), sends(time, b, 200), sends(time, c, 200))
    moments = sorted(m for r in results for m in r)
    span = moments[-1] - moments[0]
    assert (len(moments) - 1) / span == pytest.approx(a.paced_rate, rel=0.01)  # no waste
    assert most_in_one_second(moments) <= RATE
    gaps = [y - x for x, y in itertools.pairwise(moments)]
    assert min(gaps) >= a.interval - 1e-9, "no two processes ever share a slot"


async def test_when_one_process_stops_the_others_get_its_share(world) -> None:
    time, _, process = world
    a, b = process(), process()
    start = time.now
    first, second = await time.run(sends(time, a, 10_000, stop_at=start + 2.0), sends(time, b, 400))
    after = [m for m in second if m >= start + 2.2]
    assert (len(after) - 1) / (after[-1] - after[0]) == pytest.approx(b.paced_rate, rel=0.01)
    assert len(first) == pytest.approx(RATE, rel=0.1), "half the rate each while both sent"


async def test_an_idle_schedule_saves_nothing_up(world) -> None:
    time, _, process = world
    a = process()
    await time.run(sends(time, a, 3))
    time.now += 60
    [moments] = await time.run(sends(time, a, 3))
    assert moments[-1] - moments[0] == pytest.approx(2 * a.interval)


async def test_a_global_429_pauses_every_process(world) -> None:
    time, row, process = world
    a, b = process(), process()
    await time.run(sends(time, a, 1))
    refused_at = time.now
    a.block_for(2.0)
    for _ in range(5):
        await asyncio.sleep(0)  # the shared pause is written in the background
    [b_moments] = await time.run(sends(time, b, 1))
    assert b_moments[0] >= refused_at + 2.0


async def test_without_the_database_a_process_paces_alone_and_says_so_once(world, caplog) -> None:
    time, row, process = world
    a = process()
    row.failing = True
    with caplog.at_level(logging.WARNING):
        [moments] = await time.run(sends(time, a, 12))
    gaps = [y - x for x, y in itertools.pairwise(moments)]
    assert min(gaps) >= a.interval - 1e-9
    assert caplog.text.count("pacing this process alone") == 1


async def test_only_a_shared_database_gets_the_shared_schedule(tmp_path) -> None:
    db = await Database.open(f"sqlite:///{tmp_path}/one.sqlite3")
    try:
        assert type(pacer_for(db, RATE)) is SlotPacer
    finally:
        await db.close()


# --- the SQL, on PostgreSQL ------------------------------------------------------------------


async def test_reservations_from_two_processes_never_overlap(postgres_url: str) -> None:
    one, two = await Database.open(postgres_url), await Database.open(postgres_url)
    try:
        await one.migrate()
        interval = 0.02
        first_a, now_a = await send_rate.reserve(one, 5, interval)
        first_b, now_b = await send_rate.reserve(two, 5, interval)
        assert first_a == pytest.approx(now_a, abs=0.5)  # idle: the schedule starts now
        assert first_b == pytest.approx(first_a + 5 * interval)
        await send_rate.hold_until(two, 30.0)
        first_c, _ = await send_rate.reserve(one, 1, interval)
        # 30 s from the hold, which came after now_b (not "29 s from now_c": a loaded
        # machine may take a second between the two statements).
        assert first_c >= now_b + 30
        assert isinstance(pacer_for(one, RATE), SharedSlotPacer)
    finally:
        await one.close()
        await two.close()


async def test_a_slow_round_trip_does_not_move_a_process_s_slots(world) -> None:
    """The row answered at once, but the answer reached the process late (a busy event loop,
    another process holding the row): the process keeps the clock offset of its fast round
    trips, so its slots are where the database put them, 1/rate from the other process's
    (the midpoint of this round trip would have put them 15 ms late)."""
    time, row, process = world
    b = process()
    slow = False

    async def reserve(db, count: int, interval: float) -> tuple[float, float]:
        answer = await row.reserve(db, count, interval)
        if slow:
            await time.sleep(0.03)  # 30 ms on the way back
        return answer

    b._reserve = reserve
    await time.run(b._refill())  # a fast round trip: the clocks agree (offset 0)
    b._slots.clear()
    slow = True
    await time.run(b._refill())
    first_granted = row.tat - b.block * b.interval
    assert list(b._slots) == pytest.approx(
        [first_granted + i * b.interval for i in range(b.block)], abs=1e-9
    )


async def test_a_global_429_keeps_the_slots_already_reserved(world) -> None:
    """A 429 a few milliseconds before Discord's window ends pauses that long; the slots the
    process holds stay its own (dropping them wasted a tenth of a second each time)."""
    time, _, process = world
    a = process()
    [first] = await time.run(sends(time, a, 1))  # reserves a block, uses one slot
    a.block_for(0.005)
    [rest] = await time.run(sends(time, a, a.block - 1))
    assert rest[-1] - first[0] == pytest.approx((a.block - 1) * a.interval, abs=0.006)
