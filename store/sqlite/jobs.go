package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pacerhq/pacer/store"
)

// batchSize is how many rows one multi-row INSERT carries: a million tasks
// take two thousand statements, and a batch of results (7 values a row)
// stays far below SQLite's 32,766 bind parameters.
const batchSize = 500

const jobColumns = `id, kind, params, credential, state,
	items_total, items_done, items_failed, tasks_total, tasks_done, tasks_failed, requests,
	summary, last_error, created_at, updated_at, started_at, finished_at, wait_quota, wait_until,
	notify_webhook, notify_email`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanJob(s scanner) (store.Job, error) {
	var (
		j                            store.Job
		created, updated             int64
		started, finished, waitUntil sql.NullInt64
	)
	if err := s.Scan(&j.ID, &j.Kind, &j.Params, &j.Credential, &j.State,
		&j.ItemsTotal, &j.ItemsDone, &j.ItemsFailed, &j.TasksTotal, &j.TasksDone, &j.TasksFailed, &j.Requests,
		&j.Summary, &j.LastError, &created, &updated, &started, &finished, &j.WaitQuota, &waitUntil,
		&j.NotifyWebhook, &j.NotifyEmail); err != nil {
		return store.Job{}, err
	}
	j.CreatedAt, j.UpdatedAt = fromDB(created), fromDB(updated)
	j.StartedAt, j.FinishedAt = fromDBNull(started), fromDBNull(finished)
	j.WaitUntil = fromDBNull(waitUntil)
	return j, nil
}

// CreateJob inserts a queued job and the tasks pulled from next, streaming
// them in batches of 500 rows inside one transaction. See [store.Store].
func (db *DB) CreateJob(ctx context.Context, job store.NewJob, now time.Time, next func() (store.NewTask, error)) (store.Job, error) {
	if err := store.ValidateNewJob(job); err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", err)
	}
	nowDB := toDB(now)
	var (
		out     store.Job
		nextErr error
	)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO jobs (kind, params, credential, state, created_at, updated_at, notify_webhook, notify_email)
			VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
			job.Kind, string(job.Params), job.Credential, nowDB, nowDB, job.NotifyWebhook, job.NotifyEmail)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if job.Run != 0 {
			if err := fireRun(ctx, tx, job.Run, id, nowDB); err != nil {
				return err
			}
		}
		var items, tasks int64
		batch := make([]store.NewTask, 0, batchSize)
		for {
			t, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				nextErr = err
				return err
			}
			tasks++
			if err := store.ValidateNewTask(t); err != nil {
				return fmt.Errorf("task %d: %w", tasks, err)
			}
			items += int64(t.Items)
			batch = append(batch, t)
			if len(batch) == batchSize {
				if err := insertTasks(ctx, tx, id, store.TaskPending, nowDB, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := insertTasks(ctx, tx, id, store.TaskPending, nowDB, batch); err != nil {
			return err
		}
		out, err = scanJob(tx.QueryRowContext(ctx, `
			UPDATE jobs SET items_total = ?, tasks_total = ?
			WHERE id = ?
			RETURNING `+jobColumns, items, tasks, id))
		return err
	})
	if nextErr != nil {
		return store.Job{}, nextErr
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", mapErr(ctx, err))
	}
	return out, nil
}

// insertTasks inserts tasks for jobID in batches, in order, so that their ids
// ascend in the order given. They are due at now.
func insertTasks(ctx context.Context, q querier, jobID int64, state store.TaskState, now int64, tasks []store.NewTask) error {
	for len(tasks) > 0 {
		n := min(len(tasks), batchSize)
		var b strings.Builder
		b.WriteString(`INSERT INTO tasks (job_id, state, run_at, created_at, updated_at, payload, items) VALUES `)
		args := make([]any, 0, 7*n)
		for i, t := range tasks[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, jobID, string(state), now, now, now, jsonArg(t.Payload), t.Items)
		}
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		tasks = tasks[n:]
	}
	return nil
}

// GetJob returns one job, or store.ErrNotFound.
func (db *DB) GetJob(ctx context.Context, id int64) (store.Job, error) {
	j, err := getJob(ctx, db.rdb, id)
	if err != nil {
		return store.Job{}, fmt.Errorf("get job %d: %w", id, mapErr(ctx, err))
	}
	return j, nil
}

func getJob(ctx context.Context, q querier, id int64) (store.Job, error) {
	return scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
}

// ListJobs returns jobs newest first. See [store.JobFilter].
func (db *DB) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var (
		where []string
		args  []any
	)
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	query := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	var jobs []store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", mapErr(ctx, err))
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", mapErr(ctx, err))
	}
	return jobs, nil
}

// CountJobs returns how many jobs are in each (kind, state).
func (db *DB) CountJobs(ctx context.Context) (map[store.JobKindState]int64, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT kind, state, count(*) FROM jobs GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	out := make(map[store.JobKindState]int64)
	for rows.Next() {
		var (
			k store.JobKindState
			n int64
		)
		if err := rows.Scan(&k.Kind, &k.State, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", mapErr(ctx, err))
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", mapErr(ctx, err))
	}
	return out, nil
}

// CancelJob cancels a job that has not finished and its pending tasks. A task
// that a worker holds keeps its lease, so the worker can still commit what it
// fetched (see [DB.CompleteTask]).
func (db *DB) CancelJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	nowDB := toDB(now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if j.State.Finished() {
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks SET state = 'cancelled', updated_at = ?
			WHERE job_id = ? AND state = 'pending'`, nowDB, id); err != nil {
			return err
		}
		out, err = scanJob(tx.QueryRowContext(ctx, `
			UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?,
			    wait_quota = '', wait_until = NULL
			WHERE id = ?
			RETURNING `+jobColumns, nowDB, nowDB, id))
		if err != nil {
			return err
		}
		return insertNotifications(ctx, tx, out, nowDB)
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("cancel job %d: %w", id, mapErr(ctx, err))
	}
	return out, nil
}

// PauseJob moves a queued or running job to paused. Its tasks stay as they
// are; DispatchDue and ClaimTask skip them while the job is paused.
func (db *DB) PauseJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	nowDB := toDB(now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if j.State != store.JobQueued && j.State != store.JobRunning {
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		out, err = scanJob(tx.QueryRowContext(ctx, `
			UPDATE jobs SET state = 'paused', updated_at = ?
			WHERE id = ?
			RETURNING `+jobColumns, nowDB, id))
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("pause job %d: %w", id, mapErr(ctx, err))
	}
	return out, nil
}

// ResumeJob moves a paused job back to running, or to queued if none of its
// tasks was ever claimed, and clears published_at of its pending tasks so the
// next DispatchDue hands them out at once.
func (db *DB) ResumeJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	nowDB := toDB(now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if j.State != store.JobPaused {
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks SET published_at = NULL
			WHERE job_id = ? AND state = 'pending' AND published_at IS NOT NULL`, id); err != nil {
			return err
		}
		out, err = scanJob(tx.QueryRowContext(ctx, `
			UPDATE jobs
			SET state = CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END,
			    updated_at = ?
			WHERE id = ?
			RETURNING `+jobColumns, nowDB, id))
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("resume job %d: %w", id, mapErr(ctx, err))
	}
	return out, nil
}

// jsonArg binds b to a JSON column: NULL when empty, else its text (the
// columns are STRICT TEXT, which refuses a BLOB).
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
