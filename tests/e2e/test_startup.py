"""Start-up, command sync, crashes and gateway trouble, seen from Discord's side."""

from __future__ import annotations

from testkit.bot_process import BotProcess
from testkit.emulator import Driver
from testkit.emulator.gateway import PRIVILEGED_INTENTS
from tests.e2e.conftest import Server, StartBot

FACT_COMMANDS = {
    "nutrient",
    "foods",
    "food",
    "compare",
    "causes",
    "tips",
    "see-a-doctor",
    "about",
    "help",
}


async def test_first_start_syncs_commands_and_a_second_start_does_not(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    first = await start_bot()
    assert driver.stats.command_syncs == ["global"]
    assert FACT_COMMANDS <= {c["name"] for c in driver.world.global_commands}
    [session] = driver.emulator.gateway.sessions.values()
    assert session.intents & PRIVILEGED_INTENTS == 0, "Steady must not ask for privileged intents"
    assert await first.terminate() == 0

    await start_bot()  # same database: the command tree did not change
    assert driver.stats.command_syncs == ["global"]
    reply = await driver.slash("about", user=server.member, guild=server.guild)
    assert "Steady" in reply.text


async def test_dev_guild_gets_the_commands_instead(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    await start_bot(DEV_GUILD_ID=str(server.guild.id))
    assert driver.stats.command_syncs == [str(server.guild.id)]
    assert FACT_COMMANDS <= {c["name"] for c in driver.world.guild_commands[server.guild.id]}
    # The dev server's copy of the commands answers: /help lists them, to the asker only.
    reply = await driver.slash("help", user=server.member, guild=server.guild)
    assert reply.ephemeral
    assert "`/nutrient`" in reply.text and "`/remind start`" in reply.text


async def test_bad_token_stops_with_one_line(start_bot: StartBot) -> None:
    process = await start_bot(DISCORD_TOKEN="not-a-real-token", wait_ready=False)
    assert await process.wait() != 0
    assert "Traceback" not in process.output
    errors = [line for line in process.lines if "cannot start" in line]
    assert len(errors) == 1 and "DISCORD_TOKEN" in errors[0], process.output


async def test_kill_9_then_restart_works_again(
    driver: Driver, start_bot: StartBot, server: Server
) -> None:
    crashed = await start_bot()
    await crashed.kill()
    assert crashed.returncode == -9

    await start_bot()
    reply = await driver.slash("nutrient", user=server.member, guild=server.guild, name="magnesium")
    assert "Magnesium" in reply.embed["title"]
    assert driver.stats.command_syncs == ["global"]  # the hash survived the crash


async def test_gateway_reconnect_request_is_resumed(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    await driver.gateway_reconnect()
    await driver.wait_for_resume(1)
    assert driver.emulator.gateway.identifies == 1
    reply = await driver.slash("causes", user=server.member, guild=server.guild)
    assert reply.embeds and not reply.ephemeral


async def test_gateway_drop_is_resumed_and_missed_events_replayed(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    driver.hold_gateway()
    await driver.gateway_close(4000, "emulated outage")
    await driver.wait_until_disconnected()
    late = driver.add_channel(server.guild, "late-channel")  # created while the bot is away
    await driver.settle()
    driver.release_gateway()
    await driver.wait_for_resume(1)
    reply = await driver.slash("compare", user=server.member, guild=server.guild, channel=late)
    assert reply.embeds


async def test_invalidated_session_identifies_again_on_the_emulator(
    driver: Driver, bot: BotProcess, server: Server
) -> None:
    # After op 9 discord.py reconnects to its *default* gateway URL: this fails (through
    # the network guard) unless the bot pointed that default at DISCORD_API_BASE's gateway.
    # Slow by design: discord.py waits 5 s before re-identifying.
    await driver.invalidate_session(resumable=False)
    await driver.wait_for_ready(2, within=20)
    reply = await driver.slash("see-a-doctor", user=server.member, guild=server.guild)
    assert reply.embeds
