"""The one dispatcher: claims due subscriptions and snoozes in batches and feeds the sender.

Not one APScheduler job per subscription (the scale benchmark in the README shows why): the
database is the source of truth and APScheduler (3.x ``AsyncIOScheduler``) holds exactly one date job, the
dispatcher's next wake-up — at the earliest ``next_fire_at`` or snooze, never more than
``MAX_SLEEP`` (30 s) away so that a wall-clock step (suspend, NTP) is noticed quickly.

Decisions read the wall clock (``clock``, injected in tests). Rules:

* Normal: each due row yields one occurrence at its scheduled instant; ``next_fire_at``
  advances past *now*, so a backlog never turns into a burst of repeats.
* Downtime: an occurrence scheduled before the dispatcher came up (``up_since``, reset
  when a clock jump is detected) is sent late only if it was within its grace (30 min,
  caffeine 60) at that moment, else recorded ``missed``. At most one catch-up per
  subscription: only the latest missed instant is considered.
* Deadlines (issue #21, :mod:`services.engine.policy`): with the :class:`Deadlines` policy
  it claims what falls due in the next few seconds ahead (held in the sender until due),
  reads the due load of the coming half hour, and from the moment the sender must work at
  full capacity for a peak to go out on time it claims early, within each kind's ``early``
  allowance, in deadline order; a row still due past its kind's late tolerance is recorded
  "skipped: too busy" instead of being claimed. ``DueOrder`` (the benchmark's "today")
  claims only what is due, in due order.
* Backpressure: it claims only while the sender's backlog is below ``max_backlog``; the
  rest stays due in the table (earliest first), so memory stays bounded.
* Recovery: ledger rows left ``claimed`` are re-queued (or ``missed`` if stale); rows left
  ``sending`` (maybe sent) are resent with the same nonce while Discord's nonce
  de-duplication still covers them (``NONCE_WINDOW``), else recorded ``unconfirmed``:
  at most once wins over at least once. On SQLite (one process) that is everything the last
  run left, at start. On PostgreSQL (several processes) it is whatever rows' leases lapsed —
  their process died — checked at start and on every tick, and the dispatcher wakes when
  the first lease ends; so a process killed with -9 has its claims sent by another after
  at most the lease (30 s) plus a tick.
* Leases: every tick renews the leases of what this process still holds (queued or being
  sent), at least every third of the lease, so a long queue is never taken over while alive.
* Changes from any process: ``poke`` (a command changed a fire time) re-plans here and, on
  PostgreSQL, ``NOTIFY``s the others, whose dispatchers look again at once (``MAX_SLEEP``
  stays as the safety net for a lost notification).
* Database away (PostgreSQL restarting): a tick that cannot reach it logs one line and tries
  again in a few seconds; nothing is lost (claims are committed or not at all).
* Paused members never reach the dispatcher: pausing moves their ``next_fire_at`` past the
  pause, so nothing is recorded for the paused days.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.clock import Clock, utc_now
from domain.enums import DeliveryState, Reason, Source
from domain.errors import DatabaseUnavailable
from domain.schedule import next_fire_ts, previous_fire_ts
from services import metrics
from services.engine.due_changes import DueChanges
from services.engine.policy import Fill, fill_from
from services.engine.sender import Sender
from services.engine.uptime import Uptime
from storage import ledger, reminders
from storage.database import Database
from storage.reminders import Plan, Snooze, Subscription

log = logging.getLogger(__name__)


Wake = Callable[[], Awaitable[None]]


class Waker(Protocol):
    """Calls ``wake`` at a wall-clock instant, replacing the wake-up asked for before
    (APScheduler in production)."""

    def wake_at(self, when: datetime, wake: Wake) -> None: ...

    def close(self) -> None: ...


class APSchedulerWaker:
    """One APScheduler date job, replaced on every re-plan.

    ``misfire_grace_time=None`` because a late wake-up must still run (the default of one
    second would silently drop it after a busy moment); overlapping runs are harmless since
    the dispatcher itself serialises ticks.
    """

    JOB_ID = "steady-reminder-dispatcher"

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler

    def wake_at(self, when: datetime, wake: Wake) -> None:
        self.scheduler.add_job(
            wake,
            trigger="date",
            run_date=when,
            id=self.JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=8,
        )

    def close(self) -> None:
        try:
            self.scheduler.remove_job(self.JOB_ID)
        except Exception:  # JobLookupError, or the scheduler already shut down
            pass


class Dispatcher:
    # Never sleep longer than this, so a wall-clock step (suspend, NTP) is noticed quickly.
    MAX_SLEEP = timedelta(seconds=30)
    # Due rows claimed per transaction.
    BATCH = 200
    # How long Discord de-duplicates a nonce: a row left "sending" is resent only within it.
    NONCE_WINDOW = timedelta(minutes=5)
    # Delivery records older than this are pruned (stats look back 30 days).
    RETENTION = timedelta(days=35)
    # How soon to look again when the sender's backlog is full or a tick failed.
    BUSY_RETRY = timedelta(seconds=1)

    def __init__(
        self,
        db: Database,
        sender: Sender,
        *,
        waker: Waker | None = None,
        uptime: Uptime | None = None,
        changes: DueChanges | None = None,
        clock: Clock = utc_now,
        max_backlog: int = 1000,
        clock_jump: timedelta = timedelta(seconds=90),
    ) -> None:
        """``uptime`` is shared with the sender (which asks it whether a queued occurrence
        went stale); ``changes`` is where the services say a fire time moved."""
        self.db = db
        self.sender = sender
        self.waker = waker
        self.uptime = uptime or Uptime()
        self.changes = changes or DueChanges()
        self.clock = clock
        self.max_backlog = max_backlog
        self.clock_jump = clock_jump
        self.next_wake: datetime | None = None
        self._last_tick: datetime | None = None
        self._last_prune: datetime | None = None
        self._ticking = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._again = False
        self._database_away = False  # logged once per outage (or full disk), not per retry
        self._started = False
        self._last_renew: datetime | None = None
        self._announcements: set[asyncio.Task[None]] = set()
        self.claimant = sender.claimant
        self.policy = sender.policy
        # The due load of the coming minutes (``reminders.due_load``) and when it was read.
        self._load: list[tuple[int, int]] | None = None
        self._load_at = 0
        self.filling = False  # claiming early for a peak (``/healthz`` and tests read it)
        self.fill_at: int | None = None  # when the next peak asks for early claims

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Recover what the last run left in flight, then run the first tick."""
        now = self.clock()
        self.uptime.restart(now)
        self._last_tick = now
        self.changes.listen(self.poke)
        await self.db.listen_due_changes(self._heard)
        # A database only this process uses: whatever the last run left is ours now.
        await self.recover(lapsed_only=self.db.shared)
        self._started = True
        await self.tick()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """No more wake-ups; wait for a tick in progress so nothing claims after this."""
        self._started = False
        self.changes.stop_listening()
        if self.waker is not None:
            self.waker.close()
        try:
            async with asyncio.timeout(grace_seconds):  # cancellable, unlike 3.11's wait_for
                await self._idle.wait()
        except TimeoutError:
            log.warning("reminder dispatcher tick still running at shutdown")

    def poke(self) -> None:
        """Something changed (subscribe, snooze, schedule…): re-plan the next wake-up now,
        here and in every other process on the same database."""
        if not self._started:
            return
        self._heard()
        if self.db.shared:
            task = asyncio.get_running_loop().create_task(self._announce())
            self._announcements.add(task)
            task.add_done_callback(self._announcements.discard)

    def _heard(self) -> None:
        """Another process announced a change (or this one made it): look again now."""
        if not self._started:
            return
        self._again = True
        self._load = None  # a fire time moved: read the coming load again
        if self.waker is not None:
            self.waker.wake_at(self.clock(), self.on_wake)

    async def _announce(self) -> None:
        try:
            await self.db.announce_due_change()
        except DatabaseUnavailable:
            pass  # the others' MAX_SLEEP wake-up finds the change instead

    @property
    def up_since(self) -> datetime | None:
        """When the engine came up, or the wall clock last jumped."""
        return self.uptime.since

    async def on_wake(self) -> None:
        """The waker's callback."""
        if self._started:
            await self.tick()

    # --- recovery ------------------------------------------------------------------------

    async def recover(self, *, lapsed_only: bool = True) -> int:
        """Take over ledger rows left ``claimed``/``sending`` (only those whose lease lapsed, or
        all), re-queue or settle them; returns how many were re-queued."""
        now_ts = int(self.clock().timestamp())
        room = max(self.max_backlog - self.sender.backlog, 0)
        requeued = 0
        taken = await ledger.take_over(
            self.db, self.claimant, now_ts, room, lapsed_only=lapsed_only
        )
        if lapsed_only and taken:
            log.info("took over %d reminder occurrences whose process stopped renewing", len(taken))
            metrics.CLAIMS_TAKEN_OVER.inc(len(taken))
        for d in taken:
            if d.state == DeliveryState.SENDING:
                if now_ts - d.updated_at <= self.NONCE_WINDOW.total_seconds():
                    # Same nonce: Discord returns the first message if it got there.
                    self.sender.submit(d, taken_over=True)
                    requeued += 1
                else:
                    await ledger.mark_final(
                        self.db,
                        d.id,
                        DeliveryState.UNCONFIRMED,
                        Reason.IN_FLIGHT_AT_CRASH,
                        now_ts,
                    )
            elif d.source == Source.TEST:
                await ledger.mark_final(
                    self.db, d.id, DeliveryState.CANCELLED, Reason.TEST_INTERRUPTED, now_ts
                )
            elif self.uptime.missed(d.kind, d.scheduled_at):
                await ledger.mark_final(
                    self.db, d.id, DeliveryState.MISSED, Reason.OFFLINE_PAST_GRACE, now_ts
                )
            else:
                self.sender.submit(d, taken_over=True)
                requeued += 1
        if requeued:
            log.info("recovered %d reminder occurrences left in flight", requeued)
        return requeued

    async def _renew_leases(self, now: datetime) -> None:
        interval = timedelta(seconds=self.claimant.lease_s / 3)
        if self._last_renew is not None and now - self._last_renew < interval:
            return
        self._last_renew = now
        held = self.sender.held_ids()
        if held:
            await ledger.renew(self.db, self.claimant, held, int(now.timestamp()))

    # --- the tick ------------------------------------------------------------------------

    def _plan(self, sub: Subscription, now: int) -> Plan:
        """What to do with a due subscription at ``now``: its occurrence, and its next fire."""
        scheduled = sub.next_fire_at
        assert scheduled is not None
        try:
            following = next_fire_ts(sub.times, sub.zone, scheduled)
            if following > now:
                latest, next_at = scheduled, following
            else:  # several instants passed (downtime or a long backlog): keep only the last
                latest = previous_fire_ts(sub.times, sub.zone, now)
                next_at = next_fire_ts(sub.times, sub.zone, now)
        except Exception:
            log.exception("subscription %s has an unusable schedule; deactivating it", sub.id)
            return Plan(next_fire_at=None)
        if self.uptime.missed(sub.kind, latest):
            return Plan(next_fire_at=next_at, missed_at=latest)
        if not self.uptime.caught_up(latest) and self.policy.expired(sub.kind, latest, now):
            return Plan(next_fire_at=next_at, skipped_at=latest)
        return Plan(next_fire_at=next_at, deliver_at=latest)

    def _deliver_snooze(self, snooze: Snooze) -> bool:
        return not self.uptime.missed(snooze.kind, snooze.fire_at)

    async def tick(self) -> datetime | None:
        """Claim everything due (within the sender's room) and plan the next wake-up."""
        if self._ticking:
            self._again = True
            return self.next_wake
        self._ticking = True
        self._idle.clear()
        try:
            while True:
                self._again = False
                wake = await self._tick_once()
                if self._database_away:
                    self._database_away = False
                    log.info("reminder dispatcher: database back")
                if not self._again:
                    break
            self.next_wake = wake
            if self.waker is not None and self._started:
                self.waker.wake_at(wake, self.on_wake)
            return wake
        except Exception as error:
            # Never let the dispatcher die: log, and try again shortly.
            if isinstance(error, DatabaseUnavailable):
                if not self._database_away:
                    log.warning("reminder dispatcher: %s; trying again shortly", error)
                self._database_away = True
            else:
                log.exception("reminder dispatcher tick failed")
            wake = self.clock() + self.BUSY_RETRY * 5
            self.next_wake = wake
            if self.waker is not None and self._started:
                self.waker.wake_at(wake, self.on_wake)
            return wake
        finally:
            self._ticking = False
            self._idle.set()

    @property
    def last_tick(self) -> datetime | None:
        """When the dispatcher last woke up (``/healthz`` reports its age)."""
        return self._last_tick

    async def _tick_once(self) -> datetime:
        now = self.clock()
        if self._last_tick is not None and (
            now - self._last_tick > self.MAX_SLEEP + self.clock_jump
            or now < self._last_tick - self.clock_jump
        ):
            # Suspended, or the clock was stepped: treat the gap like downtime.
            log.warning("wall clock jumped from %s to %s", self._last_tick, now)
            self.uptime.restart(now)
        self._last_tick = now
        await self._renew_leases(now)
        if self.sender.backlog < self.max_backlog and await ledger.any_lapsed(
            self.db, int(now.timestamp())
        ):
            await self.recover()
        starved = False
        while True:
            now_ts = int(now.timestamp())
            room = self.max_backlog - self.sender.backlog
            fill = await self._fill(now_ts)
            filling = fill is not None
            order = self.policy.claim_order(now_ts, fill_until=fill.until if fill else None)
            horizon = now_ts if order is None else order.horizon(now_ts)
            if room <= 0:
                starved = await reminders.any_due(self.db, now_ts)
                break
            if not await reminders.any_due(self.db, horizon):
                break
            subs = await reminders.claim_due(
                self.db,
                now_ts,
                min(self.BATCH, room),
                partial(self._plan, now=now_ts),
                self.claimant,
                order,
            )
            for d in subs.claimed:
                # Prepared ahead of its second: held until then. Claimed early for a peak:
                # sent now (in deadline order), within the kind's early allowance.
                self.sender.submit(d, hold=order is not None and not filling)
            if subs.skipped:
                self.sender.busy_log.skipped(subs.skipped)
            if subs.rows:
                self._load = None  # claimed rows left the table for the sender's backlog
            room -= len(subs.claimed)
            snoozed = reminders.ClaimResult(claimed=[])
            if room > 0:
                snoozed = await reminders.claim_due_snoozes(
                    self.db,
                    now_ts,
                    min(self.BATCH, room),
                    self._deliver_snooze,
                    self.claimant,
                )
                for d in snoozed.claimed:
                    self.sender.submit(d)
            if subs.missed or snoozed.missed:
                log.info(
                    "skipped %d stale occurrences after downtime", subs.missed + snoozed.missed
                )
            if subs.rows == 0 and snoozed.rows == 0:
                break
            await asyncio.sleep(0)  # let sends and commands run between batches
            now = self.clock()
        await self._maybe_prune(now)
        self.sender.busy_log.flush()
        if starved or self.filling:
            return now + self.BUSY_RETRY
        cap = now + self.MAX_SLEEP
        if self.sender.backlog:  # keep renewing what we hold
            cap = min(cap, now + timedelta(seconds=self.claimant.lease_s / 3))
        earliest_due = await reminders.earliest_due(self.db)
        if earliest_due is not None:
            earliest_due -= self.policy.prepare_s  # prepared: claimed that long before due
        candidates = [earliest_due, self.fill_at]
        lease_end = await ledger.earliest_lease_end(self.db)
        if lease_end is not None:  # a lease that may lapse: its row is taken over just after
            candidates.append(lease_end + 1)
        earliest = min((c for c in candidates if c is not None), default=None)
        if earliest is None:
            return cap
        due = datetime.fromtimestamp(earliest, UTC)
        if due <= now:
            return now + self.BUSY_RETRY
        return min(due, cap)

    # How long the read of the coming load is reused: while filling, and otherwise.
    LOAD_TTL_FILLING_S = 2
    LOAD_TTL_S = 10

    async def _fill(self, now: int) -> Fill | None:
        """The peak that asks for early claims now (``fill_from``), if any; plans
        ``fill_at``, the moment the next one will."""
        capacity = self.policy.capacity_per_s
        horizon = self.policy.horizon_s
        if capacity is None:
            self.filling, self.fill_at = False, None
            return None
        ttl = self.LOAD_TTL_FILLING_S if self.filling else self.LOAD_TTL_S
        if self._load is None or now - self._load_at >= ttl or now < self._load_at:
            self._load = await reminders.due_load(self.db, now + horizon)
            self._load_at = now
        held = self.sender.held_load()
        load = sorted(self._load + held) if held else self._load
        fill = fill_from(now, self.sender.backlog - len(held), load, capacity)
        self.filling = fill is not None and fill.start <= now
        if self.filling:
            assert fill is not None
            self.sender.release_until(fill.until)
        self.fill_at = None if fill is None or self.filling else fill.start
        return fill if self.filling else None

    async def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        removed = await ledger.prune(self.db, int((now - self.RETENTION).timestamp()))
        if removed:
            log.info("pruned %d old delivery records", removed)
