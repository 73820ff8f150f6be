"""Logging in with Discord, sessions and the rules every page obeys (CSRF, CSP, cookies)."""

from __future__ import annotations

import logging
import ssl
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.auth import safe_next
from dashboard.sessions import SESSION_LIFETIME
from tests.dashboard.rig import SECRET, client_for, csrf_of, log_in, make_dashboard, post


async def test_login_with_discord_lands_on_my_reminders(client, emulator, alice):
    start = await client.get("/login", allow_redirects=False)
    target = urlsplit(start.headers["Location"])
    params = parse_qs(target.query)
    assert start.headers["Location"].startswith(emulator.authorize_url)
    assert params["scope"] == ["identify guilds"]
    assert params["response_type"] == ["code"]
    assert params["code_challenge_method"] == ["S256"] and params["code_challenge"][0]
    assert len(params["state"][0]) >= 32
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
    done = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert done.headers["Location"] == "/"  # which shows a logged-in member their reminders
    page = await client.get("/reminders")
    assert page.status == 200
    assert "alice" in await page.text()
    assert emulator.oauth.refusals == []  # the code, redirect URI and PKCE verifier all matched


async def test_logins_share_one_tls_context(client, emulator, alice, monkeypatch):
    """Building a TLS context loads the CA bundle (~20 ms of the event loop's CPU): made once,
    not for each of the three HTTP clients of every login."""
    made = []
    real = ssl.create_default_context
    monkeypatch.setattr(
        ssl, "create_default_context", lambda *a, **kw: made.append(1) or real(*a, **kw)
    )
    for _ in range(2):
        start = await client.get("/login", allow_redirects=False)
        back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
        done = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
        assert done.status == 302
    assert len(made) <= 1


async def test_pages_need_a_login(client):
    page = await client.get("/reminders", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/login?next=/reminders"
    assert (await client.get("/")).status == 200


async def test_a_wrong_state_is_refused(client, emulator, alice):
    start = await client.get("/login", allow_redirects=False)
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
    query = parse_qs(back.query)
    forged = await client.get(f"/callback?code={query['code'][0]}&state=forged")
    assert forged.status == 400
    assert "expired or was not started here" in await forged.text()
    assert (await client.get("/reminders", allow_redirects=False)).status == 302  # not logged in


async def test_a_callback_from_another_browser_is_refused(new_client, emulator, alice):
    """An attacker's own code, replayed into a victim's browser (login CSRF), does nothing."""
    attacker, victim = await new_client(), await new_client()
    start = await attacker.get("/login", allow_redirects=False)
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
    await victim.get("/login", allow_redirects=False)
    replay = await victim.get(f"{back.path}?{back.query}")
    assert replay.status == 400
    assert (await victim.get("/reminders", allow_redirects=False)).status == 302


async def test_a_used_callback_cannot_be_replayed(client, emulator, alice):
    start = await client.get("/login", allow_redirects=False)
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
    assert (await client.get(f"{back.path}?{back.query}", allow_redirects=False)).status == 302
    again = await client.get(f"{back.path}?{back.query}", allow_redirects=False)
    assert again.status == 400  # the state was used up with the first callback
    assert (await client.get("/reminders", allow_redirects=False)).status == 200  # still in


async def test_cancelled_login_says_so(client):
    await client.get("/login", allow_redirects=False)
    page = await client.get("/callback?error=access_denied&state=x")
    assert page.status == 400 and "Login cancelled" in await page.text()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/%0d%0aSet-Cookie:x",
        "javascript:alert(1)",
        "/ok\r\nLocation: https://evil.example",
        "/" + "a" * 300,
    ],
)
async def test_no_open_redirect_after_login(client, emulator, alice, target):
    assert await log_in(client, emulator, alice, next_path=target.replace("\r\n", "%0d%0a")) in (
        "/",
        "/%0d%0aSet-Cookie:x",
    )
    assert safe_next(target) in ("/", "/%0d%0aSet-Cookie:x")


async def test_a_local_next_path_is_kept(client, emulator, alice):
    assert await log_in(client, emulator, alice, next_path="/history") == "/history"


async def test_cookie_flags_on_http(client, emulator, alice):
    start = await client.get("/login", allow_redirects=False)
    cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back


async def test_cookie_is_secure_when_the_dashboard_url_is_https(
    emulator, services, guild_config, clock
):
    dashboard = make_dashboard(emulator, services, clock, secure_cookies=True)
    client = await client_for(dashboard)
    try:
        start = await client.get("/login", allow_redirects=False)
        cookie = start.headers["Set-Cookie"]
        assert cookie.startswith("__Host-steady=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        await client.close()


async def test_every_answer_has_the_security_headers(client, emulator, alice):
    for path in ("/", "/login", "/reminders", "/nope"):
        response = await client.get(path, allow_redirects=False)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_pages_have_no_inline_script_or_style_and_nothing_from_elsewhere(
    client, emulator, alice
):
    await log_in(client, emulator, alice)
    for path in ("/", "/reminders", "/history", "/privacy", "/servers"):
        html = await (await client.get(path)).text()
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html
        assert len(html.encode()) < 100_000


async def test_logout_ends_the_session_even_for_a_copied_cookie(new_client, emulator, alice):
    client = await new_client()
    await log_in(client, emulator, alice)
    stolen = {c.key: c.value for c in client.session.cookie_jar}
    response = await post(client, "/logout", {})
    assert response.status == 302
    assert (await client.get("/reminders", allow_redirects=False)).status == 302
    other = await new_client()
    other.session.cookie_jar.update_cookies(stolen)
    assert (await other.get("/reminders", allow_redirects=False)).status == 302


async def test_logout_needs_the_csrf_token(client, emulator, alice):
    await log_in(client, emulator, alice)
    refused = await client.post("/logout", data={}, allow_redirects=False)
    assert refused.status == 403
    assert (await client.get("/reminders", allow_redirects=False)).status == 200


async def test_sessions_expire(client, emulator, alice, clock):
    await log_in(client, emulator, alice)
    clock.advance(SESSION_LIFETIME - 60)
    assert (await client.get("/reminders", allow_redirects=False)).status == 200
    clock.advance(timedelta(minutes=2).total_seconds())
    assert (await client.get("/reminders", allow_redirects=False)).status == 302


async def test_a_tampered_cookie_is_refused(new_client, emulator, alice):
    client = await new_client()
    await log_in(client, emulator, alice)
    cookie = next(iter(client.session.cookie_jar))
    session_id, _, signature = cookie.value.partition(".")
    for forged in (f"{session_id}.{signature[::-1]}", session_id, f"{session_id}.", "x" * 500):
        other = await new_client()
        other.session.cookie_jar.update_cookies({cookie.key: forged})
        assert (await other.get("/reminders", allow_redirects=False)).status == 302
    genuine = await new_client()
    genuine.session.cookie_jar.update_cookies({cookie.key: cookie.value})
    assert (await genuine.get("/reminders", allow_redirects=False)).status == 200


async def test_tokens_and_secrets_never_reach_the_browser_or_the_log(
    client, emulator, alice, caplog
):
    caplog.set_level(logging.DEBUG)
    await log_in(client, emulator, alice)
    tokens = list(emulator.oauth.tokens)
    assert tokens
    pages = "".join([await (await client.get(p)).text() for p in ("/reminders", "/privacy")])
    export = await (await client.get("/privacy/export.json")).text()
    cookies = " ".join(c.value for c in client.session.cookie_jar)
    for secret in [*tokens, emulator.oauth.client_secret, SECRET]:
        assert secret not in pages and secret not in export and secret not in cookies
        assert secret not in caplog.text


async def test_a_login_discord_refuses_says_so(client, emulator, alice):
    emulator.oauth.client_secret = "rotated"  # the dashboard's secret is now wrong
    start = await client.get("/login", allow_redirects=False)
    back = urlsplit(emulator.oauth.approve(start.headers["Location"], alice))
    page = await client.get(f"{back.path}?{back.query}")
    assert page.status == 400 and "Discord did not accept this login" in await page.text()
    assert emulator.oauth.refusals == ["invalid_client: Invalid client"]


async def test_csrf_token_is_per_session(new_client, emulator, alice, bob):
    a, b = await new_client(), await new_client()
    await log_in(a, emulator, alice)
    await log_in(b, emulator, bob)
    assert await csrf_of(a) != await csrf_of(b)
    refused = await post(a, "/settings/timezone", {"zone": "Europe/Berlin"}, csrf=await csrf_of(b))
    assert refused.status == 403
