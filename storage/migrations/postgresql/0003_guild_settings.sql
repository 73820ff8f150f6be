-- PostgreSQL twin of ../0003_guild_settings.sql: per-server settings chosen with /config.
CREATE TABLE guild_settings (
    guild_id                 BIGINT PRIMARY KEY,
    reminder_channel_id      BIGINT,
    reminder_channel_problem TEXT,
    daily_tip_problem        TEXT,
    updated_at               BIGINT NOT NULL
);
CREATE INDEX guild_settings_reminder_channel ON guild_settings (reminder_channel_id);
