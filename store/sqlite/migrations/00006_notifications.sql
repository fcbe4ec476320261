-- Notifications: a job may name a webhook URL and an email address to hear
-- of its ending. The transaction that ends the job inserts one outbox row per
-- channel; UNIQUE (job_id, channel) makes a second insert for one ending
-- impossible, and the delivery loop claims rows with a lease, as workers
-- claim tasks. Times are INTEGER microseconds since the Unix epoch.

-- +goose Up
ALTER TABLE jobs ADD COLUMN notify_webhook TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN notify_email   TEXT NOT NULL DEFAULT '';

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL CHECK (channel IN ('webhook', 'email')),
    target      TEXT    NOT NULL,
    job_state   TEXT    NOT NULL CHECK (job_state IN ('succeeded', 'failed', 'cancelled')),
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    last_error  TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    done_at     INTEGER,
    UNIQUE (job_id, channel)
) STRICT;
-- ClaimNotifications looks only at pending rows, by due time.
CREATE INDEX notifications_due ON notifications (run_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE notifications;
ALTER TABLE jobs DROP COLUMN notify_email;
ALTER TABLE jobs DROP COLUMN notify_webhook;
