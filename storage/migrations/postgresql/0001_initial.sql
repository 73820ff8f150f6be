-- PostgreSQL twin of ../0001_initial.sql: bot-wide key/value state, such as the hash of the
-- last synced command tree.
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
