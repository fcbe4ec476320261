-- Schedules: a job template and when to run it, and one row per due time
-- decided (schedule_runs), whose unique key (schedule_id, due_at) is what
-- makes a due time fire once however many schedulers run. every_ns holds an
-- interval in nanoseconds (0 when cron is set).

-- +goose Up
CREATE TABLE schedules (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    kind       text        NOT NULL,
    credential text        NOT NULL DEFAULT '',
    params     json        NOT NULL,
    items      text        NOT NULL DEFAULT '' CHECK (octet_length(items) <= 1048576),
    every_ns   bigint      NOT NULL DEFAULT 0 CHECK (every_ns >= 0),
    cron       text        NOT NULL DEFAULT '',
    time_zone  text        NOT NULL DEFAULT 'UTC',
    overlap    text        NOT NULL CHECK (overlap IN ('skip', 'queue')),
    missed     text        NOT NULL CHECK (missed IN ('catch_up_once', 'skip')),
    paused     boolean     NOT NULL DEFAULT false,
    next_due   timestamptz NOT NULL,
    last_error text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((every_ns > 0) <> (cron <> ''))
);

-- FireDue: schedules due, in due order.
CREATE INDEX schedules_due_idx ON schedules (next_due) WHERE NOT paused;

CREATE TABLE schedule_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id bigint      NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    due_at      timestamptz NOT NULL,
    state       text        NOT NULL
        CHECK (state IN ('queued', 'pending', 'fired', 'skipped', 'failed')),
    job_id      bigint      REFERENCES jobs (id),
    error       text        NOT NULL DEFAULT '',
    lease_owner text        NOT NULL DEFAULT '',
    lease_until timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (schedule_id, due_at)
);

-- FireDue: runs waiting (queued) or leased (pending), few at any time.
CREATE INDEX schedule_runs_open_idx ON schedule_runs (schedule_id)
    WHERE state IN ('queued', 'pending');
-- The busy check: a schedule's fired runs, newest first.
CREATE INDEX schedule_runs_state_idx ON schedule_runs (schedule_id, state, due_at);

-- +goose Down
DROP TABLE schedule_runs;
DROP TABLE schedules;
