-- PostgreSQL twin of ../0006_deleted_members.sql: the ids of members who used /privacy
-- delete, and when (copied by migrate-db; a pg_restore of an older dump is followed by
-- deleting these members again, docs/operations.md#backups).
CREATE TABLE deleted_members (
    user_id     BIGINT PRIMARY KEY,
    deleted_at  BIGINT NOT NULL
);
CREATE INDEX deleted_members_at ON deleted_members (deleted_at);
