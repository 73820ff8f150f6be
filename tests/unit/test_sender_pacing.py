"""The token bucket under Discord's global limit, on a fake monotonic clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.reminders.pacing import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_rate_is_respected_in_every_one_second_window():
    clock = Clock()
    bucket = TokenBucket(45, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(300):
        await bucket.acquire()
        granted.append(clock.t)
    assert granted[-1] - granted[0] == pytest.approx(299 / 45, rel=1e-3)
    assert max_in_any_window(granted) <= 46


async def test_concurrent_waiters_share_one_bucket():
    clock = Clock()
    bucket = TokenBucket(50, burst=5, clock=clock, sleep=clock.sleep)
    granted = []

    async def worker() -> None:
        for _ in range(25):
            await bucket.acquire()
            granted.append(clock.t)

    await asyncio.gather(*(worker() for _ in range(8)))
    assert len(granted) == 200
    assert max_in_any_window(sorted(granted)) <= 55  # burst + rate
    assert max(granted) - min(granted) == pytest.approx((200 - 5) / 50, rel=1e-2)


async def test_global_rate_limit_blocks_everyone():
    clock = Clock()
    bucket = TokenBucket(45, clock=clock, sleep=clock.sleep)
    await bucket.acquire()
    bucket.block_for(3.0)
    start = clock.t
    await bucket.acquire()
    assert clock.t - start >= 3.0


def test_invalid_configuration():
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(10, burst=0.5)
