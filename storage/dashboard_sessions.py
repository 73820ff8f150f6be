"""The dashboard's sessions and its short-lived cache of server facts (migration 0007).

``dashboard_sessions``: one row per session or pending login, keyed by the SHA-256 of the
random id the cookie carries (the service, :mod:`services.web_sessions`, hashes it and
encrypts the access token before it reaches this module). ``dashboard_server_facts``: what
the dashboard asked Discord about a server, as JSON text, until ``expires_at``.

Times are epoch seconds. Rows are read by column name.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Queries


@dataclass(frozen=True)
class SessionRow:
    id_hash: str
    csrf: str
    expires_at: int
    user_id: int | None
    username: str
    guilds: str  # JSON
    guilds_fetched_at: float
    access_token: str | None  # encrypted
    login_state: str | None
    code_verifier: str | None
    next_path: str
    flash: str | None


_COLUMNS = (
    "id_hash, csrf, expires_at, user_id, username, guilds, guilds_fetched_at, access_token, "
    "login_state, code_verifier, next_path, flash"
)


async def get(db: Database, id_hash: str, now: float) -> SessionRow | None:
    """The session, unless it has expired."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?",
        (id_hash, int(now)),
    )
    if row is None:
        return None
    return SessionRow(
        id_hash=row["id_hash"],
        csrf=row["csrf"],
        expires_at=int(row["expires_at"]),
        user_id=None if row["user_id"] is None else int(row["user_id"]),
        username=row["username"],
        guilds=row["guilds"],
        guilds_fetched_at=float(row["guilds_fetched_at"]),
        access_token=row["access_token"],
        login_state=row["login_state"],
        code_verifier=row["code_verifier"],
        next_path=row["next_path"],
        flash=row["flash"],
    )


def _values(row: SessionRow) -> tuple[object, ...]:
    return (
        row.id_hash,
        row.csrf,
        row.expires_at,
        row.user_id,
        row.username,
        row.guilds,
        row.guilds_fetched_at,
        row.access_token,
        row.login_state,
        row.code_verifier,
        row.next_path,
        row.flash,
    )


async def put(db: Database, row: SessionRow) -> None:
    """Insert the session, or replace every field of it."""
    await db.execute(
        f"INSERT INTO dashboard_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id_hash) DO UPDATE SET csrf = excluded.csrf, "
        "expires_at = excluded.expires_at, user_id = excluded.user_id, "
        "username = excluded.username, guilds = excluded.guilds, "
        "guilds_fetched_at = excluded.guilds_fetched_at, access_token = excluded.access_token, "
        "login_state = excluded.login_state, code_verifier = excluded.code_verifier, "
        "next_path = excluded.next_path, flash = excluded.flash",
        _values(row),
    )


async def update(db: Database, row: SessionRow) -> bool:
    """Replace every field of the session if its row is still there; whether it was. A
    session ended meanwhile (a logout elsewhere, a privacy deletion) is not made again."""
    updated = await db.execute(
        "UPDATE dashboard_sessions SET csrf = ?2, expires_at = ?3, user_id = ?4, username = ?5, "
        "guilds = ?6, guilds_fetched_at = ?7, access_token = ?8, login_state = ?9, "
        "code_verifier = ?10, next_path = ?11, flash = ?12 WHERE id_hash = ?1",
        _values(row),
    )
    return updated == 1


async def take_login(db: Database, id_hash: str, now: float) -> tuple[str, str] | None:
    """The pending login's state and PKCE verifier, cleared in the same statement: a replayed
    callback — at this replica or another — finds nothing."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT login_state, code_verifier FROM dashboard_sessions "
            "WHERE id_hash = ? AND expires_at > ? AND login_state IS NOT NULL",
            (id_hash, int(now)),
        )
        if row is None:
            return None
        cleared = await tx.execute(
            "UPDATE dashboard_sessions SET login_state = NULL, code_verifier = NULL "
            "WHERE id_hash = ? AND login_state = ?",
            (id_hash, row["login_state"]),
        )
        if cleared != 1:
            return None
        return row["login_state"], row["code_verifier"]


async def delete(db: Database, id_hash: str) -> None:
    await db.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", (id_hash,))


async def delete_for_user(tx: Queries, user_id: int) -> int:
    """End every session of a member: run inside their privacy deletion's transaction
    (:func:`storage.reminders.delete_member_data`), since a session holds their id, name,
    server list and encrypted Discord access token. A pending login holds none of these (no
    member id until Discord answers), so it has nothing to match here."""
    return await tx.execute("DELETE FROM dashboard_sessions WHERE user_id = ?", (user_id,))


async def prune(db: Database, now: float) -> int:
    """Drop expired sessions and server facts; returns how many sessions went."""
    gone = await db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (int(now),))
    await db.execute("DELETE FROM dashboard_server_facts WHERE expires_at <= ?", (now,))
    return gone


async def ping(db: Database) -> None:
    """Raises if the database does not answer."""
    await db.fetchval("SELECT 1")


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM dashboard_sessions"))


# --- server facts ---------------------------------------------------------------------------


async def get_fact(db: Database, key: str, now: float) -> str | None:
    value = await db.fetchval(
        "SELECT value FROM dashboard_server_facts WHERE key = ? AND expires_at > ?", (key, now)
    )
    return None if value is None else str(value)


async def put_fact(db: Database, key: str, value: str, expires_at: float) -> None:
    await db.execute(
        "INSERT INTO dashboard_server_facts (key, value, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        (key, value, expires_at),
    )


async def drop_facts(db: Database, keys: list[str]) -> None:
    await db.executemany("DELETE FROM dashboard_server_facts WHERE key = ?", [(k,) for k in keys])
