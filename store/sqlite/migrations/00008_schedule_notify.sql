-- A schedule may name a webhook URL and an email address, as a job may:
-- each run's job carries them, so each run's ending is notified.

-- +goose Up
ALTER TABLE schedules ADD COLUMN notify_webhook TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN notify_email   TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE schedules DROP COLUMN notify_email;
ALTER TABLE schedules DROP COLUMN notify_webhook;
