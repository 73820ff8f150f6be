"""The emulator's "Log in with Discord": what Discord's OAuth2 refuses, it refuses."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from testkit.emulator import Driver, Emulator
from testkit.emulator import permissions as perms

REDIRECT = "http://app.test/callback"
VERIFIER = "v" * 64


def authorize_url(emulator: Emulator, **overrides: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    params = {
        "client_id": str(emulator.world.application_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "identify guilds",
        "state": "s1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **overrides,
    }
    return f"{emulator.authorize_url}?{urlencode(params)}"


async def token(emulator: Emulator, code: str, **overrides: str) -> tuple[int, dict]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": str(emulator.world.application_id),
        "client_secret": emulator.oauth.client_secret,
        **overrides,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emulator.api_base}/oauth2/token", data=form) as response,
    ):
        return response.status, await response.json()


def code_for(emulator: Emulator, user, **overrides: str) -> str:
    back = urlsplit(emulator.oauth.approve(authorize_url(emulator, **overrides), user))
    query = parse_qs(back.query)
    assert query["state"] == [overrides.get("state", "s1")]
    return query["code"][0]


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.oauth.redirect_uris = [REDIRECT]
    return emulator


async def test_code_token_and_the_members_own_calls(emu: Emulator, driver: Driver):
    alice = driver.add_user("alice")
    guild = driver.add_guild("Calm", owner=alice)
    member_of = driver.add_guild("Other", members=[alice])
    status, body = await token(emu, code_for(emu, alice))
    assert status == 200 and body["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{emu.api_base}/users/@me") as me:
            assert (await me.json())["id"] == str(alice.id)
        async with http.get(f"{emu.api_base}/users/@me/guilds") as guilds:
            listed = {g["id"]: g for g in await guilds.json()}
    assert listed[str(guild.id)]["owner"] is True
    assert int(listed[str(guild.id)]["permissions"]) & perms.MANAGE_GUILD
    assert not int(listed[str(member_of.id)]["permissions"]) & perms.MANAGE_GUILD


async def test_what_the_token_endpoint_refuses(emu: Emulator, driver: Driver):
    alice = driver.add_user("alice")
    assert (await token(emu, code_for(emu, alice), code_verifier="w" * 64))[0] == 400
    code = code_for(emu, alice)
    assert (await token(emu, code, redirect_uri="http://other.test/cb"))[0] == 400
    assert (await token(emu, code))[0] == 400  # a code works once, even after a refusal
    assert (await token(emu, code_for(emu, alice), client_secret="nope"))[0] == 401
    assert emu.oauth.refusals == [
        "invalid_grant: Invalid code verifier",
        'invalid_grant: Invalid "redirect_uri" in request.',
        'invalid_grant: Invalid "code" in request.',
        "invalid_client: Invalid client",
    ]


async def test_what_the_authorize_page_refuses(emu: Emulator, driver: Driver):
    alice = driver.add_user("alice")
    for bad in (
        {"redirect_uri": "http://evil.test/cb"},
        {"client_id": "123"},
        {"response_type": "token"},
        {"scope": "identify bot admin"},
        {"code_challenge_method": "plain"},
    ):
        with pytest.raises(AssertionError, match="Discord would refuse"):
            emu.oauth.approve(authorize_url(emu, **bad), alice)
    async with (
        aiohttp.ClientSession() as http,
        http.get(authorize_url(emu, redirect_uri="http://evil.test/cb")) as page,
    ):
        assert page.status == 400 and "Invalid OAuth2 redirect_uri" in await page.text()
