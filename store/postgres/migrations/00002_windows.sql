-- Fixed-window quotas (TakeWindow, ObserveWindow), quota blocks
-- (BlockQuota), and the quota a job's snoozed task waits for
-- (Retry.WaitQuota).

-- +goose Up

-- Set by RetryTask with a WaitQuota, cleared when the job finishes.
ALTER TABLE jobs
    ADD COLUMN wait_quota text NOT NULL DEFAULT '',
    ADD COLUMN wait_until timestamptz;

-- A key's block and its fixed window live on its quota_keys row, the row
-- that SpendQuota already locks: every call for one key (spend, take,
-- observation, block) queues behind that one lock, and a take reads and
-- writes one row. See store.Window for what each column means; a key used
-- only as a sliding window keeps the defaults.
ALTER TABLE quota_keys
    ADD COLUMN blocked_until      timestamptz,
    ADD COLUMN window_generation  bigint NOT NULL DEFAULT 0,
    ADD COLUMN window_closes_at   timestamptz,
    ADD COLUMN window_taken       bigint NOT NULL DEFAULT 0,
    ADD COLUMN window_late        bigint NOT NULL DEFAULT 0,
    ADD COLUMN window_limit       bigint NOT NULL DEFAULT 0,
    ADD COLUMN window_cap         bigint NOT NULL DEFAULT 0,
    ADD COLUMN window_cap_ordinal bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE quota_keys
    DROP COLUMN window_cap_ordinal,
    DROP COLUMN window_cap,
    DROP COLUMN window_limit,
    DROP COLUMN window_late,
    DROP COLUMN window_taken,
    DROP COLUMN window_closes_at,
    DROP COLUMN window_generation,
    DROP COLUMN blocked_until;

ALTER TABLE jobs
    DROP COLUMN wait_until,
    DROP COLUMN wait_quota;
