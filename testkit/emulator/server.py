"""The emulator as one object: the world, REST app, gateway, limits, faults and records.

It runs inside the test process's event loop on ``127.0.0.1`` with a free port; the bot under
test is a separate process pointed at :attr:`Emulator.api_base` and :attr:`gateway_url`.
Every change to the world calls :meth:`notify`, so tests wait on conditions, never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testkit.emulator import interactions as ix
from testkit.emulator import oauth
from testkit.emulator.errors import FieldError
from testkit.emulator.faults import Faults
from testkit.emulator.gateway import DIRECT_MESSAGES_INTENT, GUILD_MESSAGES_INTENT, Gateway
from testkit.emulator.ratelimit import RateLimiter
from testkit.emulator.rest import API_PREFIX, EMULATOR, add_routes, discord_middleware
from testkit.emulator.state import Channel, Message, User, World, iso_now, snowflake
from testkit.emulator.validation import Rejection

DEFAULT_TOKEN = "MTEmulatorBotToken.steady.e2e"


@dataclass
class Stats:
    """Counters a test can assert on (requests, 429s, sends over time, syncs)."""

    requests: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    global_rate_limited: int = 0
    unauthorized: int = 0
    nonce_dedupes: int = 0
    dm_channel_creates: int = 0
    #: (monotonic time, channel id) of every message the bot created via POST .../messages.
    sends: list[tuple[float, int]] = field(default_factory=list)
    #: Monotonic time of every request authorised by the bot token (what Discord's global
    #: limit counts: not interaction callbacks or follow-ups), refused ones included.
    token_requests: list[float] = field(default_factory=list)
    #: Of those, how many got a 429 (global or their route's).
    token_rate_limited: int = 0
    #: "global" or a guild id, one entry per bulk overwrite (PUT) of commands.
    command_syncs: list[str] = field(default_factory=list)

    def count_request(self, method: str, template: str) -> None:
        self.requests += 1
        self.by_route[f"{method} {template}"] += 1

    def record_send(self, channel_id: int) -> None:
        self.sends.append((time.monotonic(), channel_id))

    def max_sends_per_second(self, window: float = 1.0) -> int:
        """The most messages created in any ``window``-second span."""
        return most_in_any_window([t for t, _ in self.sends], window)

    def max_token_requests_per_second(self, since: float = 0.0, window: float = 1.0) -> int:
        """The most requests of the bot's token in one second after ``since``, counted as
        Discord counts them: fixed one-second windows, each opened by the first request
        after the previous one closed."""
        most = count = 0
        closes = float("-inf")
        for moment in sorted(t for t in self.token_requests if t >= since):
            if moment >= closes:
                closes, count = moment + window, 0
            count += 1
            most = max(most, count)
        return most


def most_in_any_window(moments: list[float], window: float) -> int:
    """The most of ``moments`` that fall in any span of ``window`` seconds."""
    times = sorted(moments)
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class Emulator:
    def __init__(self, *, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1") -> None:
        self.world = World(token=token)
        self.host = host
        self.port = 0
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.stats = Stats()
        self.gateway = Gateway(self)
        self.oauth = oauth.OAuth(self)
        self.rejections: list[Rejection] = []
        self.unknown_routes: list[str] = []
        self.interactions: dict[int, ix.InteractionRecord] = {}
        self.interactions_by_token: dict[str, ix.InteractionRecord] = {}
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        #: Discord's limit for the first response to an interaction.
        self.interaction_deadline = 3.0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> Emulator:
        app = web.Application(middlewares=[discord_middleware], client_max_size=32 * 1024**2)
        app[EMULATOR] = self
        add_routes(app)
        oauth.add_routes(app, self.oauth, API_PREFIX)
        app.router.add_get("/gateway", self.gateway.handle)
        # A short shutdown: a stuck connection must not hold a test for aiohttp's default 60 s.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``DISCORD_API_BASE`` should be."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def authorize_url(self) -> str:
        """What ``DISCORD_AUTHORIZE_URL`` should be: the "Log in with Discord" page."""
        return f"{self.base_url}{oauth.AUTHORIZE_PATH}"

    @property
    def gateway_url(self) -> str:
        """What ``GET /gateway/bot`` returns and READY's ``resume_gateway_url`` points at."""
        return f"ws://{self.host}:{self.port}/gateway"

    # --- waiting -----------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake every :meth:`wait_until`; called after each change."""
        self._changed.set()

    async def wait_until(
        self, predicate: Callable[[], Any], *, within: float = 10.0, what: str = "condition"
    ) -> Any:
        """Return ``predicate()`` once it is truthy; fail the test after ``within`` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {within:.1f}s waiting for {what}")
            self._changed.clear()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns instead of raising
            # when its caller is cancelled just as the event is set, so a cancelled waiter
            # (a test's background task) could carry on for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.25)):
                    await self._changed.wait()

    # --- helpers for the routes ----------------------------------------------------------------

    def token_of(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header == f"Bot {self.world.token}":
            return self.world.token
        return None

    def record_rejection(self, method: str, path: str, body: Any, errors: list[FieldError]) -> None:
        self.rejections.append(Rejection(method, path, body, tuple(errors)))
        self.notify()

    def create_message(
        self, channel: Channel, author: User, body: dict[str, Any], **extra: Any
    ) -> Message:
        message = Message(
            id=snowflake(),
            channel_id=channel.id,
            author=author,
            content=body.get("content") or "",
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            flags=int(body.get("flags") or 0),
            guild_id=channel.guild_id,
            nonce=body.get("nonce"),
            **extra,
        )
        self.world.messages[message.id] = message
        if not message.ephemeral:
            channel.last_message_id = message.id
            asyncio.get_running_loop().create_task(self._dispatch_message_create(channel, message))
        self.notify()
        return message

    async def _dispatch_message_create(self, channel: Channel, message: Message) -> None:
        payload = message.to_payload()
        if channel.is_dm:
            intent = DIRECT_MESSAGES_INTENT
        else:
            intent = GUILD_MESSAGES_INTENT
            guild = self.world.guild_of(channel)
            if guild and message.author.id in guild.members:
                payload["member"] = guild.members[message.author.id].to_payload(with_user=False)
        for session in self.gateway.sessions_for(channel.guild_id, intent):
            await self.gateway._dispatch_to(session, "MESSAGE_CREATE", payload)

    def edit_message(self, message: Message, body: dict[str, Any]) -> None:
        """PATCH semantics: only the fields present change; a deferred reply stops loading."""
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS may change on edit; ephemeral stays what it was.
            message.flags = (message.flags & Message.EPHEMERAL) | (
                int(body["flags"]) & ~Message.EPHEMERAL & ~Message.LOADING
            )
        if message.loading:
            message.flags &= ~Message.LOADING
        else:
            message.edited_timestamp = iso_now()
        self.notify()

    # --- interactions --------------------------------------------------------------------------

    def register_interaction(self, record: ix.InteractionRecord) -> None:
        self.interactions[record.id] = record
        self.interactions_by_token[record.token] = record

    def _response_message(
        self, record: ix.InteractionRecord, data: dict[str, Any], *, loading: bool
    ) -> Message:
        flags = int(data.get("flags") or 0) & Message.EPHEMERAL
        if loading:
            flags |= Message.LOADING
        message = self.create_message(
            record.channel,
            self.world.bot,
            {**data, "flags": flags, "nonce": None},
            type=20 if record.type == ix.APPLICATION_COMMAND else 0,
            webhook_id=self.world.application_id,
            application_id=self.world.application_id,
            visible_to=record.user.id if flags & Message.EPHEMERAL else None,
        )
        message.interaction_metadata = ix.interaction_metadata(record)
        return message

    def apply_callback(self, record: ix.InteractionRecord, kind: int, data: dict[str, Any]) -> None:
        record.callback_type = kind
        record.callback_at = time.monotonic()
        if kind == ix.CHANNEL_MESSAGE:
            record.original = self._response_message(record, data, loading=False)
        elif kind == ix.DEFERRED_CHANNEL_MESSAGE:
            record.original = self._response_message(record, data, loading=True)
        elif kind in (ix.DEFERRED_UPDATE_MESSAGE, ix.UPDATE_MESSAGE):
            clicked = record.payload.get("message")
            record.original = self.world.messages.get(int(clicked["id"])) if clicked else None
            if kind == ix.UPDATE_MESSAGE and record.original is not None:
                self.edit_message(record.original, data)
        elif kind == ix.AUTOCOMPLETE_RESULT:
            record.choices = list(data.get("choices") or [])
        elif kind == ix.MODAL:
            record.modal = data
        self.notify()

    def callback_response(self, record: ix.InteractionRecord) -> dict[str, Any]:
        """The body of ``?with_response=1``: the interaction and the resource it created."""
        message = record.original
        interaction: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "response_message_id": str(message.id) if message else None,
            "response_message_loading": bool(message and message.loading),
            "response_message_ephemeral": bool(message and message.ephemeral),
        }
        body: dict[str, Any] = {"interaction": interaction}
        if message is not None and record.callback_type != ix.DEFERRED_UPDATE_MESSAGE:
            body["resource"] = {"type": record.callback_type, "message": message.to_payload()}
        elif record.callback_type is not None:
            body["resource"] = {"type": record.callback_type}
        return body

    def add_followup(self, record: ix.InteractionRecord, body: dict[str, Any]) -> Message:
        """A followup; the first one after a deferral fills in the "thinking…" message."""
        original = record.original
        if (
            record.callback_type == ix.DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
        ):
            self.edit_message(original, {k: v for k, v in body.items() if k != "flags"})
            record.followups.append(original)
            return original
        flags = int(body.get("flags") or 0)
        message = self.create_message(
            record.channel,
            self.world.bot,
            {**body, "flags": flags & Message.EPHEMERAL},
            type=0,
            webhook_id=self.world.application_id,
            application_id=self.world.application_id,
            visible_to=record.user.id if flags & Message.EPHEMERAL else None,
        )
        record.followups.append(message)
        self.notify()
        return message
