"""Each hook of bot/discord_internals.py still does what Steady relies on, on the pinned
discord.py. Assigning a class attribute never fails, so each test checks the effect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import discord
import pytest
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Ratelimit, Route

from bot import discord_internals


@pytest.fixture(autouse=True)
def restore_discord_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks write class attributes: give the next test discord.py's own values back."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", discord.VoiceClient.warn_nacl)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", discord.VoiceClient.warn_dave)
    monkeypatch.setattr(
        HTTPClient, "_try_clear_expired_ratelimits", HTTPClient._try_clear_expired_ratelimits
    )


@pytest.fixture
async def local_api() -> AsyncIterator[tuple[str, list[str]]]:
    """A REST endpoint on 127.0.0.1 that answers any GET with a user, recording the paths."""
    paths: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        paths.append(request.path)
        return web.json_response({"id": "1", "username": "steady", "discriminator": "0"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api/v10", paths
    await runner.cleanup()


async def test_rest_base_is_where_the_http_client_sends_requests(local_api) -> None:
    base, paths = local_api
    discord_internals.set_rest_base(base)
    # Checked first so that a discord.py which ignores BASE fails here, not at discord.com.
    assert Route("GET", "/users/@me").url == f"{base}/users/@me"
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login("token")  # GET /users/@me, as Client.login does
    finally:
        await http.close()
    assert paths == ["/api/v10/users/@me"]


class Dialled(Exception):
    pass


async def test_default_gateway_is_what_a_client_dials(monkeypatch: pytest.MonkeyPatch) -> None:
    discord_internals.set_default_gateway("ws://127.0.0.1:9/gateway")
    client = discord.Client(intents=discord.Intents.none())
    dialled: list[str] = []

    async def ws_connect(url: str, **_kwargs: object) -> None:
        dialled.append(url)
        raise Dialled

    monkeypatch.setattr(client.http, "ws_connect", ws_connect)
    try:
        with pytest.raises(Dialled):
            await client.connect(reconnect=False)
    finally:
        await client.close()
    assert len(dialled) == 1 and dialled[0].startswith("ws://127.0.0.1:9/gateway?")


@pytest.mark.parametrize("flag, library", [("warn_nacl", "PyNaCl"), ("warn_dave", "davey")])
async def test_voice_warning_flags_decide_the_start_up_warning(
    flag: str, library: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SteadyBot clears these (it never joins voice) so each start does not warn about voice
    libraries: discord.Client warns at construction exactly when the flag is set."""
    caplog.set_level(logging.WARNING, logger="discord.client")
    setattr(discord.VoiceClient, flag, True)
    discord.Client(intents=discord.Intents.none())
    assert any(library in record.getMessage() for record in caplog.records)
    caplog.clear()
    setattr(discord.VoiceClient, flag, False)
    discord.Client(intents=discord.Intents.none())
    assert not any(library in record.getMessage() for record in caplog.records)


async def test_buckets_are_pruned_when_their_count_doubles_not_at_every_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new channel's request makes a bucket; discord.py checks every bucket for idleness
    each time. After the hook, a burst to 4,000 new channels checks each bucket a few times,
    and the idle ones (5 minutes without a request) are still dropped."""
    checks = 0
    is_inactive = Ratelimit.is_inactive

    def counted(bucket: Ratelimit) -> bool:
        nonlocal checks
        checks += 1
        return is_inactive(bucket)

    monkeypatch.setattr(Ratelimit, "is_inactive", counted)
    discord_internals.prune_buckets_when_doubled()
    http = HTTPClient(asyncio.get_running_loop())
    try:
        for channel in range(4000):
            http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{channel}")
        assert len(http._buckets) == 4000
        assert checks < 3 * 4000  # discord.py's own: ~7.5 million (every bucket, every time)

        for bucket in http._buckets.values():  # all idle for 5 minutes now
            bucket._last_request -= 301
        for channel in range(4000, 8000):
            http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{channel}")
        # The idle ones went, the new ones stay.
        assert set(http._buckets) == {
            f"POST /channels/{{channel_id}}/messages:{channel}" for channel in range(4000, 8000)
        }
    finally:
        await http.close()
