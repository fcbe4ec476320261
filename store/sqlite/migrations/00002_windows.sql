-- Fixed-window quotas (TakeWindow, ObserveWindow), quota blocks
-- (BlockQuota), and the quota a job's snoozed task waits for
-- (Retry.WaitQuota). Times are INTEGER microseconds since the Unix epoch, as
-- in 00001. SQLite adds one column per statement.

-- +goose Up

-- Set by RetryTask with a WaitQuota, cleared when the job finishes.
ALTER TABLE jobs ADD COLUMN wait_quota TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN wait_until INTEGER;

-- A key's block and its fixed window live on its quota_keys row, as in
-- PostgreSQL, where that row is the key's lock. See store.Window for what
-- each column means; a key used only as a sliding window keeps the defaults.
ALTER TABLE quota_keys ADD COLUMN blocked_until      INTEGER;
ALTER TABLE quota_keys ADD COLUMN window_generation  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quota_keys ADD COLUMN window_closes_at   INTEGER;
ALTER TABLE quota_keys ADD COLUMN window_taken       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quota_keys ADD COLUMN window_late        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quota_keys ADD COLUMN window_limit       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quota_keys ADD COLUMN window_cap         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quota_keys ADD COLUMN window_cap_ordinal INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE quota_keys DROP COLUMN window_cap_ordinal;
ALTER TABLE quota_keys DROP COLUMN window_cap;
ALTER TABLE quota_keys DROP COLUMN window_limit;
ALTER TABLE quota_keys DROP COLUMN window_late;
ALTER TABLE quota_keys DROP COLUMN window_taken;
ALTER TABLE quota_keys DROP COLUMN window_closes_at;
ALTER TABLE quota_keys DROP COLUMN window_generation;
ALTER TABLE quota_keys DROP COLUMN blocked_until;

ALTER TABLE jobs DROP COLUMN wait_until;
ALTER TABLE jobs DROP COLUMN wait_quota;
