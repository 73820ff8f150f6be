-- The web dashboard's sessions and pending logins (storage/dashboard_sessions.py), kept in the
-- database so that any replica of the dashboard answers any request, a restart keeps members
-- logged in, and a logout ends the session everywhere. The cookie holds only a signed random
-- id; the row is keyed by its SHA-256 (id_hash), so the table alone cannot be turned into
-- cookies. access_token is Fernet-encrypted with a key derived from DASHBOARD_SECRET.
-- Expired rows are pruned by the dashboard (expires_at, epoch seconds).
CREATE TABLE dashboard_sessions (
    id_hash           TEXT PRIMARY KEY,
    csrf              TEXT NOT NULL,
    expires_at        INTEGER NOT NULL,
    user_id           INTEGER,
    username          TEXT NOT NULL DEFAULT '',
    guilds            TEXT NOT NULL DEFAULT '[]',
    guilds_fetched_at REAL NOT NULL DEFAULT 0,
    access_token      TEXT,
    login_state       TEXT,
    code_verifier     TEXT,
    next_path         TEXT NOT NULL DEFAULT '/',
    flash             TEXT
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);

-- What the dashboard asked Discord about a server (its roles and channels, a member's roles),
-- shared by every replica for a short while (services/server_facts.py says how long and why).
CREATE TABLE dashboard_server_facts (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX dashboard_server_facts_expires ON dashboard_server_facts (expires_at);
