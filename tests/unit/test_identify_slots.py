"""IDENTIFY slots across processes on one PostgreSQL (storage/identify.py).

Each ``Database`` here is a separate pool, as two bot processes would have. The spacing is
shortened to fractions of a second; what is tested is who waits for whom.
"""

from __future__ import annotations

import time

import pytest

from bot.settings import load_settings
from bot.sharded_bot import ShardedSteadyBot, make_bot
from storage.database import Database
from storage.identify import AdvisoryIdentifySlots

SPACING = 0.6


@pytest.fixture
async def two_processes(postgres_url: str):
    first, second = await Database.open(postgres_url), await Database.open(postgres_url)
    yield AdvisoryIdentifySlots(first), AdvisoryIdentifySlots(second)
    for db in (first, second):
        await db.close()


@pytest.mark.serial  # "another key must not wait" is measured in real time (< 0.3 s)
async def test_one_key_is_taken_in_turns_other_keys_at_once(two_processes) -> None:
    first, second = two_processes
    start = time.monotonic()
    await first.reserve(0, SPACING)
    await second.reserve(1, SPACING)
    assert time.monotonic() - start < SPACING / 2, "another key must not wait"
    await second.reserve(0, SPACING)
    assert time.monotonic() - start >= SPACING * 0.9, "the same key waits out the spacing"
    await first.close()
    await second.close()


async def test_a_process_that_goes_away_frees_its_slot(two_processes) -> None:
    first, second = two_processes
    await first.reserve(0, 60.0)
    await first.close()  # shutdown (or a dead connection) releases the lock
    start = time.monotonic()
    await second.reserve(0, SPACING)
    assert time.monotonic() - start < 5
    await second.close()


async def test_shards_split_across_processes_on_postgresql(monkeypatch, postgres_url) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    monkeypatch.setenv("SHARD_COUNT", "3")
    monkeypatch.setenv("SHARD_IDS", "1-2")
    db = await Database.open(postgres_url)
    try:
        bot = make_bot(settings=load_settings(), db=db, content=None)
        assert isinstance(bot, ShardedSteadyBot) and bot.shard_ids == [1, 2]
        assert isinstance(bot.identify_pacer.slots, AdvisoryIdentifySlots)
    finally:
        await db.close()
