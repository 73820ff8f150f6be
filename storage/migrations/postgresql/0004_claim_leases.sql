-- PostgreSQL twin of ../0004_claim_leases.sql: who claimed an occurrence, and until when.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until BIGINT;
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state IN ('claimed', 'sending');

-- The claim reads due rows in (next_fire_at, id) order. SQLite's index on next_fire_at holds
-- the rowid (= id) too, so it is already in that order; PostgreSQL's is not, and with 50,000
-- rows due at once it sorted all of them for every batch of 200. With id in the index the
-- claim reads just the batch.
DROP INDEX subscriptions_due;
CREATE INDEX subscriptions_due ON subscriptions (next_fire_at, id);
DROP INDEX snoozes_due;
CREATE INDEX snoozes_due ON snoozes (fire_at, id);
