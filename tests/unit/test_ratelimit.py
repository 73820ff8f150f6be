"""The request limiter: its pacing on a fake monotonic clock, and the HTTP hook."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.ratelimit import SlotPacer, is_exempt, is_global_limit, limit_scope, limiter_trace


class Clock:
    def __init__(self, late: float = 0.0, seed: int = 0) -> None:
        self.t = 1000.0
        self.late = late  # each sleep oversleeps by up to this much (a busy event loop)
        self.random = random.Random(seed)

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + (self.random.uniform(0, self.late) if self.late else 0.0)
        await asyncio.sleep(0)


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_slots_are_evenly_spaced_a_hair_under_the_rate():
    clock = Clock()
    pacer = SlotPacer(45, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(300):
        await pacer.acquire()
        granted.append(clock.t)
    assert pacer.paced_rate == pytest.approx(45 * 0.998)
    assert granted[-1] - granted[0] == pytest.approx(299 / (45 * 0.998), rel=1e-6)
    assert max_in_any_window(granted) <= 45


async def test_late_wake_ups_do_not_slow_the_schedule():
    # Every sleep overshoots by up to a millisecond (epoll's timeout is in whole ms): a token
    # bucket refilled from the wake-up loses that time on every request; the slot schedule
    # stays put.
    rate = 50
    clock = Clock(late=0.001, seed=6)
    pacer = SlotPacer(rate, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(2000):
        await pacer.acquire()
        granted.append(clock.t)
    expected = 1999 / (rate * 0.998)
    # Drift-free: the last grant is at most one (late) wake-up after its slot.
    assert expected <= granted[-1] - granted[0] <= expected + 0.001
    assert max_in_any_window(granted) <= rate


async def test_a_request_that_left_late_holds_the_one_a_second_after_it():
    """Drift-free alone, the request 50 slots after a late one could leave less than a second
    after it: if the late one opened one of Discord's windows, that window would get a 51st."""
    rate = 50
    clock = Clock()
    pacer = SlotPacer(rate, clock=clock, sleep=clock.sleep)
    slot = 1 / (rate * 0.998)
    granted = []
    for i in range(200):
        if i == 60:
            clock.t += slot + 0.005  # the loop was busy when this slot came: 5 ms late
        await pacer.acquire()
        granted.append(clock.t)
    on_schedule = pytest.approx(granted[0] + 60 * slot + 0.005, abs=1e-9)
    assert granted[60] == on_schedule
    assert granted[61] == pytest.approx(granted[0] + 61 * slot, abs=1e-9)  # schedule kept
    # The one 50 after the late one waits until a second and half the margin have passed...
    assert granted[110] == pytest.approx(granted[60] + 1.001, abs=1e-9)
    assert granted[110] > granted[0] + 110 * slot + 0.002
    # ...and only it: the next is on its slot again.
    assert granted[111] == pytest.approx(granted[0] + 111 * slot, abs=1e-9)
    assert max_in_any_window(granted) <= rate


async def test_a_busy_loop_never_puts_more_than_the_rate_in_a_second():
    # Every sleep overshoots by up to 90 % of a slot: the schedule alone would let late
    # grants crowd the next second; spaced by when they really left, no second gets more
    # than the rate (the pacer slows down as much as it must).
    rate = 50
    clock = Clock(late=0.9 / (rate * 0.998), seed=6)
    pacer = SlotPacer(rate, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(2000):
        await pacer.acquire()
        granted.append(clock.t)
    assert max_in_any_window(granted) <= rate
    assert all(b - a >= 1.001 - 1e-9 for a, b in zip(granted, granted[50:], strict=False))
    assert (len(granted) - 1) / (granted[-1] - granted[0]) > 0.95 * rate


async def test_a_stall_is_caught_up_only_within_burst():
    rate = 50
    clock = Clock()
    pacer = SlotPacer(rate, burst=3, margin=0.0, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    start = clock.t
    clock.t += 2.5 / rate  # the process stalled for two and a half slots
    for _ in range(2):
        await pacer.acquire()
    assert clock.t == pytest.approx(start + 2.5 / rate)  # the two missed slots, at once
    await pacer.acquire()
    assert clock.t == pytest.approx(start + 3 / rate)  # then back on the schedule
    clock.t += 5 / rate  # four slots behind, more than burst: restart, no catch-up burst
    await pacer.acquire()
    restart = clock.t
    await pacer.acquire()
    assert clock.t == pytest.approx(restart + 1 / rate)
    clock.t += 60.0  # idle for a minute: no saved-up burst
    await pacer.acquire()
    restart = clock.t
    await pacer.acquire()
    assert clock.t == pytest.approx(restart + 1 / rate)


async def test_concurrent_waiters_share_one_schedule():
    clock = Clock()
    pacer = SlotPacer(50, burst=5, clock=clock, sleep=clock.sleep)
    granted = []

    async def worker() -> None:
        for _ in range(25):
            await pacer.acquire()
            granted.append(clock.t)

    await asyncio.gather(*(worker() for _ in range(8)))
    assert len(granted) == 200
    assert max_in_any_window(sorted(granted)) <= 50
    assert max(granted) - min(granted) == pytest.approx(199 / (50 * 0.998), rel=1e-6)


async def test_global_rate_limit_blocks_everyone_then_the_schedule_restarts():
    clock = Clock()
    pacer = SlotPacer(45, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    pacer.block_for(3.0)
    start = clock.t
    await pacer.acquire()
    assert clock.t == pytest.approx(start + 3.0)
    await pacer.acquire()
    assert clock.t == pytest.approx(start + 3.0 + 1 / (45 * 0.998))


async def test_a_global_429_reported_blocks_the_next_slot():
    """What the HTTP hook tells the limiter: nothing goes out until Discord's window is over,
    then the schedule restarts there (discord.py's own retry takes a slot like any request)."""
    clock = Clock()
    pacer = SlotPacer(45, clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    await pacer.global_limited(0.4)
    start = clock.t
    await pacer.acquire()
    assert clock.t == pytest.approx(start + 0.4)
    await pacer.acquire()
    assert clock.t == pytest.approx(start + 0.4 + 1 / (45 * 0.998))


@pytest.mark.parametrize(
    ("url", "exempt"),
    [
        ("https://discord.com/api/v10/channels/1/messages", False),
        ("https://discord.com/api/v10/users/@me/channels", False),
        ("https://discord.com/api/v10/applications/1/commands", False),
        ("https://discord.com/api/v10/interactions/12/aW50ZXJhY3Rpb24/callback", True),
        # How discord.py asks for it: with a query.
        (
            "https://discord.com/api/v10/interactions/12/aW50ZXJhY3Rpb24/callback?with_response=1",
            True,
        ),
        ("https://discord.com/api/v10/channels/1/messages?interactions/1/x/callback", False),
        ("https://discord.com/api/v10/webhooks/34/aW50ZXJhY3Rpb24", True),
        ("https://discord.com/api/v10/webhooks/34/aW50ZXJhY3Rpb24/messages/@original", True),
        ("wss://gateway.discord.gg/?v=10&encoding=json", True),
        ("http://127.0.0.1:5000/api/v10/channels/1/messages", False),
    ],
)
def test_only_interaction_answers_and_the_gateway_are_exempt(url: str, exempt: bool) -> None:
    assert is_exempt(url) is exempt


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.global_waits: list[float] = []

    async def acquire(self) -> None:
        self.acquired += 1

    async def global_limited(self, retry_after: float) -> None:
        self.global_waits.append(retry_after)


async def test_the_trace_puts_every_counted_request_of_the_session_through_the_limiter():
    """Through a real aiohttp session, as discord.py's HTTP client sends them."""

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"id": "1"})

    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"message": "You are being rate limited.", "retry_after": 0.25, "global": True},
            status=429,
            headers={"X-RateLimit-Global": "true", "Retry-After": "1"},
        )

    app = web.Application()
    app.router.add_post("/api/v10/channels/{id}/messages", ok)
    app.router.add_post("/api/v10/interactions/{id}/{token}/callback", ok)
    app.router.add_post("/api/v10/users/@me/channels", limited)
    limiter = CountingLimiter()
    async with TestServer(app) as server:
        async with aiohttp.ClientSession(trace_configs=[limiter_trace(limiter)]) as session:
            for path in ("/api/v10/channels/5/messages", "/api/v10/channels/6/messages"):
                async with session.post(server.make_url(path)) as response:
                    assert response.status == 200
            callback = "/api/v10/interactions/7/token/callback?with_response=1"
            async with session.post(server.make_url(callback)) as response:
                assert response.status == 200
            assert limiter.acquired == 2  # the interaction callback did not count
            async with session.post(server.make_url("/api/v10/users/@me/channels")) as response:
                assert response.status == 429
    assert limiter.acquired == 3
    assert limiter.global_waits == [0.25]


def test_invalid_configuration():
    with pytest.raises(ValueError):
        SlotPacer(0)
    with pytest.raises(ValueError):
        SlotPacer(10, burst=0.5)
    with pytest.raises(ValueError):
        SlotPacer(10, margin=1.0)


@pytest.mark.parametrize(
    ("headers", "scope"),
    [
        ({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}, "global"),
        ({"X-RateLimit-Global": "true"}, "global"),  # a global 429 without a scope header
        ({"X-RateLimit-Scope": "global"}, "global"),
        ({"X-RateLimit-Scope": "user"}, "user"),
        ({"X-RateLimit-Scope": "shared"}, "shared"),
        ({"X-RateLimit-Global": "false", "X-RateLimit-Scope": "user"}, "user"),
        ({}, "user"),  # neither: a route's bucket
    ],
)
def test_one_rule_names_the_limit_a_429_hit(headers, scope):
    """The limiter, the transport's error mapping and the 429 counter all ask this."""
    assert limit_scope(headers) == scope
    assert is_global_limit(headers) is (scope == "global")
