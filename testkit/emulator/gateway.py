"""Discord's Gateway v10 over an aiohttp websocket.

What a client sees: HELLO, then IDENTIFY -> READY + one GUILD_CREATE per guild, heartbeats
answered with ACKs, dispatches numbered by ``s``; RESUME replays what was sent after the
client's last sequence number (events dispatched while it was away are kept, as Discord
does).

Sharding as Discord does it: IDENTIFY may carry ``shard: [shard_id, shard_count]`` (checked:
4010 Invalid shard; 4011 Sharding required when one shard would hold more than
``max_guilds_per_shard`` servers). A session then gets only its own servers' events, server
``g`` going to shard ``(g >> 22) % shard_count``; events without a server (DMs, DM
interactions) go to shard 0 only. IDENTIFYs are limited per rate-limit key
``shard_id % max_concurrency`` to one every 5 s when ``enforce_identify_rate`` is on (too fast:
op 9, recorded in ``identify_rate_violations``). Transport compression is ``zlib-stream``: one zlib context per connection, each
message ending in a ``Z_SYNC_FLUSH`` marker, which is what discord.py's decompressor expects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from testkit.emulator.server import Emulator

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

GUILDS_INTENT = 1 << 0
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12
# GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT need approval in the developer portal.
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
ALL_INTENTS = (1 << 26) - 1

# Which intent an event needs; events not listed are always sent (READY, INTERACTION_CREATE).
EVENT_INTENTS = {
    "GUILD_CREATE": GUILDS_INTENT,
    "GUILD_UPDATE": GUILDS_INTENT,
    "GUILD_DELETE": GUILDS_INTENT,
    "CHANNEL_CREATE": GUILDS_INTENT,
    "CHANNEL_UPDATE": GUILDS_INTENT,
    "CHANNEL_DELETE": GUILDS_INTENT,
    "GUILD_ROLE_UPDATE": GUILDS_INTENT,
}
REPLAY_BUFFER = 5000
# Discord: each identify rate-limit key allows one IDENTIFY per 5 seconds.
IDENTIFY_SPACING_S = 5.0
# Discord requires sharding past 2,500 servers per connection.
MAX_GUILDS_PER_SHARD = 2500


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def guild_of_event(event: str, data: Any) -> int | None:
    """The server an event belongs to, which decides its shard; ``None`` for DMs."""
    key = "id" if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else "guild_id"
    raw = data.get(key) if isinstance(data, dict) else None
    return int(raw) if raw else None


@dataclass
class Session:
    """A gateway session; it outlives its connection so that RESUME can pick it up."""

    id: str
    intents: int
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    connection: Connection | None = None
    identify: dict[str, Any] = field(default_factory=dict)
    shard_id: int = 0
    shard_count: int = 1

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets events of ``guild_id`` (``None``: a DM)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.shard_count) == self.shard_id


class Connection:
    """One websocket; owns the zlib-stream context, which lives exactly as long as it does."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.session: Session | None = None
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._send_lock = asyncio.Lock()

    async def send(self, text: str) -> None:
        if self.ws.closed:
            return
        async with self._send_lock:
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionResetError, RuntimeError):
                pass  # the client went away; RESUME will replay from the buffer

    async def send_op(self, op: int, d: Any) -> None:
        await self.send(json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def close(self, code: int, message: str = "") -> None:
        await self.ws.close(code=code, message=message.encode())


class Gateway:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.heartbeat_interval_ms = 41_250
        self.identifies = 0
        self.resumes = 0
        self.ready_sent = 0
        self.heartbeats = 0
        self.close_codes: list[int | None] = []
        self.refused_compression: list[str] = []
        #: ``compress`` query of every connection, e.g. ["zlib-stream", "zlib-stream"].
        self.compressions: list[str | None] = []
        #: What ``GET /gateway/bot`` announces; ``None``: one shard per 1,000 servers.
        self.recommended_shards: int | None = None
        self.max_concurrency = 1
        self.max_guilds_per_shard = MAX_GUILDS_PER_SHARD
        #: Off by default: tests restart bots faster than Discord would allow.
        self.enforce_identify_rate = False
        #: (monotonic time, shard id, shard count) of every accepted IDENTIFY.
        self.identify_log: list[tuple[float, int, int]] = []
        self.identify_rate_violations: list[tuple[int, float]] = []
        #: Seconds between one GUILD_CREATE after READY and the next (servers streaming in).
        self.guild_create_gap = 0.0
        #: GUILD_CREATEs sent after READY, all sessions together.
        self.guild_creates_sent = 0
        # Cleared by :meth:`hold`: new connections wait before HELLO (an outage window).
        self._open = asyncio.Event()
        self._open.set()

    # --- the websocket endpoint --------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # Discord uses no permessage-deflate (compression is zlib-stream); close quickly.
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0, compress=False, timeout=2.0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        self.compressions.append(compress)
        connection = Connection(ws, compress)
        self.connections.append(connection)
        try:
            await self._open.wait()
            if request.query.get("v") not in (None, "10"):
                await connection.close(4012, "Invalid API version")
                return ws
            if request.query.get("encoding", "json") != "json":
                await connection.close(4002, "Decode error")
                return ws
            if compress not in (None, "zlib-stream"):
                # zstd-stream is what discord.py picks when `zstandard` is installed;
                # only zlib-stream is emulated, so say so loudly instead of garbling.
                self.refused_compression.append(compress)
                self.emu.notify()
                await connection.close(4000, f"emulator does not implement compress={compress}")
                return ws
            await connection.send_op(HELLO, {"heartbeat_interval": self.heartbeat_interval_ms})
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.BINARY:
                        await connection.close(4002, "Decode error")
                    break
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    await connection.close(4002, "Decode error")
                    break
                await self._on_payload(connection, payload)
        finally:
            self.close_codes.append(ws.close_code)
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            if connection in self.connections:
                self.connections.remove(connection)
            self.emu.notify()
        return ws

    async def _on_payload(self, connection: Connection, payload: dict[str, Any]) -> None:
        op, d = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            self.heartbeats += 1
            await connection.send_op(HEARTBEAT_ACK, None)
        elif op == IDENTIFY:
            await self._identify(connection, d or {})
        elif op == RESUME:
            await self._resume(connection, d or {})
        elif connection.session is None:
            await connection.close(4003, "Not authenticated")
        elif op in (PRESENCE_UPDATE, VOICE_STATE, REQUEST_MEMBERS):
            pass  # accepted; nothing in the emulated world depends on them
        else:
            await connection.close(4001, "Unknown opcode")

    async def _identify(self, connection: Connection, d: dict[str, Any]) -> None:
        world = self.emu.world
        if connection.session is not None:
            await connection.close(4005, "Already authenticated")
            return
        if d.get("token") != world.token:
            await connection.close(4004, "Authentication failed")
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents & ~ALL_INTENTS:
            await connection.close(4013, "Invalid intent(s)")
            return
        if intents & PRIVILEGED_INTENTS & ~world.privileged_intents_enabled:
            await connection.close(4014, "Disallowed intent(s)")
            return
        shard = d.get("shard", [0, 1])
        if not _valid_shard(shard):
            await connection.close(4010, "Invalid shard")
            return
        shard_id, shard_count = shard
        guilds = [g for g in world.visible_guilds() if shard_of(g.id, shard_count) == shard_id]
        if len(guilds) > self.max_guilds_per_shard:
            await connection.close(4011, "Sharding required")
            return
        if self._identify_too_soon(shard_id):
            await connection.send_op(INVALID_SESSION, False)
            return
        self.identifies += 1
        self.identify_log.append((time.monotonic(), shard_id, shard_count))
        session = Session(
            id=secrets.token_hex(16),
            intents=intents,
            identify=d,
            shard_id=shard_id,
            shard_count=shard_count,
        )
        self.sessions[session.id] = session
        connection.session = session
        session.connection = connection
        ready = {
            "v": 10,
            "user": {**world.bot.to_payload(), "verified": True, "mfa_enabled": False},
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.emu.gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "application": {"id": str(world.application_id), "flags": 0},
            "_trace": ['["emulator-gateway",{"micros":1}]'],
        }
        if "shard" in d:
            ready["shard"] = d["shard"]
        await self._dispatch_to(session, "READY", ready)
        self.ready_sent += 1
        for i, guild in enumerate(guilds):
            if i and self.guild_create_gap:
                await asyncio.sleep(self.guild_create_gap)
            await self._dispatch_to(session, "GUILD_CREATE", guild.to_payload(world.bot))
            self.guild_creates_sent += 1
            self.emu.notify()
        self.emu.notify()

    def _identify_too_soon(self, shard_id: int) -> bool:
        """Discord's identify rate limit, per key ``shard_id % max_concurrency``; recorded."""
        now = time.monotonic()
        key = shard_id % self.max_concurrency
        last = max(
            (t for t, sid, _ in self.identify_log if sid % self.max_concurrency == key),
            default=None,
        )
        if last is None or now - last >= IDENTIFY_SPACING_S:
            return False
        self.identify_rate_violations.append((shard_id, now - last))
        self.emu.notify()
        return self.enforce_identify_rate

    def shards_for(self, guild_count: int) -> int:
        """``shards`` of ``GET /gateway/bot``."""
        if self.recommended_shards is not None:
            return self.recommended_shards
        # Discord advises one shard per 1,000 servers; never fewer than it would require.
        return max(1, -(-guild_count // 1000), -(-guild_count // self.max_guilds_per_shard))

    async def _resume(self, connection: Connection, d: dict[str, Any]) -> None:
        session = self.sessions.get(d.get("session_id") or "")
        seq = d.get("seq")
        if (
            session is None
            or d.get("token") != self.emu.world.token
            or not isinstance(seq, int)
            or seq > session.seq
            or (session.buffer and seq < session.buffer[0][0] - 1)
        ):
            await connection.send_op(INVALID_SESSION, False)
            return
        if session.connection is not None and session.connection is not connection:
            await session.connection.close(4009, "Session taken over")
        connection.session = session
        session.connection = connection
        self.resumes += 1
        for event_seq, text in list(session.buffer):
            if event_seq > seq:
                await connection.send(text)
        await self._dispatch_to(session, "RESUMED", {"_trace": []})
        self.emu.notify()

    # --- sending -----------------------------------------------------------------------------

    async def _dispatch_to(self, session: Session, event: str, data: Any) -> None:
        session.seq += 1
        text = json.dumps({"op": DISPATCH, "s": session.seq, "t": event, "d": data})
        session.buffer.append((session.seq, text))
        if session.connection is not None:
            await session.connection.send(text)

    def sessions_for(self, guild_id: int | None, intent: int = 0) -> list[Session]:
        """Sessions that get an event of ``guild_id`` (``None``: a DM) needing ``intent``."""
        return [
            session
            for session in self.sessions.values()
            if session.receives(guild_id) and (not intent or session.intents & intent)
        ]

    async def dispatch(self, event: str, data: Any) -> int:
        """Send an event to every session of its shard whose intents cover it; return how many."""
        targets = self.sessions_for(guild_of_event(event, data), EVENT_INTENTS.get(event, 0))
        for session in targets:
            await self._dispatch_to(session, event, data)
        return len(targets)

    # --- faults on demand --------------------------------------------------------------------

    def live_connections(self) -> list[Connection]:
        return [c for c in self.connections if c.session is not None and not c.ws.closed]

    def connected_for(self, guild_id: int | None) -> bool:
        """Whether the shard that gets ``guild_id``'s events (``None``: DMs) is connected."""
        return any(c.session.receives(guild_id) for c in self.live_connections() if c.session)

    async def request_reconnect(self) -> None:
        """Op 7: Discord asks the client to reconnect and RESUME."""
        for connection in self.live_connections():
            await connection.send_op(RECONNECT, None)

    async def close_connections(self, code: int = 4000, message: str = "") -> None:
        """Close every client socket with ``code``; sessions stay resumable."""
        for connection in list(self.connections):
            await connection.close(code, message)

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Op 9: the session is gone (``resumable=False``) and the client must IDENTIFY."""
        for connection in self.live_connections():
            if not resumable and connection.session is not None:
                self.sessions.pop(connection.session.id, None)
            await connection.send_op(INVALID_SESSION, resumable)

    def hold(self) -> None:
        """Keep new connections waiting before HELLO, so events queue up for a RESUME."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def close(self) -> None:
        self._open.set()
        await self.close_connections(1001, "emulator shutting down")
        self.sessions.clear()


def _valid_shard(shard: Any) -> bool:
    return (
        isinstance(shard, list)
        and len(shard) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
        and shard[1] >= 1
        and 0 <= shard[0] < shard[1]
    )
