package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pacerhq/pacer/store"
)

const scheduleColumns = `id, name, kind, credential, params, items, every_ns, cron, time_zone,
	overlap, missed, paused, next_due, last_error, created_at, updated_at, notify_webhook, notify_email`

const runColumns = `id, schedule_id, due_at, state, job_id, error, lease_owner, lease_until, created_at, updated_at`

func scanSchedule(sc scanner) (store.Schedule, error) {
	var (
		s                     store.Schedule
		every                 int64
		paused                int
		params                string
		next, created, update int64
	)
	if err := sc.Scan(&s.ID, &s.Name, &s.Kind, &s.Credential, &params, &s.Items, &every, &s.Cron, &s.TimeZone,
		&s.Overlap, &s.Missed, &paused, &next, &s.LastError, &created, &update, &s.NotifyWebhook, &s.NotifyEmail); err != nil {
		return store.Schedule{}, err
	}
	s.Params = []byte(params)
	s.Every = time.Duration(every)
	s.Paused = paused != 0
	s.NextDue, s.CreatedAt, s.UpdatedAt = fromDB(next), fromDB(created), fromDB(update)
	return s, nil
}

func scanRun(sc scanner) (store.ScheduleRun, error) {
	var (
		r                     store.ScheduleRun
		due, created, updated int64
		jobID                 sql.NullInt64
		until                 sql.NullInt64
	)
	if err := sc.Scan(&r.ID, &r.ScheduleID, &due, &r.State, &jobID, &r.Error, &r.LeaseOwner, &until, &created, &updated); err != nil {
		return store.ScheduleRun{}, err
	}
	r.DueAt, r.CreatedAt, r.UpdatedAt = fromDB(due), fromDB(created), fromDB(updated)
	r.LeaseUntil = fromDBNull(until)
	if jobID.Valid {
		r.JobID = &jobID.Int64
	}
	return r, nil
}

// scanAll reads every row of rows with scan.
func scanAll[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateSchedule inserts a schedule. See [store.Store].
func (db *DB) CreateSchedule(ctx context.Context, s store.Schedule, now time.Time) (store.Schedule, error) {
	if err := store.ValidateSchedule(s); err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	var out store.Schedule
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanSchedule(tx.QueryRowContext(ctx, `
			INSERT INTO schedules (name, kind, credential, params, items, every_ns, cron, time_zone,
			    overlap, missed, paused, next_due, created_at, updated_at, notify_webhook, notify_email)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+scheduleColumns,
			s.Name, s.Kind, s.Credential, string(s.Params), s.Items, int64(s.Every), s.Cron, s.TimeZone,
			string(s.Overlap), string(s.Missed), boolInt(s.Paused), toDB(s.NextDue), toDB(now), toDB(now),
			s.NotifyWebhook, s.NotifyEmail))
		return err
	})
	if err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule %q: %w", s.Name, mapErr(ctx, err))
	}
	return out, nil
}

// UpdateSchedule replaces a schedule's fields. See [store.Store].
func (db *DB) UpdateSchedule(ctx context.Context, s store.Schedule, now time.Time) (store.Schedule, error) {
	if err := store.ValidateSchedule(s); err != nil {
		return store.Schedule{}, fmt.Errorf("update schedule %d: %w", s.ID, err)
	}
	var out store.Schedule
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanSchedule(tx.QueryRowContext(ctx, `
			UPDATE schedules SET name = ?, kind = ?, credential = ?, params = ?, items = ?,
			    every_ns = ?, cron = ?, time_zone = ?, overlap = ?, missed = ?, paused = ?,
			    next_due = ?, last_error = '', updated_at = ?, notify_webhook = ?, notify_email = ?
			WHERE id = ?
			RETURNING `+scheduleColumns,
			s.Name, s.Kind, s.Credential, string(s.Params), s.Items, int64(s.Every), s.Cron, s.TimeZone,
			string(s.Overlap), string(s.Missed), boolInt(s.Paused), toDB(s.NextDue), toDB(now),
			s.NotifyWebhook, s.NotifyEmail, s.ID))
		return err
	})
	if err != nil {
		return store.Schedule{}, fmt.Errorf("update schedule %d: %w", s.ID, mapErr(ctx, err))
	}
	return out, nil
}

// GetSchedule returns one schedule, or store.ErrNotFound.
func (db *DB) GetSchedule(ctx context.Context, id int64) (store.Schedule, error) {
	s, err := scanSchedule(db.rdb.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, id))
	if err != nil {
		return store.Schedule{}, fmt.Errorf("get schedule %d: %w", id, mapErr(ctx, err))
	}
	return s, nil
}

// ListSchedules returns every schedule by name.
func (db *DB) ListSchedules(ctx context.Context) ([]store.Schedule, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules ORDER BY name`)
	out, err := scanAll(rows, err, scanSchedule)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", mapErr(ctx, err))
	}
	return out, nil
}

// DeleteSchedule deletes a schedule and its runs.
func (db *DB) DeleteSchedule(ctx context.Context, id int64) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete schedule %d: %w", id, mapErr(ctx, err))
	}
	return nil
}

// ListScheduleRuns returns a schedule's runs, newest due time first.
func (db *DB) ListScheduleRuns(ctx context.Context, scheduleID int64, f store.RunFilter) ([]store.ScheduleRun, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var before any
	if !f.Before.IsZero() {
		before = toDB(f.Before)
	}
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT `+runColumns+` FROM schedule_runs
		WHERE schedule_id = ? AND (? = '' OR state = ?) AND (? IS NULL OR due_at < ?)
		ORDER BY due_at DESC LIMIT ?`, scheduleID, string(f.State), string(f.State), before, before, limit)
	out, err := scanAll(rows, err, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list runs of schedule %d: %w", scheduleID, mapErr(ctx, err))
	}
	return out, nil
}

// FireDue decides the due schedules. Its transaction is BEGIN IMMEDIATE
// (see [Open]), so FireDue runs one at a time across every process sharing
// the file, and the unique key of schedule_runs backs that up. See
// [store.Store].
func (db *DB) FireDue(ctx context.Context, f store.FireDue) (store.FireResult, error) {
	f, err := store.ValidateFireDue(f)
	if err != nil {
		return store.FireResult{}, fmt.Errorf("fire due: %w", err)
	}
	f.Now, f.LeaseUntil = micro(f.Now), micro(f.LeaseUntil)
	now := toDB(f.Now)
	var res store.FireResult
	// Most rounds find nothing to do: find that out on a reader, so that a
	// scheduler's round each second does not take the one write lock that
	// the workers' commits queue for.
	var (
		work bool
		next sql.NullInt64
	)
	if err := db.rdb.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM schedules s WHERE paused = 0 AND (next_due <= ?1 OR EXISTS (
		           SELECT 1 FROM schedule_runs r WHERE r.schedule_id = s.id
		             AND (r.state = 'queued' OR (r.state = 'pending' AND r.lease_until <= ?1))))),
		       (SELECT min(next_due) FROM schedules WHERE paused = 0)`, now).Scan(&work, &next); err != nil {
		return store.FireResult{}, fmt.Errorf("fire due: %w", mapErr(ctx, err))
	}
	if !work {
		if next.Valid {
			res.NextDue = fromDB(next.Int64)
		}
		return res, nil
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		res = store.FireResult{}
		rows, err := tx.QueryContext(ctx, `
			SELECT `+scheduleColumns+` FROM schedules s
			WHERE paused = 0 AND (next_due <= ? OR EXISTS (
			    SELECT 1 FROM schedule_runs r
			    WHERE r.schedule_id = s.id
			      AND (r.state = 'queued' OR (r.state = 'pending' AND r.lease_until <= ?))))
			ORDER BY next_due, id
			LIMIT ?`, now, now, f.Limit)
		due, err := scanAll(rows, err, scanSchedule)
		if err != nil {
			return err
		}
		ops := liteFireOps{tx: tx, f: f}
		for _, s := range due {
			if err := store.FireOne(ctx, ops, s, f, &res); err != nil {
				return fmt.Errorf("schedule %d: %w", s.ID, err)
			}
		}
		var next sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(next_due) FROM schedules WHERE paused = 0`).Scan(&next); err != nil {
			return err
		}
		if next.Valid {
			res.NextDue = fromDB(next.Int64)
		}
		return nil
	})
	if err != nil {
		return store.FireResult{}, fmt.Errorf("fire due: %w", mapErr(ctx, err))
	}
	return res, nil
}

// liteFireOps carries out FireOne's steps inside FireDue's transaction.
type liteFireOps struct {
	tx *sql.Tx
	f  store.FireDue
}

func (o liteFireOps) Relet(ctx context.Context, id int64) ([]store.ScheduleRun, error) {
	now := toDB(o.f.Now)
	rows, err := o.tx.QueryContext(ctx, `
		UPDATE schedule_runs SET lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE schedule_id = ? AND state = 'pending' AND lease_until <= ?
		RETURNING `+runColumns, o.f.Owner, toDB(o.f.LeaseUntil), now, id, now)
	return scanAll(rows, err, scanRun)
}

func (o liteFireOps) Status(ctx context.Context, id int64) (busy, queued bool, err error) {
	// Runs fire one after another, so only the latest fired run's job can
	// still be going.
	err = o.tx.QueryRowContext(ctx, `
		SELECT
		    EXISTS (SELECT 1 FROM schedule_runs WHERE schedule_id = ?1 AND state = 'pending')
		    OR coalesce((SELECT j.state IN ('queued', 'running', 'paused') FROM schedule_runs r JOIN jobs j ON j.id = r.job_id
		        WHERE r.schedule_id = ?1 AND r.state = 'fired' ORDER BY r.due_at DESC LIMIT 1), 0),
		    EXISTS (SELECT 1 FROM schedule_runs WHERE schedule_id = ?1 AND state = 'queued')`, id).Scan(&busy, &queued)
	return busy, queued, err
}

func (o liteFireOps) Promote(ctx context.Context, id int64) (store.ScheduleRun, error) {
	now := toDB(o.f.Now)
	return scanRun(o.tx.QueryRowContext(ctx, `
		UPDATE schedule_runs SET state = 'pending', lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE schedule_id = ? AND state = 'queued'
		RETURNING `+runColumns, o.f.Owner, toDB(o.f.LeaseUntil), now, id))
}

func (o liteFireOps) Insert(ctx context.Context, id int64, dueAt time.Time, state store.RunState) (store.ScheduleRun, bool, error) {
	owner, until := "", any(nil)
	if state == store.RunPending {
		owner, until = o.f.Owner, toDB(o.f.LeaseUntil)
	}
	now := toDB(o.f.Now)
	r, err := scanRun(o.tx.QueryRowContext(ctx, `
		INSERT INTO schedule_runs (schedule_id, due_at, state, lease_owner, lease_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (schedule_id, due_at) DO NOTHING
		RETURNING `+runColumns, id, toDB(dueAt), string(state), owner, until, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ScheduleRun{}, false, nil
	}
	return r, err == nil, err
}

func (o liteFireOps) Advance(ctx context.Context, id int64, next time.Time) error {
	_, err := o.tx.ExecContext(ctx, `UPDATE schedules SET next_due = ? WHERE id = ?`, toDB(next), id)
	return err
}

func (o liteFireOps) Halt(ctx context.Context, id int64, reason string) error {
	_, err := o.tx.ExecContext(ctx, `
		UPDATE schedules SET paused = 1, last_error = ?, updated_at = ? WHERE id = ?`, reason, toDB(o.f.Now), id)
	return err
}

// FailRun marks a pending run failed. See [store.Store].
func (db *DB) FailRun(ctx context.Context, runID int64, owner, reason string, now time.Time) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var state, leaseOwner string
		if err := tx.QueryRowContext(ctx, `SELECT state, lease_owner FROM schedule_runs WHERE id = ?`, runID).Scan(&state, &leaseOwner); err != nil {
			return err
		}
		if state != string(store.RunPending) {
			return fmt.Errorf("run is %s: %w", state, store.ErrConflict)
		}
		if leaseOwner != owner {
			return fmt.Errorf("run is leased to another scheduler: %w", store.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE schedule_runs SET state = 'failed', error = ?, lease_owner = '', lease_until = NULL, updated_at = ?
			WHERE id = ?`, reason, toDB(now), runID)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail run %d: %w", runID, mapErr(ctx, err))
	}
	return nil
}

// fireRun marks run fired by jobID inside CreateJob's transaction.
func fireRun(ctx context.Context, tx *sql.Tx, runID, jobID int64, now int64) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE schedule_runs SET state = 'fired', job_id = ?, lease_owner = '', lease_until = NULL, updated_at = ?
		WHERE id = ? AND state = 'pending'`, jobID, now, runID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("schedule run %d is not pending: %w", runID, store.ErrConflict)
	}
	return nil
}

// ResultMarks returns each task's greatest ok result key, numerically for
// decimal keys. See [store.Store].
func (db *DB) ResultMarks(ctx context.Context, jobID int64) ([]store.ResultMark, error) {
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT task_id, payload, item_key FROM (
		    SELECT r.task_id, t.payload, r.item_key,
		           row_number() OVER (PARTITION BY r.task_id ORDER BY length(r.item_key) DESC, r.item_key DESC) AS n
		    FROM results r JOIN tasks t ON t.id = r.task_id
		    WHERE r.job_id = ? AND r.status = 'ok')
		WHERE n = 1 ORDER BY task_id`, jobID)
	marks, err := scanAll(rows, err, func(sc scanner) (store.ResultMark, error) {
		var (
			m       store.ResultMark
			payload sql.NullString
		)
		err := sc.Scan(&m.TaskID, &payload, &m.Key)
		if payload.Valid {
			m.Payload = []byte(payload.String)
		}
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("result marks of job %d: %w", jobID, mapErr(ctx, err))
	}
	return marks, nil
}
