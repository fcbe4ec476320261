-- Schedules: a job template and when to run it, and one row per due time
-- decided (schedule_runs), whose unique key (schedule_id, due_at) is what
-- makes a due time fire once however many schedulers run. every_ns holds an
-- interval in nanoseconds (0 when cron is set). Times are INTEGER
-- microseconds since the Unix epoch.

-- +goose Up
CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    credential TEXT    NOT NULL DEFAULT '',
    params     TEXT    NOT NULL CHECK (json_valid(params)),
    items      TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(items AS BLOB)) <= 1048576),
    every_ns   INTEGER NOT NULL DEFAULT 0 CHECK (every_ns >= 0),
    cron       TEXT    NOT NULL DEFAULT '',
    time_zone  TEXT    NOT NULL DEFAULT 'UTC',
    overlap    TEXT    NOT NULL CHECK (overlap IN ('skip', 'queue')),
    missed     TEXT    NOT NULL CHECK (missed IN ('catch_up_once', 'skip')),
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    next_due   INTEGER NOT NULL,
    last_error TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((every_ns > 0) <> (cron <> ''))
) STRICT;

CREATE INDEX schedules_due_idx ON schedules (next_due) WHERE paused = 0;

CREATE TABLE schedule_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    due_at      INTEGER NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('queued', 'pending', 'fired', 'skipped', 'failed')),
    job_id      INTEGER REFERENCES jobs (id),
    error       TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (schedule_id, due_at)
) STRICT;

CREATE INDEX schedule_runs_open_idx ON schedule_runs (schedule_id)
    WHERE state IN ('queued', 'pending');
CREATE INDEX schedule_runs_state_idx ON schedule_runs (schedule_id, state, due_at);

-- +goose Down
DROP TABLE schedule_runs;
DROP TABLE schedules;
