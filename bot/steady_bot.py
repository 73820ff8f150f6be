"""The bot class: all asynchronous start-up happens in ``setup_hook``, in one readable order."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import compose, discord_internals, gateway, health
from bot.dashboard_server import BotGuildAccess, DashboardServer, build_dashboard
from bot.health import HealthServer
from bot.settings import Settings
from bot.shards import process_owns_guild
from bot.sync import sync_if_changed
from cogs.steady import dm_channel_of
from cogs.tree import SteadyTree
from content import Content
from domain.errors import DatabaseUnavailable
from services import metrics
from services.buttons import ReminderButtons
from services.engine.discord_transport import DiscordPyTransport
from services.engine.policy import Deadlines
from services.engine.shared_pacing import pacer_for
from services.guild_config import GuildConfig
from services.member_settings import MemberSettings
from services.plan_watch import PlanWatch
from services.privacy import Privacy
from services.ratelimit import RequestLimiter, limiter_trace
from services.stats import ReminderStats
from services.subscriptions import Subscriptions
from storage.database import Database

log = logging.getLogger(__name__)

# After READY, how long discord.py waits for one more server to stream in (GUILD_CREATE)
# before on_ready (its default is 2 s). Nothing depends on every server being in by then:
# on_ready's reconcile skips a server still unavailable, and one that streams in later gets
# on_guild_available. Ending the wait early needs discord.py's private ready queue, which a
# saving of 0.5 s per start does not justify (docs/architecture.md, "discord.py internals").
GUILD_READY_TIMEOUT = 0.5

# One extension per feature; each module has ``async def setup(bot)``.
EXTENSIONS: tuple[str, ...] = ("cogs.facts", "cogs.reminders", "cogs.privacy", "cogs.config")


def intents() -> discord.Intents:
    """Only what the bot needs: guild and channel events. No privileged intent, no message content."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


class SteadyBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        content: Content,
        limiter: RequestLimiter | None = None,
        **options: Any,
    ) -> None:
        """``limiter`` paces every REST request of the token (default: this process alone,
        at ``SEND_RATE_PER_S``); ``options`` are discord.py's (shards)."""
        # One schedule for every process of the token when they share PostgreSQL.
        self.limiter = limiter or pacer_for(db, settings.send_rate_per_s)
        # Steady never joins voice: don't warn at every start that voice libraries are missing.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        # Every reminder has a channel, so a rate-limit bucket, of its own: prune them at a
        # constant cost each, not by a scan of all of them at every new one.
        discord_internals.prune_buckets_when_doubled()
        super().__init__(
            command_prefix=commands.when_mentioned,  # no text commands; slash commands only
            intents=intents(),
            tree_cls=SteadyTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            # A member's cached objects aren't needed: every handler works from the interaction.
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            # on_ready only logs; nothing waits for every server to stream in first.
            guild_ready_timeout=GUILD_READY_TIMEOUT,
            # Every REST request the bot makes waits for a slot of one limiter (services/ratelimit.py).
            http_trace=limiter_trace(self.limiter, metrics.rate_limit_trace()),
            **options,  # shard_count and shard_ids for ShardedSteadyBot (bot/sharded_bot.py)
        )
        self.settings = settings
        self.db = db
        self.content = content
        self._ready_logged = False
        # The deployment's once-only jobs (the capacity plan, the start-up DM-channel sweep)
        # run in one process of it.
        lead = is_lead_process(settings)
        # Built here (bot/compose.py: in order, through constructors), started in setup_hook:
        # the extensions' setup already finds its services.
        core = compose.build_core(
            db,
            content,
            DiscordPyTransport(self.http),
            workers=settings.send_workers,
            lease_s=settings.claim_lease_s,
            policy=Deadlines(capacity_per_s=settings.send_rate_per_s),
            sweeps_dm_channels=lead,
        )
        self.core = core
        self.engine = core.engine
        self.services = core.services
        self.health: HealthServer | None = None
        # The coming day's capacity plan for /metrics and /healthz: the deployment's, so
        # kept by one process, the one with shard 0 (services/plan_watch.py).
        self.plan_watch = PlanWatch(db, settings.send_rate_per_s, core.clock) if lead else None
        self.dashboard: DashboardServer | None = None
        self.page_db: Database | None = None

    # --- what the cogs see of the bot (cogs.steady.Steady) --------------------------------

    @property
    def member_settings(self) -> MemberSettings:
        return self.services.member_settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.services.subscriptions

    @property
    def reminder_buttons(self) -> ReminderButtons:
        return self.services.buttons

    @property
    def reminder_stats(self) -> ReminderStats:
        return self.services.stats

    @property
    def privacy(self) -> Privacy:
        return self.services.privacy

    @property
    def guild_config(self) -> GuildConfig:
        return self.services.guild_config

    async def setup_hook(self) -> None:
        url = await gateway.resolve_gateway(self.settings, self.http)
        if url:
            gateway.point_gateway_at(url)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        assert self.application_id is not None  # set by login()
        await sync_if_changed(self.tree, self.db, self.application_id, self.settings.dev_guild_id)
        await self.engine.start()
        if self.plan_watch is not None:
            await self.plan_watch.start()
        self.health = await health.start_for(self)  # HEALTH_PORT only
        if self.settings.dashboard_port is not None:
            await self._start_dashboard(self.settings.dashboard_port)

    async def _start_dashboard(self, port: int) -> None:
        """The pages read through their own connection (``compose.page_database``), with
        services of their own over it; their changes wake the same engine."""
        assert self.application_id is not None
        self.page_db = await compose.page_database(self.db)
        services = self.core.services_over(self.page_db)
        self.dashboard = DashboardServer(
            build_dashboard(
                self.settings, self.application_id, services, BotGuildAccess(self), self.page_db
            ),
            host=self.settings.dashboard_host,
            port=port,
            base_url=self.settings.dashboard_base_url,
        )
        await self.dashboard.start()

    async def close(self) -> None:
        # In reverse: no new page requests, then stop claiming reminders and let in-flight
        # sends finish before the HTTP session closes.
        if self.dashboard is not None:
            await self.dashboard.stop()
        if self.page_db is not None and self.page_db is not self.db:
            await self.page_db.close()
            self.page_db = None
        if self.health is not None:
            await self.health.stop()
        if self.plan_watch is not None:
            await self.plan_watch.stop()
        await self.engine.stop()
        await super().close()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Any command or click in a member's DM with the bot tells us their DM channel, so
        their reminders need no request to open it."""
        channel_id = dm_channel_of(interaction)
        if channel_id is None:
            return
        try:
            await self.member_settings.learn_dm_channel(interaction.user.id, channel_id)
        except DatabaseUnavailable:
            pass  # learnt at the next one

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction,
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """Tell a member, once, about something that happened to their reminders meanwhile."""
        try:
            notice = await self.member_settings.pop_notice(interaction.user.id)
        except DatabaseUnavailable:
            return  # the command itself was answered; the notice waits for the next one
        if notice:
            try:
                await interaction.followup.send(notice, ephemeral=True)
            except discord.HTTPException as error:
                log.warning("could not show a notice to %s: %s", interaction.user.id, error)

    async def on_ready(self) -> None:
        # Settings naming channels or servers that went away while the bot was offline are
        # cleared before the bot calls itself ready, so no command sees them.
        await self.guild_config.reconcile(
            {guild.id: None if guild.unavailable else channel_ids(guild) for guild in self.guilds},
            partial(process_owns_guild, self),
        )
        if not self._ready_logged:
            self._ready_logged = True
            log.info(
                "Steady is ready as %s (%s) in %d servers",
                self.user,
                self.user.id if self.user else "?",
                len(self.guilds),
            )

    # --- servers and channels changing under the bot: GuildConfig decides what it means ---

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.guild_config.channel_deleted(channel.guild.id, channel.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.guild_config.guild_removed(guild.id)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.guild_config.forget_missing_channels(guild.id, channel_ids(guild))


def is_lead_process(settings: Settings) -> bool:
    """Whether this process does the deployment's once-only jobs — keeping the capacity plan
    and the start-up sweep of unknown DM channels: the only process, or the one with shard 0.
    (Every process would do the same work on the same database: the plan reported twice,
    each channel opened once per process.)"""
    plan = settings.shard_plan
    return plan is None or 0 in plan.ids


def channel_ids(guild: discord.Guild) -> set[int]:
    return {channel.id for channel in guild.channels}
