"""Sessions in the database (services/web_sessions.py over storage/dashboard_sessions.py), on
both backends: what two replicas sharing one database see, what the row keeps at rest."""

from __future__ import annotations

import asyncio

import pytest

from bot import backup as cli
from services.privacy import Privacy
from services.web_sessions import (
    LOGIN_LIFETIME,
    SESSION_LIFETIME,
    PartialGuild,
    SessionStore,
    id_hash,
)
from storage import dashboard_sessions
from storage.backup import take_backup
from storage.database import Database

SECRET = "unit-test-dashboard-secret-" + "y" * 32
TOKEN = "discord-access-token-abc123"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/steady.sqlite3"
    return request.getfixturevalue("postgres_url")


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def logged_in(store: SessionStore, user_id: int = 42, username: str = "alice") -> str:
    pending = await store.new(next_path="/servers")
    pending.login_state, pending.code_verifier = "state-1", "verifier-1"
    await store.begin_login(pending)
    session = await store.log_in(
        pending,
        user_id=user_id,
        username=username,
        access_token=TOKEN,
        guilds=[PartialGuild(7, "Seven", 1 << 5, owner=False)],
    )
    return store.cookie_value(session)


async def test_a_session_is_seen_by_every_replica_and_ended_everywhere(db: Database) -> None:
    wall = Wall()
    a, b = SessionStore(db, SECRET, clock=wall), SessionStore(db, SECRET, clock=wall)
    cookie = await logged_in(a)
    at_b = await b.from_cookie(cookie)
    assert at_b is not None and at_b.user_id == 42 and at_b.username == "alice"
    assert at_b.access_token == TOKEN and at_b.next_path == "/servers"
    assert at_b.guilds == [PartialGuild(7, "Seven", 1 << 5, owner=False)]
    # A restarted replica (a new store on the same database) still knows it.
    assert await SessionStore(db, SECRET, clock=wall).from_cookie(cookie) is not None
    await b.end(at_b)
    assert await a.from_cookie(cookie) is None


async def test_the_access_token_is_encrypted_at_rest_and_the_id_hashed(db: Database) -> None:
    store = SessionStore(db, SECRET, clock=Wall())
    cookie = await logged_in(store)
    session_id = cookie.partition(".")[0]
    assert await dashboard_sessions.get(db, session_id, 0) is None  # not keyed by the id itself
    row = await dashboard_sessions.get(db, id_hash(session_id), 0)
    assert row is not None and row.access_token is not None
    assert TOKEN not in row.access_token and row.access_token.startswith("gAAAA")  # Fernet
    # Another secret cannot read it: the cookie is refused and the row dropped.
    other = SessionStore(db, "another-secret-" + "z" * 40, clock=Wall())
    assert await other.from_cookie(cookie) is None


async def test_a_changed_secret_cannot_decrypt_a_stolen_row(db: Database) -> None:
    wall = Wall()
    store = SessionStore(db, SECRET, clock=wall)
    cookie = await logged_in(store)
    session_id = cookie.partition(".")[0]
    other = SessionStore(db, "another-secret-" + "z" * 40, clock=wall)
    # Even with a correctly signed cookie for the other secret, the token does not decrypt.
    forged = f"{session_id}.{other._signature(session_id)}"
    assert await other.from_cookie(forged) is None
    assert await dashboard_sessions.get(db, id_hash(session_id), wall()) is None


async def test_tampered_or_unsigned_cookies_are_refused(db: Database) -> None:
    store = SessionStore(db, SECRET, clock=Wall())
    cookie = await logged_in(store)
    session_id, _, signature = cookie.partition(".")

    def flip(text: str) -> str:  # another first character, whatever it was
        return ("y" if text[0] == "x" else "x") + text[1:]

    for bad in (
        session_id,
        f"{session_id}.{flip(signature)}",
        f"{flip(session_id)}.{signature}",
        "",
    ):
        assert await store.from_cookie(bad) is None


async def test_expired_sessions_are_refused_and_pruned(db: Database) -> None:
    wall = Wall()
    store = SessionStore(db, SECRET, clock=wall)
    cookie = await logged_in(store)
    pending = await store.new()
    await store.save(pending)
    assert await store.count() == 2
    wall.now += LOGIN_LIFETIME + 1
    assert await store.from_cookie(store.cookie_value(pending)) is None
    assert await store.from_cookie(cookie) is not None
    wall.now += SESSION_LIFETIME
    assert await store.from_cookie(cookie) is None
    await store.new()  # creating a session prunes what expired
    assert await store.count() == 0


async def test_a_privacy_delete_ends_every_session_of_that_member_only(db: Database) -> None:
    """``/privacy delete`` (and the Privacy page) log the member out in every browser: a
    session holds their name, server list and Discord access token. Others stay logged in."""
    wall = Wall()
    store = SessionStore(db, SECRET, clock=wall)
    laptop, phone = await logged_in(store), await logged_in(store)
    bobs = await logged_in(store, user_id=43, username="bob")
    pending = await store.new()  # somebody's login under way: no member id yet
    await store.begin_login(pending)
    await Privacy(db).delete_all(42)
    assert await store.from_cookie(laptop) is None
    assert await store.from_cookie(phone) is None
    bob = await store.from_cookie(bobs)
    assert bob is not None and bob.username == "bob" and bob.access_token == TOKEN
    assert await store.from_cookie(store.cookie_value(pending)) is not None
    assert await store.count() == 2


async def test_a_request_under_way_does_not_bring_an_ended_session_back(db: Database) -> None:
    """A page request read the session, then the member deleted their data from Discord (or
    logged out at another replica) while the request changed it (a flash, a fresh server
    list): its write-back must not log them in again."""
    wall = Wall()
    here, elsewhere = SessionStore(db, SECRET, clock=wall), SessionStore(db, SECRET, clock=wall)
    for end in ("privacy delete", "logout elsewhere"):
        cookie = await logged_in(here)
        in_flight = await here.from_cookie(cookie)
        assert in_flight is not None
        if end == "privacy delete":
            await Privacy(db).delete_all(42)
        else:
            other = await elsewhere.from_cookie(cookie)
            assert other is not None
            await elsewhere.end(other)
        in_flight.flash, in_flight.guilds = "Saved.", []
        await here.save_if_changed(in_flight)
        assert await here.from_cookie(cookie) is None, end
        assert await here.count() == 0, end


async def test_a_pending_login_is_taken_once_across_replicas(db: Database) -> None:
    wall = Wall()
    a, b = SessionStore(db, SECRET, clock=wall), SessionStore(db, SECRET, clock=wall)
    pending = await a.new()
    pending.login_state, pending.code_verifier = "state-1", "verifier-1"
    await a.begin_login(pending)
    at_b = await b.from_cookie(a.cookie_value(pending))
    assert at_b is not None
    assert await b.take_login(at_b) == ("state-1", "verifier-1")
    again = await a.from_cookie(a.cookie_value(pending))
    assert again is not None and await a.take_login(again) is None


async def test_only_a_changed_session_is_written_back(db: Database) -> None:
    wall = Wall()
    store = SessionStore(db, SECRET, clock=wall)
    cookie = await logged_in(store)
    session = await store.from_cookie(cookie)
    assert session is not None
    session.flash = "Saved."
    await store.save_if_changed(session)
    again = await store.from_cookie(cookie)
    assert again is not None and again.flash == "Saved."


async def test_a_restored_backup_brings_back_no_session(tmp_path) -> None:
    """A logout made after a backup must stay a logout when that backup is restored."""
    path = tmp_path / "steady.sqlite3"
    db = await Database.open(f"sqlite:///{path}")
    await db.migrate()
    wall = Wall()
    store = SessionStore(db, SECRET, clock=wall)
    cookie = await logged_in(store)
    await db.close()
    take_backup(path, tmp_path / "backup.sqlite3", now=int(wall()))
    db = await Database.open(f"sqlite:///{path}")
    store = SessionStore(db, SECRET, clock=wall)
    session = await store.from_cookie(cookie)
    assert session is not None
    await store.end(session)  # logged out after the backup
    await db.close()
    await asyncio.to_thread(cli.restore, tmp_path / "backup.sqlite3", now=int(wall()) + 60)
    db = await Database.open(f"sqlite:///{path}")
    try:
        assert await SessionStore(db, SECRET, clock=wall).from_cookie(cookie) is None
        assert await SessionStore(db, SECRET, clock=wall).count() == 0
    finally:
        await db.close()
