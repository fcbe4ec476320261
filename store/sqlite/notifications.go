package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/pacerhq/pacer/store"
)

const notificationColumns = `id, job_id, channel, target, job_state, state, attempts, run_at,
	last_error, lease_owner, lease_until, created_at, updated_at, done_at`

func scanNotification(s scanner) (store.Notification, error) {
	var (
		n                       store.Notification
		runAt, created, updated int64
		leaseUntil, done        sql.NullInt64
	)
	if err := s.Scan(&n.ID, &n.JobID, &n.Channel, &n.Target, &n.JobState, &n.State, &n.Attempts, &runAt,
		&n.LastError, &n.LeaseOwner, &leaseUntil, &created, &updated, &done); err != nil {
		return store.Notification{}, err
	}
	n.RunAt, n.CreatedAt, n.UpdatedAt = fromDB(runAt), fromDB(created), fromDB(updated)
	n.LeaseUntil, n.DoneAt = fromDBNull(leaseUntil), fromDBNull(done)
	return n, nil
}

// insertNotifications inserts the outbox rows of j, which has just entered a
// terminal state inside tx: one per channel it names, due at now. The unique
// key (job_id, channel) turns a second insert for one job into nothing.
func insertNotifications(ctx context.Context, tx *sql.Tx, j store.Job, now int64) error {
	for _, n := range store.NotificationTargets(j) {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO notifications (job_id, channel, target, job_state, run_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job_id, channel) DO NOTHING`,
			n.JobID, string(n.Channel), n.Target, string(n.JobState), now, now, now); err != nil {
			return err
		}
	}
	return nil
}

// ClaimNotifications leases up to limit due notifications to owner. Writes
// are serialized (one writer connection, BEGIN IMMEDIATE across processes),
// so one statement that picks and leases cannot hand a row to two claimers.
// See [store.Store].
func (db *DB) ClaimNotifications(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]store.Notification, error) {
	if err := store.ValidateNotificationClaim(owner, now, leaseUntil); err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	nowDB := toDB(now)
	var out []store.Notification
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			UPDATE notifications
			SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1, updated_at = ?3
			WHERE id IN (
				SELECT id FROM notifications
				WHERE state = 'pending' AND run_at <= ?3
				  AND (lease_owner = '' OR lease_until <= ?3)
				ORDER BY run_at, id
				LIMIT ?4
			)
			RETURNING `+notificationColumns, owner, toDB(leaseUntil), nowDB, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", mapErr(ctx, err))
	}
	// RETURNING follows no ORDER BY; restore the subquery's order.
	slices.SortFunc(out, func(a, b store.Notification) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// SettleNotification ends a delivery attempt. See [store.Store].
func (db *DB) SettleNotification(ctx context.Context, s store.Settlement) error {
	if err := store.ValidateSettlement(s); err != nil {
		return fmt.Errorf("settle notification %d: %w", s.ID, err)
	}
	nowDB := toDB(s.Now)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		n, err := scanNotification(tx.QueryRowContext(ctx,
			`SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, s.ID))
		if err != nil {
			return err
		}
		if err := store.CheckNotificationLease(n, s.Owner); err != nil {
			return err
		}
		runAt := toDB(n.RunAt)
		var done any // NULL while pending
		if s.State == store.NotificationPending {
			runAt = toDB(s.RunAt)
		} else {
			done = nowDB
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE notifications
			SET state = ?1, run_at = ?2, last_error = CASE WHEN ?3 = '' THEN last_error ELSE ?3 END,
			    lease_owner = '', lease_until = NULL, updated_at = ?4, done_at = ?5
			WHERE id = ?6`, string(s.State), runAt, s.Error, nowDB, done, s.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("settle notification %d: %w", s.ID, mapErr(ctx, err))
	}
	return nil
}

// ListNotifications returns a job's notifications in id order.
func (db *DB) ListNotifications(ctx context.Context, jobID int64) ([]store.Notification, error) {
	rows, err := db.rdb.QueryContext(ctx,
		`SELECT `+notificationColumns+` FROM notifications WHERE job_id = ? ORDER BY id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list notifications of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("list notifications of job %d: %w", jobID, mapErr(ctx, err))
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notifications of job %d: %w", jobID, mapErr(ctx, err))
	}
	return out, nil
}
