package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pacerhq/pacer/store"
)

const scheduleColumns = `id, name, kind, credential, params, items, every_ns, cron, time_zone,
	overlap, missed, paused, next_due, last_error, created_at, updated_at, notify_webhook, notify_email`

const runColumns = `id, schedule_id, due_at, state, job_id, error, lease_owner, lease_until, created_at, updated_at`

func normSchedule(s store.Schedule) store.Schedule {
	s.NextDue = s.NextDue.UTC()
	s.CreatedAt = s.CreatedAt.UTC()
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s
}

func normRun(r store.ScheduleRun) store.ScheduleRun {
	r.DueAt = r.DueAt.UTC()
	r.LeaseUntil = microPtr(r.LeaseUntil)
	r.CreatedAt = r.CreatedAt.UTC()
	r.UpdatedAt = r.UpdatedAt.UTC()
	return r
}

// CreateSchedule inserts a schedule. See [store.Store].
func (db *DB) CreateSchedule(ctx context.Context, s store.Schedule, now time.Time) (store.Schedule, error) {
	if err := store.ValidateSchedule(s); err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	now = micro(now)
	var out store.Schedule
	err := sqlx.GetContext(ctx, db.db, &out, `
		INSERT INTO schedules (name, kind, credential, params, items, every_ns, cron, time_zone,
		    overlap, missed, paused, next_due, created_at, updated_at, notify_webhook, notify_email)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15)
		RETURNING `+scheduleColumns,
		s.Name, s.Kind, s.Credential, string(s.Params), s.Items, int64(s.Every), s.Cron, s.TimeZone,
		string(s.Overlap), string(s.Missed), s.Paused, micro(s.NextDue), now, s.NotifyWebhook, s.NotifyEmail)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule %q: %w", s.Name, mapErr(ctx, err))
	}
	return normSchedule(out), nil
}

// UpdateSchedule replaces a schedule's fields. See [store.Store].
func (db *DB) UpdateSchedule(ctx context.Context, s store.Schedule, now time.Time) (store.Schedule, error) {
	if err := store.ValidateSchedule(s); err != nil {
		return store.Schedule{}, fmt.Errorf("update schedule %d: %w", s.ID, err)
	}
	var out store.Schedule
	err := sqlx.GetContext(ctx, db.db, &out, `
		UPDATE schedules SET name = $2, kind = $3, credential = $4, params = $5, items = $6,
		    every_ns = $7, cron = $8, time_zone = $9, overlap = $10, missed = $11, paused = $12,
		    next_due = $13, last_error = '', updated_at = $14, notify_webhook = $15, notify_email = $16
		WHERE id = $1
		RETURNING `+scheduleColumns,
		s.ID, s.Name, s.Kind, s.Credential, string(s.Params), s.Items, int64(s.Every), s.Cron, s.TimeZone,
		string(s.Overlap), string(s.Missed), s.Paused, micro(s.NextDue), micro(now), s.NotifyWebhook, s.NotifyEmail)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("update schedule %d: %w", s.ID, mapErr(ctx, err))
	}
	return normSchedule(out), nil
}

// GetSchedule returns one schedule, or store.ErrNotFound.
func (db *DB) GetSchedule(ctx context.Context, id int64) (store.Schedule, error) {
	var out store.Schedule
	if err := sqlx.GetContext(ctx, db.db, &out, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`, id); err != nil {
		return store.Schedule{}, fmt.Errorf("get schedule %d: %w", id, mapErr(ctx, err))
	}
	return normSchedule(out), nil
}

// ListSchedules returns every schedule by name.
func (db *DB) ListSchedules(ctx context.Context) ([]store.Schedule, error) {
	var out []store.Schedule
	if err := sqlx.SelectContext(ctx, db.db, &out, `SELECT `+scheduleColumns+` FROM schedules ORDER BY name COLLATE "C"`); err != nil {
		return nil, fmt.Errorf("list schedules: %w", mapErr(ctx, err))
	}
	for i := range out {
		out[i] = normSchedule(out[i])
	}
	return out, nil
}

// DeleteSchedule deletes a schedule and its runs.
func (db *DB) DeleteSchedule(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = store.ErrNotFound
		}
	}
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
		before = micro(f.Before)
	}
	var out []store.ScheduleRun
	err := sqlx.SelectContext(ctx, db.db, &out, `
		SELECT `+runColumns+` FROM schedule_runs
		WHERE schedule_id = $1 AND ($2 = '' OR state = $2) AND ($3::timestamptz IS NULL OR due_at < $3)
		ORDER BY due_at DESC LIMIT $4`, scheduleID, string(f.State), before, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs of schedule %d: %w", scheduleID, mapErr(ctx, err))
	}
	for i := range out {
		out[i] = normRun(out[i])
	}
	return out, nil
}

// FireDue decides the due schedules. It locks each schedule it works on
// with FOR UPDATE SKIP LOCKED, so that concurrent callers share the due
// schedules between them instead of queueing on one another, and the unique
// key of schedule_runs makes a second decision of one due time impossible
// even if a lock were lost. See [store.Store].
func (db *DB) FireDue(ctx context.Context, f store.FireDue) (store.FireResult, error) {
	f, err := store.ValidateFireDue(f)
	if err != nil {
		return store.FireResult{}, fmt.Errorf("fire due: %w", err)
	}
	f.Now, f.LeaseUntil = micro(f.Now), micro(f.LeaseUntil)
	var res store.FireResult
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		res = store.FireResult{}
		var due []store.Schedule
		if err := sqlx.SelectContext(ctx, tx, &due, `
			SELECT `+scheduleColumns+` FROM schedules s
			WHERE NOT paused AND (next_due <= $1 OR EXISTS (
			    SELECT 1 FROM schedule_runs r
			    WHERE r.schedule_id = s.id
			      AND (r.state = 'queued' OR (r.state = 'pending' AND r.lease_until <= $1))))
			ORDER BY next_due, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED`, f.Now, f.Limit); err != nil {
			return err
		}
		ops := pgFireOps{tx: tx, f: f}
		for _, s := range due {
			if err := store.FireOne(ctx, ops, normSchedule(s), f, &res); err != nil {
				return fmt.Errorf("schedule %d: %w", s.ID, err)
			}
		}
		var next sql.NullTime
		if err := sqlx.GetContext(ctx, tx, &next, `SELECT min(next_due) FROM schedules WHERE NOT paused`); err != nil {
			return err
		}
		if next.Valid {
			res.NextDue = next.Time.UTC()
		}
		return nil
	})
	if err != nil {
		return store.FireResult{}, fmt.Errorf("fire due: %w", mapErr(ctx, err))
	}
	return res, nil
}

// pgFireOps carries out FireOne's steps inside FireDue's transaction.
type pgFireOps struct {
	tx *sqlx.Tx
	f  store.FireDue
}

func (o pgFireOps) Relet(ctx context.Context, id int64) ([]store.ScheduleRun, error) {
	var runs []store.ScheduleRun
	err := sqlx.SelectContext(ctx, o.tx, &runs, `
		UPDATE schedule_runs SET lease_owner = $2, lease_until = $3, updated_at = $4
		WHERE schedule_id = $1 AND state = 'pending' AND lease_until <= $4
		RETURNING `+runColumns, id, o.f.Owner, o.f.LeaseUntil, o.f.Now)
	for i := range runs {
		runs[i] = normRun(runs[i])
	}
	return runs, err
}

func (o pgFireOps) Status(ctx context.Context, id int64) (busy, queued bool, err error) {
	// Runs fire one after another, so only the latest fired run's job can
	// still be going.
	err = o.tx.QueryRowxContext(ctx, `
		SELECT
		    EXISTS (SELECT 1 FROM schedule_runs WHERE schedule_id = $1 AND state = 'pending')
		    OR coalesce((SELECT j.state IN `+unfinished+` FROM schedule_runs r JOIN jobs j ON j.id = r.job_id
		        WHERE r.schedule_id = $1 AND r.state = 'fired' ORDER BY r.due_at DESC LIMIT 1), false),
		    EXISTS (SELECT 1 FROM schedule_runs WHERE schedule_id = $1 AND state = 'queued')`, id).Scan(&busy, &queued)
	return busy, queued, err
}

func (o pgFireOps) Promote(ctx context.Context, id int64) (store.ScheduleRun, error) {
	var r store.ScheduleRun
	err := sqlx.GetContext(ctx, o.tx, &r, `
		UPDATE schedule_runs SET state = 'pending', lease_owner = $2, lease_until = $3, updated_at = $4
		WHERE schedule_id = $1 AND state = 'queued'
		RETURNING `+runColumns, id, o.f.Owner, o.f.LeaseUntil, o.f.Now)
	return normRun(r), err
}

func (o pgFireOps) Insert(ctx context.Context, id int64, dueAt time.Time, state store.RunState) (store.ScheduleRun, bool, error) {
	owner, until := "", (*time.Time)(nil)
	if state == store.RunPending {
		owner, until = o.f.Owner, &o.f.LeaseUntil
	}
	var r store.ScheduleRun
	err := sqlx.GetContext(ctx, o.tx, &r, `
		INSERT INTO schedule_runs (schedule_id, due_at, state, lease_owner, lease_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (schedule_id, due_at) DO NOTHING
		RETURNING `+runColumns, id, micro(dueAt), string(state), owner, until, o.f.Now)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ScheduleRun{}, false, nil
	}
	return normRun(r), err == nil, err
}

func (o pgFireOps) Advance(ctx context.Context, id int64, next time.Time) error {
	_, err := o.tx.ExecContext(ctx, `UPDATE schedules SET next_due = $2 WHERE id = $1`, id, micro(next))
	return err
}

func (o pgFireOps) Halt(ctx context.Context, id int64, reason string) error {
	_, err := o.tx.ExecContext(ctx, `
		UPDATE schedules SET paused = true, last_error = $2, updated_at = $3 WHERE id = $1`, id, reason, o.f.Now)
	return err
}

// FailRun marks a pending run failed. See [store.Store].
func (db *DB) FailRun(ctx context.Context, runID int64, owner, reason string, now time.Time) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE schedule_runs SET state = 'failed', error = $2, lease_owner = '', lease_until = NULL, updated_at = $3
		WHERE id = $1 AND state = 'pending' AND lease_owner = $4`, runID, reason, micro(now), owner)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = conflictOrNotFound(ctx, db.db, "schedule_runs", runID)
		}
	}
	if err != nil {
		return fmt.Errorf("fail run %d: %w", runID, mapErr(ctx, err))
	}
	return nil
}

// fireRun marks run fired by jobID inside CreateJob's transaction.
func fireRun(ctx context.Context, tx *sqlx.Tx, runID, jobID int64, now time.Time) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE schedule_runs SET state = 'fired', job_id = $2, lease_owner = '', lease_until = NULL, updated_at = $3
		WHERE id = $1 AND state = 'pending'`, runID, jobID, now)
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
	var marks []store.ResultMark
	err := sqlx.SelectContext(ctx, db.db, &marks, `
		SELECT DISTINCT ON (r.task_id) r.task_id, t.payload, r.item_key
		FROM results r JOIN tasks t ON t.id = r.task_id
		WHERE r.job_id = $1 AND r.status = 'ok'
		ORDER BY r.task_id, length(r.item_key) DESC, r.item_key DESC`, jobID)
	if err != nil {
		return nil, fmt.Errorf("result marks of job %d: %w", jobID, mapErr(ctx, err))
	}
	return marks, nil
}
