"""The composition root: every part behind the front-ends built here, in order, through its
constructor — nothing is patched onto a part after it is built.

``SteadyBot`` (:mod:`bot.steady_bot`) calls these in ``__init__`` and ``setup_hook`` and tears
down in reverse in ``close``; the tests and benchmarks build the same engine and services
with :func:`build_core`. The order:

1. :class:`~services.engine.due_changes.DueChanges` and
   :class:`~services.engine.uptime.Uptime`, which the engine's parts share;
2. the ``/config`` service (:class:`~services.guild_config.GuildConfig`): the sender
   reports refused posts to it;
3. the engine: sender, waker, dispatcher, DM-channel opener;
4. the member services over the database (:func:`build_services`);
5. at start-up, over SQLite's own read connection (:func:`page_database`), the dashboard's
   services and the dashboard.

The web process (``python -m bot dashboard``) has no engine: :func:`build_web` gives it the
services and a DM-channel opener of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from content import Content
from domain.clock import Clock, utc_now
from services.buttons import ReminderButtons
from services.engine.dispatcher import APSchedulerWaker, Dispatcher, Waker
from services.engine.dm_channels import DmChannelOpener
from services.engine.due_changes import DueChanges
from services.engine.messages import MessageRenderer
from services.engine.policy import Deadlines, SendPolicy
from services.engine.reminder_engine import ReminderEngine
from services.engine.sender import Sender
from services.engine.transport import DiscordTransport, OpensDms
from services.engine.uptime import Uptime
from services.guild_config import GuildConfig
from services.member_settings import MemberSettings
from services.privacy import Privacy
from services.stats import ReminderStats
from services.subscriptions import SendNow, Subscriptions
from storage import ledger
from storage.database import Database
from storage.sqlite import SqliteDatabase


@dataclass(frozen=True)
class Services:
    """What the front-ends call, over one database."""

    member_settings: MemberSettings
    subscriptions: Subscriptions
    buttons: ReminderButtons
    stats: ReminderStats
    privacy: Privacy
    guild_config: GuildConfig


@dataclass(frozen=True)
class Core:
    """The engine and the services over the bot's database."""

    engine: ReminderEngine
    changes: DueChanges
    services: Services
    clock: Clock

    def services_over(self, db: Database) -> Services:
        """The same services over another handle of the database (the pages' reads), telling
        the same engine when a fire time moved."""
        return _services(db, self.engine, self.changes, self.clock)


def build_core(
    db: Database,
    content: Content,
    transport: DiscordTransport,
    *,
    clock: Clock = utc_now,
    waker: Waker | None = None,
    workers: int = 8,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    retry_for: timedelta = timedelta(minutes=30),
    max_backlog: int = 1000,
    clock_jump: timedelta = timedelta(seconds=90),
    lease_s: int = ledger.Claimant.lease_s,
    policy: SendPolicy | None = None,
    sweeps_dm_channels: bool = True,
) -> Core:
    """Tests and benchmarks inject ``clock``, ``waker`` (instead of APScheduler) and
    ``sleep``; the other options are the sender's and dispatcher's tuning (see there), and
    ``lease_s`` how long this process's claims hold unrenewed (``CLAIM_LEASE_S``).
    ``policy`` how what is due is ordered, paced and shed (:mod:`services.engine.policy`;
    by default :class:`Deadlines` at 49 sends a second — the bot passes its
    ``SEND_RATE_PER_S``; only the day benchmark builds the old ``DueOrder``).
    ``sweeps_dm_channels``: whether this process opens, at start-up, the DM channels not yet
    known (one process of a deployment does: :func:`bot.steady_bot.is_lead_process`).
    ``transport`` is already paced: every request it makes goes through the bot's request
    limiter (:mod:`services.ratelimit`)."""
    changes = DueChanges()
    uptime = Uptime()
    guild_config = GuildConfig(db, clock=clock, on_change=changes.changed)
    sender = Sender(
        db,
        transport,
        MessageRenderer(db, content),
        guild_config,
        workers=workers,
        clock=clock,
        sleep=sleep,
        retry_for=retry_for,
        claimant=ledger.Claimant(lease_s=lease_s),
        uptime=uptime,
        policy=policy or Deadlines(),
    )
    # Without a waker of its own, the engine runs APScheduler.
    scheduler = AsyncIOScheduler(timezone="UTC") if waker is None else None
    dispatcher = Dispatcher(
        db,
        sender,
        waker=waker or APSchedulerWaker(scheduler),
        uptime=uptime,
        changes=changes,
        clock=clock,
        max_backlog=max_backlog,
        clock_jump=clock_jump,
    )
    dm_channels = DmChannelOpener(db, transport, clock, sweep_at_start=sweeps_dm_channels)
    engine = ReminderEngine(db, sender, dispatcher, dm_channels, scheduler)
    services = _services(db, engine, changes, clock, guild_config)
    return Core(engine, changes, services, clock)


def _services(
    db: Database,
    engine: ReminderEngine,
    changes: DueChanges,
    clock: Clock,
    guild_config: GuildConfig | None = None,
) -> Services:
    return build_services(
        db,
        clock=clock,
        on_change=changes.changed,
        guild_config=guild_config,
        open_dm_soon=engine.dm_channels.open_soon,
        send_now=engine.sender.submit,
        claimant=engine.sender.claimant,
    )


@dataclass(frozen=True)
class Web:
    """What the web process runs: the services, and the opener of the DM channels of the
    members who subscribe on its pages (start it, and stop it before closing ``dms``)."""

    services: Services
    dm_channels: DmChannelOpener


def build_web(
    db: Database,
    dms: OpensDms,
    *,
    clock: Clock = utc_now,
    on_change: Callable[[], None] = lambda: None,
) -> Web:
    """The web process's services over ``db``: ``on_change`` tells the bot processes a fire
    time moved (``NOTIFY``); a member who subscribes here has their DM channel opened here,
    through ``dms`` (already paced by the token's limiter), not by the bot processes — a page
    is served by one process, while every bot process hears the ``NOTIFY``
    (:mod:`services.engine.dm_channels`). It leaves the start-up sweep to the bot."""
    dm_channels = DmChannelOpener(db, dms, clock, sweep_at_start=False)
    services = build_services(
        db, clock=clock, on_change=on_change, open_dm_soon=dm_channels.open_soon
    )
    return Web(services, dm_channels)


def build_services(
    db: Database,
    *,
    clock: Clock = utc_now,
    on_change: Callable[[], None] = lambda: None,
    guild_config: GuildConfig | None = None,
    open_dm_soon: Callable[[int], None] = lambda user_id: None,
    send_now: SendNow | None = None,
    claimant: ledger.Claimant | None = None,
    test_timeout: float = 20.0,
) -> Services:
    """The services over ``db``. With an engine (:func:`build_core`), ``on_change`` re-plans
    its dispatcher, ``open_dm_soon`` and ``send_now`` are its DM-channel opener and sender;
    the cog and page tests build them alone, with fakes."""
    guild_config = guild_config or GuildConfig(db, clock=clock, on_change=on_change)
    return Services(
        member_settings=MemberSettings(
            db,
            clock=clock,
            on_change=on_change,
            reminder_channel_for=guild_config.reminder_channel,
            open_dm_soon=open_dm_soon,
        ),
        subscriptions=Subscriptions(
            db,
            clock=clock,
            on_change=on_change,
            open_dm_soon=open_dm_soon,
            send_now=send_now,
            claimant=claimant,
            test_timeout=test_timeout,
        ),
        buttons=ReminderButtons(db, clock=clock, on_change=on_change),
        stats=ReminderStats(db, clock=clock),
        privacy=Privacy(db, clock=clock, on_change=on_change),
        guild_config=guild_config,
    )


async def page_database(db: Database) -> Database:
    """What the dashboard's pages read through. On SQLite, a connection of their own, so they
    neither wait for nor hold up the reminder sender's writes (writes still go through the
    one writer); PostgreSQL's pool already does this. Close it after the dashboard, if it is
    not ``db`` itself."""
    if isinstance(db, SqliteDatabase):
        return await db.with_own_reads()
    return db
