"""The one sender for every reminder the bot posts.

Claimed occurrences (ledger rows) wait in a priority queue in the order of the send policy
(:mod:`services.engine.policy`: by deadline, due + the kind's late tolerance, or for the
benchmark's old engine by due time); one claimed ahead of its due second is held until that
second. A bounded pool of workers takes them one at a time; one that could only reach Discord
after its deadline is not sent but recorded "skipped: too busy". Every request the transport makes waits
for a slot of the bot's one request limiter (:mod:`services.ratelimit`, hooked into discord.py's
HTTP client), so a burst of thousands due in the same minute goes out as fast as the global
limit allows and no faster, earliest first. A due reminder costs one request: the member's
DM channel is known beforehand (learnt from their DM interactions, or opened when they
subscribed from a server: :mod:`services.engine.dm_channels`); when it is not, or Discord says
it is gone, it is opened (again, once) right before sending.

Per occurrence a worker decides the target (DM, the server's reminder channel, a guild
channel for server-wide posts), renders the payload through the injected ``render``
callback, records ``sending`` in the ledger, sends with the occurrence's nonce and
``enforce_nonce``, and records the result. A 429 is waited out however often it comes;
5xx/network errors are retried with backoff for ``retry_for``; anything else is recorded
as ``failed`` with the reason — an occurrence never disappears silently. A global 429
blocks the limiter until Discord's window is over; the refused request goes again, with the
same nonce, through it (it is never dropped nor sent twice).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from domain.clock import Clock, utc_now
from domain.enums import DeliveryMode, DeliveryState, PauseReason, Reason, Source, Via
from domain.errors import DatabaseUnavailable
from services import metrics
from services.engine.policy import BusyLog, Deadlines, SendPolicy
from services.engine.transport import (
    ChannelBroken,
    DiscordTransport,
    DiscordUnavailable,
    DMsClosed,
    RateLimited,
    RequestRejected,
    UnknownChannel,
)
from services.engine.uptime import Uptime
from storage import ledger, members, reminders
from storage.database import Database
from storage.ledger import Claimant, Delivery

log = logging.getLogger(__name__)

DMS_CLOSED_NOTICE = (
    "I couldn't send your reminders by DM — your DMs are closed to me — so I paused them. "
    "Allow direct messages from server members in your privacy settings, or use "
    "`/remind delivery server`, then `/remind resume`."
)


# The longest wait between retries while Discord is unavailable (5xx, network errors).
MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Occurrence:
    """What ``render`` gets: enough to build the embed and the buttons' custom ids."""

    delivery_id: int
    nonce: str
    kind: str
    source: Source
    user_id: int | None
    guild_id: int | None
    subscription_id: int | None
    scheduled_at: datetime  # UTC
    via: Via


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: int
    # A final DeliveryState; QUEUED while it still waits (``/remind test``, or the database
    # was away: the row stays claimed and is sent when it is back); TAKEN_OVER when another
    # process owns the row now and sends it.
    state: str
    via: str | None = None
    channel_id: int | None = None
    message_id: int | None = None
    error: str | None = None


# A DeliveryResult's state when the sender stopped before the occurrence was sent.
QUEUED = "queued"
TAKEN_OVER = "taken over"

Render = Callable[[Occurrence], Awaitable[dict[str, Any]]]


class GuildChannels(Protocol):
    """The servers' settings as the sender sees them (``services.guild_config.GuildConfig``)."""

    async def reminder_channel(self, guild_id: int) -> int | None:
        """Where the server wants ``server``-delivered reminders and DM fall-backs."""
        ...

    async def post_failed(self, guild_id: int, channel_id: int, error: ChannelBroken) -> None:
        """A post there was refused for good; decide what that means for the settings."""
        ...

    async def post_succeeded(self, guild_id: int, channel_id: int) -> None:
        """A post there worked."""
        ...


class _TakenOver(Exception):
    """Internal: the row belongs to another process now; leave it to that one."""


class _NotSent(Exception):
    """Internal: stop processing an occurrence; it ends unsent, in this state, for this reason
    (not the ledger's Outcome, which is what the member did with a sent reminder)."""

    def __init__(self, state: str, error: str) -> None:
        super().__init__(error)
        self.state = state
        self.error = error


class Sender:
    def __init__(
        self,
        db: Database,
        transport: DiscordTransport,
        render: Render,
        channels: GuildChannels,
        *,
        workers: int = 8,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        retry_for: timedelta = timedelta(minutes=30),
        claimant: Claimant | None = None,
        uptime: Uptime | None = None,
        policy: SendPolicy | None = None,
    ) -> None:
        """``uptime`` is the dispatcher's (:mod:`services.engine.uptime`): occurrences that
        became stale while queued (the machine slept, the clock jumped) are recorded as
        missed rather than sent hours late."""
        self.db = db
        # This process as the owner of the ledger rows it sends (see storage.ledger).
        self.claimant = claimant or Claimant()
        self.transport = transport
        self.render = render
        self.channels = channels
        self.workers = workers
        self.clock = clock
        self.sleep = sleep
        self.retry_for = retry_for
        self.uptime = uptime or Uptime()
        self.policy: SendPolicy = policy or Deadlines()
        # The longest a request can wait for the limiter's slot once a worker took it: every
        # other worker's request ahead of it (what the skip check adds to "now").
        capacity = self.policy.capacity_per_s
        self._slot_wait_s = workers / capacity if capacity else 0.0
        self.busy_log = BusyLog(clock)
        # Ready to send, in the policy's order; and held until their due second.
        self._ready: list[tuple[tuple[int, ...], int, Delivery]] = []
        self._held: list[tuple[int, int, Delivery]] = []
        self._changed = asyncio.Event()
        self._futures: dict[int, asyncio.Future[DeliveryResult]] = {}
        self._seq = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None]] = set()
        self._closing = False
        self._database_away = False
        self.database_retry_s = 1.0

    # --- queue ---------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Occurrences queued or being sent (the dispatcher claims only while this is low)."""
        return len(self._futures)

    def held_ids(self) -> list[int]:
        """Ledger ids queued or being sent here: the leases this process must keep renewing."""
        return list(self._futures)

    def submit(
        self, delivery: Delivery, *, taken_over: bool = False, hold: bool = False
    ) -> asyncio.Future[DeliveryResult]:
        """Queue a claimed occurrence; the future resolves with its final result.

        In the policy's order (by deadline). Among equals, those ``taken_over`` from a
        process that died go first: they have already waited a lease, and behind a full
        queue they would wait as long again. ``hold``: claimed ahead of its due second, it
        waits for that second before it is sent.
        """
        existing = self._futures.get(delivery.id)
        if existing is not None:
            return existing
        future: asyncio.Future[DeliveryResult] = asyncio.get_running_loop().create_future()
        self._futures[delivery.id] = future
        order = next(self._seq)
        if hold and delivery.scheduled_at > self.clock().timestamp():
            heapq.heappush(self._held, (delivery.scheduled_at, order, delivery))
        else:
            self._push(delivery, order, taken_over=taken_over)
        self._changed.set()
        return future

    def _push(
        self, delivery: Delivery, order: int, *, taken_over: bool = False, retry: bool = False
    ) -> None:
        """Among equal deadlines: taken over first, retries (database away) last."""
        first, *rest = self.policy.queue_key(delivery, self._now_ts())
        key = (first, 0 if taken_over else 2 if retry else 1, *rest)
        heapq.heappush(self._ready, (key, order, delivery))

    def held_load(self) -> list[tuple[int, int]]:
        """``(due second, count)`` of what is held here for its second, ascending."""
        counts: dict[int, int] = {}
        for due, _, _ in self._held:
            counts[due] = counts.get(due, 0) + 1
        return sorted(counts.items())

    def release_until(self, until: int) -> None:
        """Make what is held for a second up to ``until`` ready now (a peak is being filled:
        it goes early, within its kind's allowance — it was claimed within it)."""
        while self._held and self._held[0][0] <= until:
            _, order, delivery = heapq.heappop(self._held)
            self._push(delivery, order)
        self._changed.set()

    def queued(self) -> list[Delivery]:
        """What waits here, ready or held (tests and tools)."""
        return [d for *_, d in self._ready] + [d for *_, d in self._held]

    def take_next(self) -> Delivery:
        """Take the next occurrence off the queue without sending it: the next ready one, or
        else the next held one (tests that deliver by hand)."""
        found = self._pop_ready()
        if found is None:
            found = heapq.heappop(self._held)[2]
        return found

    def _release_held(self) -> float | None:
        """Move what is due now from held to ready; seconds until the next held one."""
        now = self.clock().timestamp()
        while self._held and self._held[0][0] <= now:
            _, order, delivery = heapq.heappop(self._held)
            self._push(delivery, order)
        return self._held[0][0] - now if self._held else None

    def _pop_ready(self) -> Delivery | None:
        self._release_held()
        return heapq.heappop(self._ready)[2] if self._ready else None

    async def _take(self) -> Delivery:
        """The next occurrence to send, waiting for one to be queued or fall due."""
        while True:
            wait = self._release_held()
            if self._ready:
                return heapq.heappop(self._ready)[2]
            self._changed.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._changed.wait()
            except TimeoutError:
                pass

    async def start(self) -> None:
        self._closing = False
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"reminder-sender-{i}")
            for i in range(self.workers)
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let in-flight sends finish (up to ``grace_seconds``), then stop. Queued occurrences stay
        ``claimed`` in the ledger and are sent by the next start."""
        self._closing = True
        for task in self._tasks:
            if task not in self._busy:
                task.cancel()
        busy = [task for task in self._tasks if task in self._busy]
        if busy:
            _done, still = await asyncio.wait(busy, timeout=grace_seconds)
            for task in still:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for delivery_id, future in list(self._futures.items()):
            if not future.done():
                future.set_result(DeliveryResult(delivery_id, QUEUED))
        self._futures.clear()
        self._ready.clear()
        self._held.clear()
        self.busy_log.flush(force=True)

    async def run_pending(self) -> list[DeliveryResult]:
        """Deliver everything queued and due, in this task, in order (tests and tools); what
        is held for a later second stays queued."""
        results = []
        while (delivery := self._pop_ready()) is not None:
            result = await self.deliver(delivery)
            future = self._futures.pop(delivery.id, None)
            if future is not None and not future.done():
                future.set_result(result)
            results.append(result)
        return results

    async def _worker(self) -> None:
        while not self._closing:
            delivery = await self._take()
            task = asyncio.current_task()
            assert task is not None
            self._busy.add(task)
            try:
                result = await self.deliver(delivery)
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable:
                # PostgreSQL restarting: keep the occurrence and try it again in a moment. If
                # it was sent but not yet recorded, the retry resends it with the same nonce,
                # which Discord answers with the first message. (Were this process to die
                # meanwhile, the row is still claimed in the ledger and taken over.)
                if not self._database_away:
                    log.warning("database unavailable; reminders wait for it to come back")
                self._database_away = True
                self._busy.discard(task)
                await self.sleep(self.database_retry_s)
                self._push(delivery, next(self._seq), retry=True)
                self._changed.set()
                continue
            except Exception as error:  # a bug must not kill the worker or lose the row
                log.exception("reminder delivery %s failed unexpectedly", delivery.id)
                reason = f"internal error: {error!r}"[:200]
                result = DeliveryResult(delivery.id, DeliveryState.FAILED, error=reason)
                try:
                    await ledger.mark_final(
                        self.db, delivery.id, DeliveryState.FAILED, reason, self._now_ts()
                    )
                except Exception:
                    log.exception("could not record the failure of delivery %s", delivery.id)
            finally:
                self._busy.discard(task)
            if self._database_away:
                log.info("database reachable again; reminders resume")
                self._database_away = False
            future = self._futures.pop(delivery.id, None)
            if future is not None and not future.done():
                future.set_result(result)

    # --- one occurrence ------------------------------------------------------------------

    def _now_ts(self) -> int:
        return int(self.clock().timestamp())

    async def _finish(self, d: Delivery, state: str, error: str) -> DeliveryResult:
        await ledger.mark_final(self.db, d.id, state, error, self._now_ts())
        return DeliveryResult(d.id, state, error=error)

    async def deliver(self, d: Delivery) -> DeliveryResult:
        """Send one claimed occurrence to wherever it should go; record the result."""
        try:
            result = await self._deliver(d)
        except _NotSent as outcome:
            result = await self._finish(d, outcome.state, outcome.error)
        except _TakenOver:
            return DeliveryResult(d.id, TAKEN_OVER)  # the new owner reports its outcome
        metrics.observe_delivery(result.state, d.source, self.clock().timestamp() - d.scheduled_at)
        return result

    async def _deliver(self, d: Delivery) -> DeliveryResult:
        now = self._now_ts()
        if d.source != Source.TEST and self.uptime.missed(d.kind, d.scheduled_at):
            raise _NotSent(DeliveryState.MISSED, Reason.TOO_LATE)
        if not self.uptime.caught_up(d.scheduled_at) and self.policy.too_late(
            d, self.clock().timestamp() + self._slot_wait_s
        ):
            # It waited in the queue past what its kind tolerates: not sent late (#21).
            self.busy_log.skipped(1)
            raise _NotSent(DeliveryState.MISSED, Reason.TOO_BUSY)
        sub = await reminders.get(self.db, d.subscription_id) if d.subscription_id else None
        if (
            d.source != Source.TEST
            and d.subscription_id is not None
            and (sub is None or not sub.active)
        ):
            raise _NotSent(DeliveryState.CANCELLED, Reason.UNSUBSCRIBED)

        if d.user_id is None:
            return await self._deliver_to_guild_channel(d, sub)

        member = await members.get_or_default(self.db, d.user_id)
        if (
            d.source != Source.TEST
            and member.paused_until is not None
            and member.paused_until > now
        ):
            raise _NotSent(DeliveryState.CANCELLED, Reason.MEMBER_PAUSED)
        home_guild = member.home_guild_id or d.guild_id
        guild_channel_tried = False
        if member.delivery == DeliveryMode.SERVER and home_guild is not None:
            channel = await self._reminder_channel(home_guild)
            if channel is not None:
                guild_channel_tried = True
                try:
                    return await self._send_to_guild(d, home_guild, channel, Via.SERVER)
                except ChannelBroken:
                    pass  # reported to the server's settings; the member gets a DM instead
        try:
            return await self._send_dm(d, member)
        except DMsClosed:
            pass
        if home_guild is not None and not guild_channel_tried:
            channel = await self._reminder_channel(home_guild)
            if channel is not None:
                try:
                    return await self._send_to_guild(d, home_guild, channel, Via.FALLBACK)
                except ChannelBroken:
                    pass  # reported to the server's settings
        if d.source != Source.TEST:
            # Nowhere to deliver: pause rather than fail every few hours, and say so once.
            await reminders.deactivate_member_dm(self.db, d.user_id, PauseReason.DMS_CLOSED, now)
            await members.set_notice(self.db, d.user_id, DMS_CLOSED_NOTICE, now)
        raise _NotSent(DeliveryState.FAILED, Reason.DMS_CLOSED)

    async def _deliver_to_guild_channel(
        self, d: Delivery, sub: reminders.Subscription | None
    ) -> DeliveryResult:
        if sub is None or sub.channel_id is None or d.guild_id is None:
            raise _NotSent(DeliveryState.FAILED, Reason.NO_TARGET)
        try:
            return await self._send_to_guild(d, d.guild_id, sub.channel_id, Via.CHANNEL)
        except ChannelBroken as error:
            raise _NotSent(DeliveryState.FAILED, f"channel_broken: {error.reason}") from None

    async def _send_dm(self, d: Delivery, member: members.Member) -> DeliveryResult:
        user_id = d.user_id
        assert user_id is not None
        channel = member.dm_channel_id
        for attempt in range(2):
            if channel is None:
                channel = await self._call(d, lambda: self.transport.open_dm(user_id))
                await members.remember_dm_channel(self.db, user_id, channel, self._now_ts())
            try:
                return await self._send(d, channel, Via.DM)
            except UnknownChannel:
                # A stale cached DM channel: forget it and open a fresh one, once.
                await members.remember_dm_channel(self.db, user_id, None, self._now_ts())
                if attempt == 1:
                    raise _NotSent(DeliveryState.FAILED, Reason.DM_CHANNEL_UNKNOWN) from None
                channel = None
            except ChannelBroken as error:
                raise _NotSent(DeliveryState.FAILED, f"dm: {error.reason}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_to_guild(
        self, d: Delivery, guild_id: int, channel_id: int, via: Via
    ) -> DeliveryResult:
        """Post in a server channel (mentioning the member, if it is theirs) and tell the
        server's settings whether the channel worked; a ``ChannelBroken`` is re-raised."""
        try:
            result = await self._send(d, channel_id, via, mention=d.user_id)
        except ChannelBroken as error:
            await self._report(self.channels.post_failed(guild_id, channel_id, error))
            raise
        await self._report(self.channels.post_succeeded(guild_id, channel_id))
        return result

    async def _send(
        self, d: Delivery, channel_id: int, via: Via, mention: int | None = None
    ) -> DeliveryResult:
        occurrence = Occurrence(
            delivery_id=d.id,
            nonce=d.nonce,
            kind=d.kind,
            source=Source(d.source),
            user_id=d.user_id,
            guild_id=d.guild_id,
            subscription_id=d.subscription_id,
            scheduled_at=datetime.fromtimestamp(d.scheduled_at, UTC),
            via=via,
        )
        payload = dict(await self.render(occurrence))
        if mention is not None:
            content = payload.get("content")
            payload["content"] = f"<@{mention}>" + (f" {content}" if content else "")
            payload["allowed_mentions"] = {"parse": [], "users": [str(mention)]}
        if not await ledger.mark_sending(self.db, d.id, channel_id, self._now_ts(), self.claimant):
            log.info("delivery %s was taken over by another process; not sending it", d.id)
            raise _TakenOver()
        message_id = await self._call(
            d, lambda: self.transport.send_message(channel_id, payload, d.nonce)
        )
        await ledger.mark_sent(self.db, d.id, channel_id, message_id, via, self._now_ts())
        return DeliveryResult(d.id, DeliveryState.SENT, via, channel_id, message_id)

    async def _call(self, d: Delivery, request: Callable[[], Awaitable[int]]) -> int:
        """One request: 429 waited out, transient errors retried."""
        started = self.clock()
        backoff = 1.0
        while True:
            try:
                return await request()
            except RateLimited as error:
                # Never dropped: the same request (same nonce) goes again. After a global
                # 429 the limiter holds every request until Discord's window is over.
                log.info("rate limited; waiting %.2fs (delivery %s)", error.retry_after, d.id)
                if not error.is_global:
                    await self.sleep(error.retry_after)
            except DiscordUnavailable as error:
                if self.clock() - started >= self.retry_for:
                    raise _NotSent(
                        DeliveryState.FAILED, f"discord unavailable: {error}"[:200]
                    ) from None
                await self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except RequestRejected as error:
                raise _NotSent(DeliveryState.FAILED, f"rejected: {error}"[:200]) from None

    async def _reminder_channel(self, guild_id: int) -> int | None:
        """The server's reminder channel; a database outage is raised (the occurrence waits
        for it, see ``_worker``) rather than read as "no channel", which would post it
        somewhere the member did not choose."""
        try:
            return await self.channels.reminder_channel(guild_id)
        except DatabaseUnavailable:
            raise
        except Exception:
            log.exception("could not read the reminder channel of server %s", guild_id)
            return None

    @staticmethod
    async def _report(report: Awaitable[None]) -> None:
        """Tell the server's settings how a channel did; their failure must not fail the send
        (it went out already), and a database outage is no bug worth a traceback."""
        try:
            await report
        except DatabaseUnavailable as error:
            log.warning("could not record how a server channel did: %s", error)
        except Exception:
            log.exception("could not record how a server channel did")
