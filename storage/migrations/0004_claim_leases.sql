-- Several processes, one database: a claimed occurrence belongs to the process that claimed it
-- (claimed_by, one name per process run) until lease_until (unix seconds). The owner renews
-- the lease while the occurrence waits in its queue or is being sent; once it has lapsed (the
-- process died), any process takes the row over and sends it with the same nonce. The index
-- finds lapsed leases among the few pending rows.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state IN ('claimed', 'sending');
