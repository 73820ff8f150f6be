"""The reminder engine driven by hand, and the fakes around it, shared by the unit and
dashboard tests (a helper module: no tests here). The fake clock is
:class:`testkit.fake_time.FakeClock`.

``FakeDiscord`` behaves like Discord where the engine relies on it: a message sent again
with a nonce already used returns the first message instead of creating a second one;
DMs can be closed; channels can be deleted or forbidden; 429/5xx can be scripted. Like the
bot's HTTP client, it puts every request through a request limiter first and reports a
global 429 to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.compose import Core, build_core
from content import load_content
from services.buttons import ReminderButtons
from services.engine.dispatcher import Dispatcher
from services.engine.reminder_engine import ReminderEngine
from services.engine.sender import Sender
from services.engine.transport import DMsClosed, RateLimited, TransportError
from services.guild_config import GuildConfig
from services.member_settings import MemberSettings
from services.privacy import Privacy
from services.ratelimit import RequestLimiter, SlotPacer
from services.stats import ReminderStats
from services.subscriptions import Subscriptions
from storage import guild_settings, reminders
from storage.database import Database
from testkit.fake_time import FakeClock


class SimulatedCrash(BaseException):
    """kill -9 between Discord accepting the message and the ledger recording it."""


@dataclass
class SentMessage:
    id: int
    channel_id: int
    payload: dict[str, Any]
    nonce: str


@dataclass
class FakeDiscord:
    clock: FakeClock | None = None
    limiter: RequestLimiter | None = None
    closed_dms: set[int] = field(default_factory=set)
    broken_channels: dict[int, TransportError] = field(default_factory=dict)
    fail_next: list[TransportError] = field(default_factory=list)
    crash_after_next_send: bool = False
    messages: list[SentMessage] = field(default_factory=list)
    requests: list[tuple[str, float]] = field(default_factory=list)
    dm_opens: int = 0
    _by_nonce: dict[str, SentMessage] = field(default_factory=dict)
    _next_id: int = 5000

    @staticmethod
    def dm_channel_of(user_id: int) -> int:
        return 900_000 + user_id

    async def _request(self, what: str) -> None:
        """What the bot's HTTP hook does before a request: wait for a slot; then a scripted
        failure, a global 429 reported to the limiter as the hook reports it."""
        if self.limiter is not None:
            await self.limiter.acquire()
        self.requests.append((what, self.clock.monotonic() if self.clock else 0.0))
        if self.fail_next:
            error = self.fail_next.pop(0)
            if isinstance(error, RateLimited) and error.is_global and self.limiter is not None:
                await self.limiter.global_limited(error.retry_after)
            raise error

    async def open_dm(self, user_id: int) -> int:
        await self._request("open_dm")
        self.dm_opens += 1
        return self.dm_channel_of(user_id)

    async def send_message(self, channel_id: int, payload: dict[str, Any], nonce: str) -> int:
        await self._request("send")
        assert len(nonce) <= 25
        if channel_id in self.broken_channels:
            raise self.broken_channels[channel_id]
        if channel_id >= 900_000 and channel_id - 900_000 in self.closed_dms:
            raise DMsClosed("Cannot send messages to this user")
        existing = self._by_nonce.get(nonce)
        if existing is None:  # enforce_nonce: same nonce -> the first message, no new one
            self._next_id += 1
            existing = SentMessage(self._next_id, channel_id, payload, nonce)
            self._by_nonce[nonce] = existing
            self.messages.append(existing)
        if self.crash_after_next_send:
            self.crash_after_next_send = False
            raise SimulatedCrash()
        return existing.id

    def to(self, channel_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.channel_id == channel_id]


CONTENT = load_content()
T0 = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)  # a Monday; 12:00 in Berlin


async def open_db(where: Path | str, name: str = "t.sqlite3") -> Database:
    """A migrated database: a SQLite file in the folder ``where``, or the database at a URL."""
    url = where if isinstance(where, str) else "sqlite:///" + str(where / name)
    db = await Database.open(url)
    await db.migrate()
    return db


@dataclass
class RecordingWaker:
    wakes: list[datetime] = field(default_factory=list)

    def wake_at(self, when: datetime, wake: object) -> None:
        self.wakes.append(when)

    def close(self) -> None:
        pass


@dataclass
class Rig:
    """One "process": the real engine over a database, driven by hand with a fake clock."""

    db: Database
    clock: FakeClock
    discord: FakeDiscord
    core: Core
    waker: RecordingWaker

    @property
    def engine(self) -> ReminderEngine:
        return self.core.engine

    @property
    def sender(self) -> Sender:
        return self.engine.sender

    @property
    def dispatcher(self) -> Dispatcher:
        return self.engine.dispatcher

    @property
    def member_settings(self) -> MemberSettings:
        return self.core.services.member_settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.core.services.subscriptions

    @property
    def buttons(self) -> ReminderButtons:
        return self.core.services.buttons

    @property
    def stats(self) -> ReminderStats:
        return self.core.services.stats

    @property
    def privacy(self) -> Privacy:
        return self.core.services.privacy

    @property
    def guild_config(self) -> GuildConfig:
        return self.core.services.guild_config

    async def run(self) -> None:
        """One dispatcher tick, then every queued send, inline."""
        await self.dispatcher.tick()
        await self.sender.run_pending()

    async def run_until(self, until: datetime) -> None:
        """Jump from due time to due time (as if idle wake-ups found nothing) up to ``until``."""
        while self.clock.now < until:
            earliest = await reminders.earliest_due(self.db)
            target = (
                until if earliest is None else min(until, datetime.fromtimestamp(earliest, UTC))
            )
            self.clock.now = max(target, self.clock.now + timedelta(seconds=1))
            await self.run()


async def make_rig(
    db: Database,
    clock: FakeClock,
    discord: FakeDiscord | None = None,
    *,
    reminder_channels: dict[int, int] | None = None,
    max_backlog: int = 1000,
    clock_jump: timedelta = timedelta(days=3650),
    workers: int = 8,
    retry_for: timedelta = timedelta(minutes=30),
) -> Rig:
    """The engine as the bot builds it, with the shipped content, over ``discord``.

    Tests jump the fake clock from due time to due time; clock-jump detection (which treats
    a long silence like downtime) is off unless a test asks for it.
    """
    discord = discord or FakeDiscord(clock)
    discord.clock = clock
    if discord.limiter is None:
        discord.limiter = SlotPacer(45.0, clock=clock.monotonic, sleep=clock.sleep)
    waker = RecordingWaker()
    core = build_core(
        db,
        CONTENT,
        discord,
        clock=clock,
        waker=waker,
        workers=workers,
        sleep=clock.sleep,
        retry_for=retry_for,
        max_backlog=max_backlog,
        clock_jump=clock_jump,
    )
    for guild_id, channel_id in (reminder_channels or {}).items():
        await guild_settings.set_reminder_channel(db, guild_id, channel_id)
    return Rig(db, clock, discord, core, waker)


async def rows(db: Database, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.fetchall(sql, params)]


# --- one member (or several) due at once, as the sender and outage tests start ---------------

USER = 42
GUILD = 7
REMINDER_CHANNEL = 555
DUE = datetime(2024, 6, 3, 20, 30, tzinfo=UTC)


async def due_rig(db, discord=None, users=(USER,), channels=None, **options):
    """A rig whose ``users`` each have a sleep reminder in ``GUILD`` due at ``DUE``, the
    clock standing at ``DUE``."""
    rig = await make_rig(
        db,
        FakeClock(DUE - timedelta(hours=1)),
        discord,
        reminder_channels={GUILD: REMINDER_CHANNEL} if channels is None else channels,
        **options,
    )
    for user in users:
        await rig.member_settings.set_timezone(user, "Europe/Berlin")
        await rig.subscriptions.start(user, GUILD, "sleep")
    rig.clock.now = DUE
    return rig


class CountingPacer(SlotPacer):
    """The token's limiter (45/s), counting every request that asked it for a slot."""

    def __init__(self) -> None:
        super().__init__(45.0)
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1
        await super().acquire()
