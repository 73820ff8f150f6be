"""Helpers for the ``/config`` end-to-end tests: what an admin runs and reads, the bot restarted
on its faked clock (:mod:`testkit.fake_time`), and what Discord received.

Nothing here changes the emulator's behaviour: it reads it, and under a fast fake clock it
asks the bot for heartbeats (gateway op 1, which Discord may send too).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from testkit.bot_process import BotProcess
from testkit.emulator import Driver, Emulator, Reply
from testkit.emulator.gateway import HEARTBEAT
from testkit.emulator.state import Channel, Guild, Message, User
from testkit.fake_time import BotClock
from tests.e2e.conftest import StartBot
from tests.e2e.reminder_helpers import start_bot_at

# --- what an admin runs and reads ---------------------------------------------------------------


async def config(
    driver: Driver, sub: str, *, user: User, guild: Guild, force: bool = False, **options: Any
) -> Reply:
    """``/config <sub> …`` in the server's first channel (channel options go in ``options``)."""
    return await driver.slash(f"config {sub}", user=user, guild=guild, force=force, options=options)


def settings_of(reply: Reply) -> dict[str, str]:
    """The fields of a ``/config show`` answer: ``{"Reminder channel": …, "Daily tip": …}``."""
    return {f["name"]: f["value"] for f in reply.embed.get("fields") or []}


async def show(driver: Driver, *, user: User, guild: Guild) -> dict[str, str]:
    """What ``/config show`` tells the admin (it must be private)."""
    reply = await config(driver, "show", user=user, guild=guild)
    assert reply.ephemeral, f"/config show must be private, got {reply!r}"
    return settings_of(reply)


async def show_until(
    driver: Driver,
    predicate: Callable[[dict[str, str]], bool],
    *,
    user: User,
    guild: Guild,
    within: float = 5.0,
) -> dict[str, str]:
    """The admin runs ``/config show`` again until it says something (bounded)."""
    deadline = time.monotonic() + within
    settings = await show(driver, user=user, guild=guild)
    while not predicate(settings):
        assert time.monotonic() < deadline, f"/config show still says {settings}"
        await asyncio.sleep(0.2)
        settings = await show(driver, user=user, guild=guild)
    return settings


NOT_SET = "Not set"
TIP_OFF = "Off."


async def wait_for_log(
    emulator: Emulator, bot: BotProcess, text: str, within: float = 10.0
) -> None:
    """The bot has written ``text`` to its log (its listeners log once they are done)."""
    await emulator.wait_until(lambda: bot.logged(text), within=within, what=f"log line {text!r}")


def public_messages(driver: Driver, guild: Guild) -> list[Message]:
    """Every message everyone in the server can see, in any channel."""
    return [m for c in guild.channels.values() for m in driver.messages_in(c)]


# --- what Discord received ------------------------------------------------------------------------


@dataclass
class SentBodies:
    """The JSON bodies of the messages the bot created, keyed by the created message's id."""

    by_message_id: dict[int, dict[str, Any]] = field(default_factory=dict)


def record_message_bodies(emulator: Emulator) -> SentBodies:
    """Keep the request body of every message the bot creates (e.g. its ``allowed_mentions``,
    which the emulator's stored :class:`Message` does not keep)."""
    sent = SentBodies()
    original = emulator.create_message

    def recording(channel: Channel, author: User, body: dict[str, Any], **extra: Any) -> Message:
        message = original(channel, author, body, **extra)
        sent.by_message_id[message.id] = dict(body)
        return message

    emulator.create_message = recording  # type: ignore[method-assign]
    return sent


# --- servers the bot leaves and rejoins ----------------------------------------------------------


async def invite_bot_back(driver: Driver, guild: Guild) -> None:
    """An admin adds the bot to the server again (GUILD_CREATE, as Discord sends on join)."""
    guild.bot_member = True
    await driver.emulator.gateway.dispatch("GUILD_CREATE", guild.to_payload(driver.bot))
    driver.emulator.notify()


async def server_outage(driver: Driver, guild: Guild) -> None:
    """Discord loses the server for a moment: GUILD_DELETE with ``unavailable``, then it is back."""
    gateway = driver.emulator.gateway
    await gateway.dispatch("GUILD_DELETE", {"id": str(guild.id), "unavailable": True})
    await gateway.dispatch("GUILD_CREATE", guild.to_payload(driver.bot))


# --- the bot's clock ------------------------------------------------------------------------------


@dataclass
class ClockedBot:
    """The bot restarted at chosen instants of its faked clock (:func:`start_bot_at`), each
    run ``speed`` times faster than real time, on the same database: how a test skips the
    hours between two daily tips.

    Only the bot's clock is fake; the emulator (and its 3 s interaction deadline) runs on real
    time. Under a fast clock it also asks the bot for heartbeats (see
    :meth:`_keep_gateway_talking`).
    """

    emulator: Emulator
    start_bot: StartBot
    speed: int = 60
    clock: BotClock | None = None
    processes: list[BotProcess] = field(default_factory=list)
    _talker: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start_at(self, start: datetime) -> BotProcess:
        """Stop the running bot (it must exit 0), then start it with its clock at ``start``."""
        for process in self.processes:
            if process.running:
                code = await process.terminate()
                assert code == 0, f"the bot exited with {code} on SIGTERM\n{process.output}"
        self._keep_gateway_talking()
        process, self.clock = await start_bot_at(
            self.start_bot, start.astimezone(UTC), speed=self.speed
        )
        self.processes.append(process)
        return process

    def _started(self) -> BotClock:
        assert self.clock is not None, "start the bot first"
        return self.clock

    def at(self, real_monotonic: float) -> datetime:
        """The bot's time at a real instant (slightly late: the clock starts after the spawn)."""
        return self._started().at(real_monotonic)

    def now(self) -> datetime:
        return self._started().now()

    def local_minutes_ahead(self, zone: str, minutes: float) -> tuple[str, datetime]:
        """A ``HH:MM`` at least ``minutes`` ahead on the bot's clock in ``zone``, and its instant."""
        return self._started().local_minutes_ahead(zone, minutes)

    def _keep_gateway_talking(self) -> None:
        """Ask the bot for a heartbeat (op 1, as Discord may) every 15 s of its time.

        discord.py's heartbeat thread waits with ``sem_clockwait``, which libfaketime 0.9.10
        does not fake, so under a fake clock it never beats on its own; and discord.py drops
        the connection when nothing arrives for 60 s of its time (1 s real at 60x). The
        heartbeat it sends when asked, and the ACK, keep the one connection alive.
        """
        if self._talker is None or self._talker.done():
            self._talker = asyncio.get_running_loop().create_task(self._request_heartbeats())

    async def _request_heartbeats(self) -> None:
        gateway = self.emulator.gateway
        while True:
            await asyncio.sleep(15 / self.speed)
            for connection in gateway.live_connections():
                with contextlib.suppress(Exception):  # a closing socket; the next one is asked
                    await connection.send_op(HEARTBEAT, None)

    async def close(self) -> None:
        if self._talker is not None:
            self._talker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._talker

    async def let_pass(self, seconds: float) -> None:
        """Let ``seconds`` of the bot's time go by (to show that nothing more happens)."""
        await asyncio.sleep(seconds / self.speed)
