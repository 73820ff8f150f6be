-- Per-server settings chosen with /config. The daily tip itself is a
-- subscription (kind 'daily_tip', user_id NULL) in the reminder engine's tables, so it shares
-- the schedule maths, ledger, nonce and paced sender. A *_problem column holds why the last
-- send to that channel failed (shown by /config show); setting the channel again clears it.
CREATE TABLE guild_settings (
    guild_id                 INTEGER PRIMARY KEY,
    reminder_channel_id      INTEGER,
    reminder_channel_problem TEXT,
    daily_tip_problem        TEXT,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX guild_settings_reminder_channel ON guild_settings (reminder_channel_id);
