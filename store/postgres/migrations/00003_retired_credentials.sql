-- Credentials out of use because their upstream refused them (401, or a
-- 403 not about rate), shared by every process.

-- +goose Up
CREATE TABLE retired_credentials (
    name       text PRIMARY KEY,
    reason     text NOT NULL,
    retired_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE retired_credentials;
