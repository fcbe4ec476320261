-- Credentials out of use because their upstream refused them (401, or a
-- 403 not about rate). Times are INTEGER microseconds since the Unix epoch.

-- +goose Up
CREATE TABLE retired_credentials (
    name       TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    retired_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE retired_credentials;
