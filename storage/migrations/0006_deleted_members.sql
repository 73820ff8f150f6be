-- Privacy deletions, ids only: which members asked /privacy delete, and when. A backup taken
-- before a deletion still holds that member's data; `python -m bot restore` deletes it again
-- for every id here deleted after the backup's moment. Rows older than the oldest kept backup
-- are pruned (no restore can bring those members back any more).
CREATE TABLE deleted_members (
    user_id     INTEGER PRIMARY KEY,
    deleted_at  INTEGER NOT NULL
);
CREATE INDEX deleted_members_at ON deleted_members (deleted_at);
