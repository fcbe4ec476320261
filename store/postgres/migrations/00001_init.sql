-- The initial schema. Every name is unqualified, so it lands in the first
-- schema of the connection's search_path (tests use one schema each).

-- +goose Up
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL,
    params       json        NOT NULL,
    credential   text        NOT NULL DEFAULT '',
    state        text        NOT NULL
        CHECK (state IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    items_total  bigint      NOT NULL DEFAULT 0,
    items_done   bigint      NOT NULL DEFAULT 0,
    items_failed bigint      NOT NULL DEFAULT 0,
    tasks_total  bigint      NOT NULL DEFAULT 0,
    tasks_done   bigint      NOT NULL DEFAULT 0,
    tasks_failed bigint      NOT NULL DEFAULT 0,
    requests     bigint      NOT NULL DEFAULT 0,
    summary      text        NOT NULL DEFAULT '',
    last_error   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz
);

-- ListJobs filters by state or kind and pages by id; CountJobs groups by both.
CREATE INDEX jobs_state_id_idx ON jobs (state, id);
CREATE INDEX jobs_kind_id_idx ON jobs (kind, id);

-- json, not jsonb: json keeps the caller's bytes as they were sent (jsonb
-- would reorder keys and respace), so both stores return what they were given.
CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    payload      json,
    items        integer     NOT NULL DEFAULT 0 CHECK (items >= 0),
    state        text        NOT NULL
        CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    attempts     integer     NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL,
    last_error   text        NOT NULL DEFAULT '',
    lease_owner  text        NOT NULL DEFAULT '',
    lease_until  timestamptz,
    published_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- DispatchDue: pending tasks in run_at order.
CREATE INDEX tasks_dispatch_idx ON tasks (state, run_at, id);
-- CancelJob, ResumeJob and CountTasks work on one job's tasks by state.
CREATE INDEX tasks_job_state_idx ON tasks (job_id, state);

-- item_key uses the "C" collation so that keys sort byte by byte, as in
-- SQLite: keyset paging must walk the same order in both stores.
CREATE TABLE results (
    job_id     bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_key   text        COLLATE "C" NOT NULL,
    status     text        NOT NULL CHECK (status IN ('ok', 'not_found')),
    data       json,
    error      text        NOT NULL DEFAULT '',
    task_id    bigint      NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, item_key)
);

-- One row per quota key, so SpendQuota has a row to lock (SELECT ... FOR
-- UPDATE) even when the key has no spends yet.
CREATE TABLE quota_keys (
    key text PRIMARY KEY
);

CREATE TABLE quota_spends (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text        NOT NULL REFERENCES quota_keys (key) ON DELETE CASCADE,
    at  timestamptz NOT NULL,
    n   integer     NOT NULL CHECK (n > 0)
);

CREATE INDEX quota_spends_key_at_idx ON quota_spends (key, at);

-- ProbeCommits writes here. It must be an ordinary (logged) table: a
-- transaction that only writes to a TEMP or UNLOGGED table writes no WAL,
-- so its COMMIT does not wait for a WAL flush, and the probe would measure
-- memory instead of the durable commit rate it reports.
CREATE TABLE commit_probe (
    probe_id bigint  NOT NULL,
    n        integer NOT NULL
);

-- +goose Down
DROP TABLE commit_probe;
DROP TABLE quota_spends;
DROP TABLE quota_keys;
DROP TABLE results;
DROP TABLE tasks;
DROP TABLE jobs;
