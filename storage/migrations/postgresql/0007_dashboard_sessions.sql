-- PostgreSQL twin of ../0007_dashboard_sessions.sql: the dashboard's sessions and pending
-- logins, and its short-lived cache of server facts, shared by every replica.
CREATE TABLE dashboard_sessions (
    id_hash           TEXT PRIMARY KEY,
    csrf              TEXT NOT NULL,
    expires_at        BIGINT NOT NULL,
    user_id           BIGINT,
    username          TEXT NOT NULL DEFAULT '',
    guilds            TEXT NOT NULL DEFAULT '[]',
    guilds_fetched_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    access_token      TEXT,
    login_state       TEXT,
    code_verifier     TEXT,
    next_path         TEXT NOT NULL DEFAULT '/',
    flash             TEXT
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);

CREATE TABLE dashboard_server_facts (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX dashboard_server_facts_expires ON dashboard_server_facts (expires_at);
