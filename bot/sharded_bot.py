"""The bot as an ``AutoShardedBot`` owning the shards in ``SHARD_IDS`` (see bot/shards.py).

``make_bot`` is what ``python -m bot`` calls: without ``SHARD_COUNT`` it builds the plain
:class:`SteadyBot`, exactly as before sharding existed.
"""

from __future__ import annotations

import logging

from discord.ext import commands

from bot.settings import Settings
from bot.shards import IdentifyPacer, IdentifySlots, LocalIdentifySlots, ShardPlan
from bot.steady_bot import SteadyBot
from content import Content
from domain.errors import StartupError
from storage.database import Database, is_postgres
from storage.identify import AdvisoryIdentifySlots

log = logging.getLogger(__name__)


class ShardedSteadyBot(SteadyBot, commands.AutoShardedBot):
    """Steady on some (or all) of the bot's shards, IDENTIFYing at Discord's pace."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        content: Content,
        plan: ShardPlan,
        identify_slots: IdentifySlots,
    ) -> None:
        super().__init__(
            settings=settings,
            db=db,
            content=content,
            shard_count=plan.count,
            shard_ids=list(plan.ids),
        )
        self.plan = plan
        self.identify_pacer = IdentifyPacer(identify_slots)

    async def setup_hook(self) -> None:
        # The token's IDENTIFY concurrency; fetched before any shard connects.
        limits = await self.fetch_session_start_limits()
        self.identify_pacer.max_concurrency = max(1, limits.max_concurrency)
        if limits.remaining < len(self.plan.ids):
            log.warning(
                "Discord allows %d more sessions today (resets in %.0f min); %d shards need one each",
                limits.remaining,
                limits.reset_after / 60_000,
                len(self.plan.ids),
            )
        await super().setup_hook()

    async def close(self) -> None:
        await self.identify_pacer.slots.close()
        await super().close()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Replaces discord.py's "sleep 5 s unless first", which only knows this process.
        await self.identify_pacer.wait_turn(shard_id or 0)

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("shard %d/%d ready", shard_id, self.plan.count)

    async def on_shard_resumed(self, shard_id: int) -> None:
        log.info("shard %d/%d resumed", shard_id, self.plan.count)


def make_bot(
    *,
    settings: Settings,
    db: Database,
    content: Content,
    identify_slots: IdentifySlots | None = None,
) -> SteadyBot:
    """The bot ``settings`` ask for; raises :class:`StartupError` for an unsafe split.

    ``identify_slots`` is where IDENTIFY slots are shared: by default advisory locks when the
    database is shared by several processes (PostgreSQL), else a table in this process,
    which is only right while this process owns every shard.
    """
    plan = settings.shard_plan
    if plan is None:
        return SteadyBot(settings=settings, db=db, content=content)
    if identify_slots is None and is_postgres(db):
        identify_slots = AdvisoryIdentifySlots(db)
    if identify_slots is None:
        if not plan.owns_every_shard:
            # The other shards' processes would each run a dispatcher over the same rows and
            # IDENTIFY without knowing about each other: only a shared database coordinates.
            raise StartupError(
                f"SHARD_IDS names only some of the {plan.count} shards, which needs several "
                "processes sharing one PostgreSQL database (DATABASE_URL=postgresql://…); "
                "with SQLite, leave SHARD_IDS unset so this process runs every shard."
            )
        identify_slots = LocalIdentifySlots()
    return ShardedSteadyBot(
        settings=settings, db=db, content=content, plan=plan, identify_slots=identify_slots
    )
