package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pacerhq/pacer/store"
)

const notificationColumns = `id, job_id, channel, target, job_state, state, attempts, run_at,
	last_error, lease_owner, lease_until, created_at, updated_at, done_at`

// insertNotifications inserts the outbox rows of j, which has just entered a
// terminal state inside tx: one per channel it names, due at now. The unique
// key (job_id, channel) turns a second insert for one job into nothing.
func insertNotifications(ctx context.Context, tx sqlx.ExtContext, j store.Job, now time.Time) error {
	for _, n := range store.NotificationTargets(j) {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO notifications (job_id, channel, target, job_state, run_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5, $5)
			ON CONFLICT (job_id, channel) DO NOTHING`,
			n.JobID, string(n.Channel), n.Target, string(n.JobState), now); err != nil {
			return err
		}
	}
	return nil
}

// ClaimNotifications leases up to limit due notifications to owner. FOR
// UPDATE SKIP LOCKED keeps concurrent claimers, in any process, on disjoint
// rows: a row another claimer has locked is skipped, and one it leased and
// committed meanwhile fails the WHERE clause, which PostgreSQL re-checks on
// the newest row version. The pick is a MATERIALIZED CTE, evaluated once, so
// that LIMIT holds: as an IN (subquery) the planner may run it again. See
// [store.Store].
func (db *DB) ClaimNotifications(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]store.Notification, error) {
	if err := store.ValidateNotificationClaim(owner, now, leaseUntil); err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	now, leaseUntil = micro(now), micro(leaseUntil)
	var out []store.Notification
	err := sqlx.SelectContext(ctx, db.db, &out, `
		WITH picked AS MATERIALIZED (
			SELECT id FROM notifications
			WHERE state = 'pending' AND run_at <= $1
			  AND (lease_owner = '' OR lease_until <= $1)
			ORDER BY run_at, id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		)
		UPDATE notifications n
		SET lease_owner = $2, lease_until = $3, attempts = n.attempts + 1, updated_at = $1
		FROM picked WHERE n.id = picked.id
		RETURNING `+prefixed("n.", notificationColumns), now, owner, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", mapErr(ctx, err))
	}
	// RETURNING follows no ORDER BY; restore the subquery's order.
	slices.SortFunc(out, func(a, b store.Notification) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	for i := range out {
		out[i] = normNotification(out[i])
	}
	return out, nil
}

// SettleNotification ends a delivery attempt. See [store.Store].
func (db *DB) SettleNotification(ctx context.Context, s store.Settlement) error {
	if err := store.ValidateSettlement(s); err != nil {
		return fmt.Errorf("settle notification %d: %w", s.ID, err)
	}
	now, runAt := micro(s.Now), micro(s.RunAt)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var n store.Notification
		if err := sqlx.GetContext(ctx, tx, &n,
			`SELECT `+notificationColumns+` FROM notifications WHERE id = $1 FOR UPDATE`, s.ID); err != nil {
			return err
		}
		if err := store.CheckNotificationLease(n, s.Owner); err != nil {
			return err
		}
		var done any // NULL while pending
		if s.State != store.NotificationPending {
			done = now
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE notifications
			SET state = $2, run_at = CASE WHEN $2 = 'pending' THEN $3 ELSE run_at END,
			    last_error = CASE WHEN $4::text = '' THEN last_error ELSE $4::text END,
			    lease_owner = '', lease_until = NULL, updated_at = $5, done_at = $6
			WHERE id = $1`, s.ID, string(s.State), runAt, s.Error, now, done)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("settle notification %d: %w", s.ID, mapErr(ctx, err))
	}
	return nil
}

// ListNotifications returns a job's notifications in id order.
func (db *DB) ListNotifications(ctx context.Context, jobID int64) ([]store.Notification, error) {
	var out []store.Notification
	if err := sqlx.SelectContext(ctx, db.db, &out,
		`SELECT `+notificationColumns+` FROM notifications WHERE job_id = $1 ORDER BY id`, jobID); err != nil {
		return nil, fmt.Errorf("list notifications of job %d: %w", jobID, mapErr(ctx, err))
	}
	for i := range out {
		out[i] = normNotification(out[i])
	}
	return out, nil
}

func normNotification(n store.Notification) store.Notification {
	n.RunAt = n.RunAt.UTC()
	n.CreatedAt = n.CreatedAt.UTC()
	n.UpdatedAt = n.UpdatedAt.UTC()
	n.LeaseUntil = microPtr(n.LeaseUntil)
	n.DoneAt = microPtr(n.DoneAt)
	return n
}
