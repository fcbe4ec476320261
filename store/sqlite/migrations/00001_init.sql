-- The initial schema. Times are INTEGER microseconds since the Unix epoch,
-- UTC: they compare and sort correctly in SQL and round-trip at the same
-- precision as PostgreSQL's timestamptz. STRICT makes SQLite enforce the
-- declared types; ids are AUTOINCREMENT so that an id is never reused and
-- "newer" always means "greater".

-- +goose Up
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    params       TEXT    NOT NULL CHECK (json_valid(params)),
    credential   TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL
        CHECK (state IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    items_total  INTEGER NOT NULL DEFAULT 0,
    items_done   INTEGER NOT NULL DEFAULT 0,
    items_failed INTEGER NOT NULL DEFAULT 0,
    tasks_total  INTEGER NOT NULL DEFAULT 0,
    tasks_done   INTEGER NOT NULL DEFAULT 0,
    tasks_failed INTEGER NOT NULL DEFAULT 0,
    requests     INTEGER NOT NULL DEFAULT 0,
    summary      TEXT    NOT NULL DEFAULT '',
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
) STRICT;

-- ListJobs filters by state or kind and pages by id; CountJobs groups by both.
CREATE INDEX jobs_state_id_idx ON jobs (state, id);
CREATE INDEX jobs_kind_id_idx ON jobs (kind, id);

CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    payload      TEXT CHECK (payload IS NULL OR json_valid(payload)),
    items        INTEGER NOT NULL DEFAULT 0 CHECK (items >= 0),
    state        TEXT    NOT NULL
        CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  INTEGER,
    published_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- DispatchDue: pending tasks in run_at order.
CREATE INDEX tasks_dispatch_idx ON tasks (state, run_at, id);
-- CancelJob, ResumeJob and CountTasks work on one job's tasks by state.
CREATE INDEX tasks_job_state_idx ON tasks (job_id, state);

-- TEXT compares byte by byte (the BINARY collation), as PostgreSQL's
-- COLLATE "C" column does: keyset paging walks the same order in both stores.
CREATE TABLE results (
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_key   TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('ok', 'not_found')),
    data       TEXT CHECK (data IS NULL OR json_valid(data)),
    error      TEXT    NOT NULL DEFAULT '',
    task_id    INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, item_key)
) STRICT, WITHOUT ROWID;

-- The key table mirrors PostgreSQL's, where its rows are what SpendQuota
-- locks. Here the IMMEDIATE transaction already serializes every writer.
CREATE TABLE quota_keys (
    key TEXT PRIMARY KEY
) STRICT;

CREATE TABLE quota_spends (
    id  INTEGER PRIMARY KEY,
    key TEXT    NOT NULL REFERENCES quota_keys (key) ON DELETE CASCADE,
    at  INTEGER NOT NULL,
    n   INTEGER NOT NULL CHECK (n > 0)
) STRICT;

CREATE INDEX quota_spends_key_at_idx ON quota_spends (key, at);

-- +goose Down
DROP TABLE quota_spends;
DROP TABLE quota_keys;
DROP TABLE results;
DROP TABLE tasks;
DROP TABLE jobs;
