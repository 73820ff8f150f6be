"""Sharding settings, which guilds a process owns, and IDENTIFY pacing (bot/shards.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace

import pytest

from bot.logs import configure_logging
from bot.settings import load_settings
from bot.sharded_bot import ShardedSteadyBot, make_bot
from bot.shards import (
    IDENTIFY_MARGIN_S,
    IDENTIFY_SPACING_S,
    IdentifyPacer,
    LocalIdentifySlots,
    ShardPlan,
    gateway_refusal,
    parse_shard_ids,
    process_owns_guild,
    shard_of,
)
from domain.errors import StartupError
from storage import guild_settings
from tests.cogs.fakes import make_rig, open_db

ON_SHARD_0 = 0 << 22  # (id >> 22) % 2 == 0
ON_SHARD_1 = 1 << 22


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    for name in ("SHARD_COUNT", "SHARD_IDS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("text", "count", "ids"),
    [("0,1", 2, (0, 1)), ("0-3", 4, (0, 1, 2, 3)), ("3, 0-1", 4, (0, 1, 3)), ("1,1", 2, (1,))],
)
def test_shard_ids_as_a_list_or_ranges(text: str, count: int, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text, count) == ids


@pytest.mark.parametrize(
    ("count", "ids", "message"),
    [
        ("2", "2", "SHARD_IDS is invalid: Value error, shard 2 is outside SHARD_COUNT=2 "
         "(shards are numbered 0-1)"),
        ("4", "0-9", "shard 9 is outside SHARD_COUNT=4"),
        ("2", "one", "'one' is not a shard number or a range like 0-3"),
        ("4", "3-1", "'3-1' is not a range of shard numbers"),
        ("4", "0,,1", "has an empty item"),
        ("4", "-1", "'-1' is not a shard number"),
        ("", "0", "SHARD_IDS is invalid: Value error, needs SHARD_COUNT"),
        ("0", "", "SHARD_COUNT is invalid: Input should be greater than or equal to 1"),
        ("two", "", "SHARD_COUNT is invalid: Input should be a valid integer"),
    ],
)  # fmt: skip
def test_bad_shard_settings_stop_start_up_with_one_line(
    env, count: str, ids: str, message: str
) -> None:
    env.setenv("SHARD_COUNT", count)
    env.setenv("SHARD_IDS", ids)
    with pytest.raises(StartupError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_without_shard_settings_nothing_changes(env) -> None:
    assert load_settings().shard_plan is None
    env.setenv("SHARD_COUNT", "")
    env.setenv("SHARD_IDS", "")
    assert load_settings().shard_plan is None


def test_shard_count_alone_means_every_shard_here(env) -> None:
    env.setenv("SHARD_COUNT", "3")
    plan = load_settings().shard_plan
    assert plan == ShardPlan(3, (0, 1, 2)) and plan.owns_every_shard and plan.owns_dms
    assert plan.label == "shards 0-2/3"


def test_plan_labels_its_shards_and_owns_dms_only_on_shard_0() -> None:
    sorted_plan = ShardPlan(4, (0, 1, 3))
    assert sorted_plan.label == "shards 0-1,3/4"
    assert ShardPlan(4, (2,)).label == "shards 2/4"
    assert not ShardPlan(4, (2,)).owns_dms
    assert [shard_of(g << 22, 4) for g in range(6)] == [0, 1, 2, 3, 0, 1]


def test_a_process_owns_guilds_of_its_shards_only() -> None:
    unsharded = SimpleNamespace(shard_count=None)
    every = SimpleNamespace(shard_count=2, shard_ids=None)
    first = SimpleNamespace(shard_count=2, shard_ids=[0])
    assert process_owns_guild(unsharded, ON_SHARD_1)
    assert process_owns_guild(every, ON_SHARD_1)
    assert process_owns_guild(first, ON_SHARD_0) and not process_owns_guild(first, ON_SHARD_1)


# --- IDENTIFY pacing -------------------------------------------------------------------------


@dataclass
class Clock:
    now: float = 1_000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# Discord's 5 s and a margin for arrival jitter between processes.
GAP = IDENTIFY_SPACING_S + IDENTIFY_MARGIN_S


async def test_identifies_are_5_s_apart_per_concurrency_key() -> None:
    assert GAP > 5.0
    clock = Clock()
    pacer = IdentifyPacer(LocalIdentifySlots(clock), clock=clock, sleep=clock.sleep)
    assert [await pacer.wait_turn(shard) for shard in (0, 1, 2)] == [0.0, GAP, GAP]
    assert clock.slept == [GAP, GAP]


async def test_max_concurrency_lets_shards_of_different_keys_identify_together() -> None:
    clock = Clock()
    pacer = IdentifyPacer(
        LocalIdentifySlots(clock), max_concurrency=2, clock=clock, sleep=clock.sleep
    )
    waits = [await pacer.wait_turn(shard) for shard in (0, 1, 2, 3)]
    assert waits == [0.0, 0.0, GAP, 0.0]  # shard 3 shares key 1, whose slot passed meanwhile
    clock.now += 60  # a reconnect long after: no wait
    assert await pacer.wait_turn(1) == 0.0


async def test_slots_are_shared_by_everyone_holding_them() -> None:
    """Two pacers on one slot table (as two processes on one database) never overlap."""
    clock = Clock()
    slots = LocalIdentifySlots(clock)
    a = IdentifyPacer(slots, clock=clock, sleep=clock.sleep)
    b = IdentifyPacer(slots, clock=clock, sleep=clock.sleep)
    assert [await a.wait_turn(0), await b.wait_turn(1), await a.wait_turn(2)] == [0.0, GAP, GAP]


# --- the bot chosen by the settings ----------------------------------------------------------


async def test_make_bot_is_plain_without_shards_and_sharded_with(env, tmp_path) -> None:
    db = await open_db(tmp_path)
    try:
        assert type(make_bot(settings=load_settings(), db=db, content=None)).__name__ == (
            "SteadyBot"
        )
        env.setenv("SHARD_COUNT", "2")
        bot = make_bot(settings=load_settings(), db=db, content=None)
        assert isinstance(bot, ShardedSteadyBot)
        assert (bot.shard_count, bot.shard_ids) == (2, [0, 1])
        env.setenv("SHARD_IDS", "1")
        with pytest.raises(StartupError, match="needs several processes sharing one PostgreSQL"):
            make_bot(settings=load_settings(), db=db, content=None)
        # A shared (cross-process) slot table makes a partial range possible.
        bot = make_bot(
            settings=load_settings(), db=db, content=None, identify_slots=LocalIdentifySlots()
        )
        assert bot.shard_ids == [1]
    finally:
        await db.close()


def test_logs_name_the_processs_shards(capsys) -> None:
    import logging

    configure_logging("INFO", tag="shards 0-1/4")
    logging.getLogger("bot.test").info("hello")
    configure_logging("INFO")
    assert "[shards 0-1/4] bot.test: hello" in capsys.readouterr().err


# --- guilds of other processes' shards are not "gone" -----------------------------------------


@dataclass
class ShardedFakeBot:
    shard_count: int
    shard_ids: list[int]


async def test_reconcile_keeps_guilds_of_shards_this_process_does_not_own(tmp_path) -> None:
    db = await open_db(tmp_path)
    try:
        rig = make_rig(db)
        for guild_id in (ON_SHARD_0, ON_SHARD_1):
            await guild_settings.set_reminder_channel(db, guild_id, 600)
        bot = ShardedFakeBot(shard_count=2, shard_ids=[0])
        # This process sees no guild at all.
        await rig.guild_config.reconcile({}, partial(process_owns_guild, bot))
        assert await guild_settings.reminder_channel(db, ON_SHARD_0) is None  # its own: gone
        assert await guild_settings.reminder_channel(db, ON_SHARD_1) == 600  # another's: kept
    finally:
        await db.close()


def test_gateway_refusals_say_which_setting_to_change() -> None:
    plan = ShardPlan(2, (0, 1))
    assert "4011 Sharding required; SHARD_COUNT is 2" in gateway_refusal(4011, plan)
    assert "check SHARD_COUNT and SHARD_IDS" in gateway_refusal(4010, plan)
    assert gateway_refusal(4004, None) == "Discord closed the gateway connection with code 4004."
