-- PostgreSQL twin of ../0005_members_dm_channel_unknown.sql: members whose DM channel the
-- bot opens ahead at start-up.
CREATE INDEX members_dm_channel_unknown ON members (user_id)
    WHERE dm_channel_id IS NULL AND delivery = 'dm';
