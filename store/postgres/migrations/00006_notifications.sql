-- Notifications: a job may name a webhook URL and an email address to hear
-- of its ending. The transaction that ends the job inserts one outbox row per
-- channel; UNIQUE (job_id, channel) makes a second insert for one ending
-- impossible, and the delivery loop claims rows with a lease, as workers
-- claim tasks.

-- +goose Up
ALTER TABLE jobs ADD COLUMN notify_webhook text NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN notify_email   text NOT NULL DEFAULT '';

CREATE TABLE notifications (
    id          bigserial   PRIMARY KEY,
    job_id      bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    channel     text        NOT NULL CHECK (channel IN ('webhook', 'email')),
    target      text        NOT NULL,
    job_state   text        NOT NULL CHECK (job_state IN ('succeeded', 'failed', 'cancelled')),
    state       text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    run_at      timestamptz NOT NULL,
    last_error  text        NOT NULL DEFAULT '',
    lease_owner text        NOT NULL DEFAULT '',
    lease_until timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    done_at     timestamptz,
    UNIQUE (job_id, channel)
);
-- ClaimNotifications looks only at pending rows, by due time.
CREATE INDEX notifications_due ON notifications (run_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE notifications;
ALTER TABLE jobs DROP COLUMN notify_email;
ALTER TABLE jobs DROP COLUMN notify_webhook;
