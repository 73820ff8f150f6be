"""One bot process running two shards (``SHARD_COUNT=2``), as Discord routes them.

Servers are split between the shards by id; DMs and clicks on DM buttons only ever reach
shard 0. The emulator enforces the IDENTIFY rate limit, so a violation fails the test.
"""

from __future__ import annotations

from testkit.emulator import Driver
from testkit.ports import on_a_free_port_async
from tests.e2e.conftest import StartBot
from tests.e2e.health_helpers import health_becomes
from tests.e2e.reminder_helpers import DONE, button_ids, reminders_for


async def test_two_shards_answer_in_servers_of_both_and_in_dms(
    driver: Driver, start_bot: StartBot
) -> None:
    gateway = driver.emulator.gateway
    gateway.enforce_identify_rate = True
    gateway.max_concurrency = 2  # both shards may IDENTIFY at once (keys 0 and 1)
    member = driver.add_user("max")
    on_0 = driver.add_guild("Shard Zero", members=[member], shard=(0, 2))
    on_1 = driver.add_guild("Shard One", members=[member], shard=(1, 2))

    bot, port = await on_a_free_port_async(
        lambda port: start_bot(SHARD_COUNT="2", HEALTH_PORT=str(port), HEALTH_HOST="127.0.0.1")
    )

    shards = sorted((s.shard_id, s.shard_count) for s in gateway.sessions.values())
    assert shards == [(0, 2), (1, 2)]
    assert gateway.identify_rate_violations == []
    first, second = (t for t, _, _ in gateway.identify_log)
    assert second - first < 4, "max_concurrency=2: the second shard need not wait 5 s"
    assert bot.logged("[shards 0-1/2]") and bot.logged("shard 1/2 ready")
    health = await health_becomes(f"http://127.0.0.1:{port}/healthz", 200)
    assert health["shards"] == {"count": 2, "owned": [0, 1], "connected": [0, 1]}

    for guild in (on_0, on_1):
        reply = await driver.slash("nutrient", user=member, guild=guild, name="magnesium")
        assert "Magnesium" in reply.embed["title"]
    in_dm = await driver.slash("nutrient", user=member, name="magnesium")
    assert "Magnesium" in in_dm.embed["title"]

    # A command through shard 1 sends a DM reminder; its button is clicked in the DM, so the
    # click arrives on shard 0's connection, and works from what the button carries.
    test = await driver.slash("remind test", user=member, guild=on_1, kind="caffeine")
    assert "Sent a test reminder by DM" in test.text
    [reminder] = reminders_for(driver, member)
    done = await driver.click(reminder, button_ids(reminder)[DONE], user=member)
    assert done.ephemeral and "Marked as done" in done.text


async def test_shard_ids_outside_the_count_stop_with_one_line(start_bot: StartBot) -> None:
    process = await start_bot(SHARD_COUNT="2", SHARD_IDS="0-2", wait_ready=False)
    assert await process.wait() == 2
    assert "Traceback" not in process.output
    [line] = [line for line in process.lines if "cannot start" in line]
    assert "SHARD_IDS" in line and "outside SHARD_COUNT=2" in line


async def test_too_many_servers_for_one_connection_stop_with_one_line(
    driver: Driver, start_bot: StartBot
) -> None:
    """Discord closes the gateway with 4011 when a shard would hold too many servers."""
    driver.emulator.gateway.max_guilds_per_shard = 1
    driver.add_guild("A", shard=(0, 2))
    driver.add_guild("B", shard=(0, 2))
    process = await start_bot(wait_ready=False)
    assert await process.wait() == 2
    assert "Traceback" not in process.output
    [line] = [line for line in process.lines if "cannot start" in line]
    assert "4011 Sharding required; SHARD_COUNT is not set" in line


async def test_part_of_the_shards_on_sqlite_is_refused(start_bot: StartBot) -> None:
    process = await start_bot(SHARD_COUNT="2", SHARD_IDS="1", wait_ready=False)
    assert await process.wait() == 2
    assert "Traceback" not in process.output
    [line] = [line for line in process.lines if "cannot start" in line]
    assert "PostgreSQL" in line


# postgres_url first: fixtures are torn down in reverse, so the bots stop before it is dropped.
async def test_two_processes_on_postgresql_take_turns_to_identify(
    postgres_url: str, driver: Driver, start_bot: StartBot
) -> None:
    """Shard 0 in one process, shard 1 in another, Discord allowing one IDENTIFY per 5 s:
    the second process waits for its turn, then each answers in its own servers."""
    gateway = driver.emulator.gateway
    gateway.enforce_identify_rate = True
    gateway.max_concurrency = 1
    member = driver.add_user("max")
    on_0 = driver.add_guild("Shard Zero", members=[member], shard=(0, 2))
    on_1 = driver.add_guild("Shard One", members=[member], shard=(1, 2))
    shared = {"DATABASE_URL": postgres_url, "SHARD_COUNT": "2"}

    first = await start_bot(**shared, SHARD_IDS="0")
    second = await start_bot(**shared, SHARD_IDS="1")

    assert gateway.identify_rate_violations == []
    (t0, shard_a, _), (t1, shard_b, _) = gateway.identify_log
    assert (shard_a, shard_b) == (0, 1) and t1 - t0 >= 4.9
    assert second.logged("shard 1 waited") and second.logged("[shards 1/2]")
    assert first.logged("[shards 0/2]")
    for guild in (on_0, on_1):
        reply = await driver.slash("nutrient", user=member, guild=guild, name="magnesium")
        assert "Magnesium" in reply.embed["title"]
    in_dm = await driver.slash("nutrient", user=member, name="magnesium")
    assert "Magnesium" in in_dm.embed["title"]
