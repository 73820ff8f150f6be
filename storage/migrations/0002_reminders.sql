-- Reminders. The database is the source of truth for everything
-- scheduled: one dispatcher claims due subscriptions by next_fire_at and records each
-- occurrence in the deliveries ledger before sending it.
-- All instants are unix seconds UTC. Local times are 'HH:MM' in the row's IANA zone.

-- One row per member who touched /remind: settings and caches, nothing else.
CREATE TABLE members (
    user_id        INTEGER PRIMARY KEY,
    timezone       TEXT,
    wake           TEXT NOT NULL DEFAULT '07:00',
    bed            TEXT NOT NULL DEFAULT '23:00',
    delivery       TEXT NOT NULL DEFAULT 'dm' CHECK (delivery IN ('dm', 'server')),
    home_guild_id  INTEGER,
    paused_until   INTEGER,
    dm_channel_id  INTEGER,
    notice         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- A member's reminder of one kind (user_id set), or a server's daily tip (user_id NULL,
-- guild_id and channel_id set). times is the sorted comma-separated list of local times.
-- An inactive row (stopped by DMs closed, a broken channel...) has next_fire_at NULL, so
-- the due index only ever holds rows that will fire.
CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    user_id        INTEGER,
    guild_id       INTEGER,
    channel_id     INTEGER,
    times          TEXT NOT NULL,
    custom_time    TEXT,
    every_hours    INTEGER,
    zone           TEXT NOT NULL,
    next_fire_at   INTEGER,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    paused_reason  TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (user_id IS NOT NULL OR guild_id IS NOT NULL),
    CHECK (active = 1 OR next_fire_at IS NULL)
);
CREATE UNIQUE INDEX subscriptions_member_kind ON subscriptions (user_id, kind) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX subscriptions_guild_kind ON subscriptions (guild_id, kind) WHERE user_id IS NULL;
CREATE INDEX subscriptions_due ON subscriptions (next_fire_at);

-- A stored snooze: one extra occurrence, fired once. from_delivery_id is unique so that
-- clicking Snooze twice on the same reminder makes one snooze.
CREATE TABLE snoozes (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id   INTEGER REFERENCES subscriptions (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    user_id           INTEGER NOT NULL,
    guild_id          INTEGER,
    from_delivery_id  INTEGER NOT NULL UNIQUE,
    fire_at           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX snoozes_due ON snoozes (fire_at);
CREATE INDEX snoozes_user ON snoozes (user_id);

-- The delivery ledger: one row per occurrence (subscription + scheduled instant, or a
-- snooze, or a test), written when claimed and updated after each send attempt. nonce is
-- the occurrence key and the Discord message nonce (25 characters at most).
-- state: claimed (queued), sending (request may be in flight), sent, failed, missed
-- (skipped after downtime), cancelled (stopped or paused before sending), unconfirmed
-- (was in flight at a crash and too old to resend safely with the same nonce).
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    nonce            TEXT NOT NULL UNIQUE CHECK (length(nonce) <= 25),
    source           TEXT NOT NULL CHECK (source IN ('schedule', 'snooze', 'test')),
    subscription_id  INTEGER,
    scheduled_at     INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    user_id          INTEGER,
    guild_id         INTEGER,
    state            TEXT NOT NULL CHECK (state IN ('claimed', 'sending', 'sent', 'failed', 'missed', 'cancelled', 'unconfirmed')),
    channel_id       INTEGER,
    message_id       INTEGER,
    via              TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    outcome          TEXT CHECK (outcome IN ('done', 'snoozed')),
    outcome_at       INTEGER,
    claimed_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (state) WHERE state IN ('claimed', 'sending');
CREATE INDEX deliveries_user ON deliveries (user_id, scheduled_at) WHERE user_id IS NOT NULL;
CREATE INDEX deliveries_scheduled ON deliveries (scheduled_at);
