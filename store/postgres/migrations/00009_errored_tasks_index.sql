-- A job's page lists its most recently errored tasks. Without an index of
-- its own that query read every task of the job (10,000 for a million
-- tweets) and kept those with an error. The index is partial: a task gets
-- an entry only once it has an error, so it costs the hot path nothing.

-- +goose Up
CREATE INDEX tasks_errored_idx ON tasks (job_id, updated_at DESC, id DESC) WHERE last_error <> '';

-- +goose Down
DROP INDEX tasks_errored_idx;
