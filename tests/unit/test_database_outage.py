"""PostgreSQL going away under a running bot: every error is "unavailable", nothing is lost.

A fast shutdown (``pg_ctl -m fast``, what a restart or a failover does) sends every client a
FATAL "terminating connection due to administrator command" (57P01), then hangs up. For an
idle pooled connection the two arrive apart: asyncpg reads the goodbye, and until it reads
the hang-up the connection looks open while it refuses every statement with an
``InternalClientError``. Under load that window is long enough for a sender to step in;
it once marked a reminder ``failed`` in the middle of a restart (the e2e restart test).

:class:`Relay` sits between the pool and the throwaway PostgreSQL and holds that window
open for as long as a test needs: ``goodbye()`` delivers the FATAL message and cuts the
traffic, ``back()`` hangs up those connections and lets new ones through.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
import pytest

from domain.enums import DeliveryState
from domain.errors import DatabaseUnavailable
from services.engine.sender import DeliveryResult
from storage.database import Database
from storage.postgres import PostgresDatabase, _unavailable_as_one_error
from tests.reminder_rig import GUILD, REMINDER_CHANNEL, USER, FakeDiscord, due_rig, rows


def _error_response(severity: str, code: str, message: str) -> bytes:
    """A PostgreSQL ErrorResponse message ('E', length, typed null-terminated fields)."""
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in ((b"S", severity), (b"V", severity), (b"C", code), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


ADMIN_SHUTDOWN = _error_response(
    "FATAL", "57P01", "terminating connection due to administrator command"
)


@dataclass
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    cut: bool = False


@dataclass
class Relay:
    """A TCP relay in front of PostgreSQL that can say the server's goodbye and hold back
    the hang-up (see the module docstring)."""

    host: str
    port: int
    up: bool = True
    links: list[_Link] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:  # the server is down: nobody answers
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        link = _Link(writer, upstream_writer)
        self.links.append(link)
        await asyncio.gather(
            self._pump(reader, upstream_writer, link),
            self._pump(upstream_reader, writer, link),
            return_exceptions=True,
        )

    @staticmethod
    async def _pump(source: asyncio.StreamReader, to: asyncio.StreamWriter, link: _Link) -> None:
        try:
            while data := await source.read(65536):
                if not link.cut:
                    to.write(data)
                    await to.drain()
        finally:
            to.close()

    async def goodbye(self) -> None:
        """The server shuts down: every open connection gets the FATAL message, nothing else
        gets through, new connections are refused. Returns once the pool has read it."""
        self.up = False
        for link in self.links:
            link.cut = True
            link.client.write(ADMIN_SHUTDOWN)
            await link.client.drain()
        await asyncio.sleep(0.1)  # real sockets: the pool's reader runs on the next loop turns

    def back(self) -> None:
        """The hang-ups arrive and the server accepts connections again."""
        for link in self.links:
            link.client.close()
            link.server.close()
        self.links.clear()
        self.up = True

    async def close(self) -> None:
        self.back()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def relay(postgres_url: str) -> AsyncIterator[tuple[Relay, str]]:
    """A relay in front of the test database, and the URL that goes through it."""
    parts = urlsplit(postgres_url)
    assert parts.hostname and parts.port
    relay = Relay(parts.hostname, parts.port)
    port = await relay.start()
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    yield relay, parts._replace(netloc=netloc).geturl()
    await relay.close()


async def _open(url: str) -> Database:
    """The bot's own pool: warm, every connection open and idle."""
    db = await PostgresDatabase.connect(url, max_size=3, warm=True)
    await db.migrate()
    return db


async def test_a_goodbye_before_the_hang_up_is_unavailable_then_heals(relay):
    proxy, url = relay
    db = await _open(url)
    try:
        await proxy.goodbye()
        for attempt in range(5):  # every connection of the pool, then refused new ones
            with pytest.raises(DatabaseUnavailable):
                await db.fetchval("SELECT ?::int", (attempt,))
        with pytest.raises(DatabaseUnavailable):
            async with db.transaction() as tx:
                await tx.execute("UPDATE bot_state SET value = 'during'")
        proxy.back()
        assert await db.fetchval("SELECT ?::int", (7,)) == 7  # the pool reconnected
    finally:
        await db.close()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released"),
        asyncpg.exceptions.InternalClientError("unknown error in protocol implementation"),
    ],
)
def test_other_client_errors_stay_errors(error: Exception) -> None:
    """Only "the connection is gone" is an outage: a misuse or an asyncpg bug retried as
    one would hold reminders forever instead of failing where it can be seen."""
    with pytest.raises(type(error)), _unavailable_as_one_error():
        raise error


async def test_a_restart_between_send_and_record_resends_once_never_fails(relay):
    """The server says goodbye right after Discord accepted a reminder, before the ledger
    recorded it: that reminder waits for the database, is sent again with its nonce
    (Discord answers with the first message) and recorded ``sent``; nothing is ``failed``."""
    proxy, url = relay

    class GoodbyeAfterFirstSend(FakeDiscord):
        async def send_message(self, channel_id: int, payload: dict, nonce: str) -> int:
            message_id = await super().send_message(channel_id, payload, nonce)
            if len(self.messages) == 1 and proxy.up:
                await proxy.goodbye()
            return message_id

    discord = GoodbyeAfterFirstSend()
    users = range(10, 15)
    db = await _open(url)
    rig = await due_rig(db, discord, users=users, workers=1)
    waits: list[float] = []

    async def database_back(seconds: float) -> None:  # the sender's wait before a retry
        waits.append(seconds)
        proxy.back()

    rig.sender.sleep = database_back
    try:
        await rig.dispatcher.start()
        queued = list(rig.sender._futures.values())
        await rig.sender.start()
        results: list[DeliveryResult] = await asyncio.wait_for(asyncio.gather(*queued), 30)
    finally:
        await rig.sender.stop()
        await rig.dispatcher.stop()
    try:
        assert [r.state for r in results] == [DeliveryState.SENT] * 5
        # It waited for the database (again while connections still read their hang-ups).
        assert waits and set(waits) == {rig.sender.database_retry_s}
        channels = sorted(m.channel_id for m in discord.messages)
        assert channels == [FakeDiscord.dm_channel_of(u) for u in users], "one each"
        assert [r for r, _ in discord.requests].count("send") > 5, "the first was sent again"
        assert await rows(db, "SELECT state, count(*) FROM deliveries GROUP BY 1") == [("sent", 5)]
    finally:
        await db.close()


async def test_a_server_channel_unreadable_in_an_outage_waits_not_a_dm(db):
    """A member who chose the server's reminder channel: while the database cannot say
    which channel that is, the reminder waits rather than going to their DMs."""
    rig = await due_rig(db, workers=1)
    await rig.member_settings.set_delivery(USER, "server", GUILD)
    read = rig.guild_config.reminder_channel
    outages = [DatabaseUnavailable("PostgreSQL connection lost")]

    async def reminder_channel(guild_id: int) -> int | None:
        if outages:
            raise outages.pop()
        return await read(guild_id)

    rig.guild_config.reminder_channel = reminder_channel  # type: ignore[method-assign]
    await rig.dispatcher.start()
    queued = list(rig.sender._futures.values())
    await rig.sender.start()
    try:
        [result] = await asyncio.wait_for(asyncio.gather(*queued), 10)
    finally:
        await rig.sender.stop()
    assert (result.state, result.channel_id) == ("sent", REMINDER_CHANNEL)
    assert [m.channel_id for m in rig.discord.messages] == [REMINDER_CHANNEL]
