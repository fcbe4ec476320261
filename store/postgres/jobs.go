package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pacerhq/pacer/store"
)

// batchSize is how many rows one multi-row INSERT carries. Large enough that
// a million tasks take two thousand statements, small enough that a batch
// stays far below PostgreSQL's 65,535 bind parameters.
const batchSize = 500

const jobColumns = `id, kind, params, credential, state,
	items_total, items_done, items_failed, tasks_total, tasks_done, tasks_failed, requests,
	summary, last_error, created_at, updated_at, started_at, finished_at, wait_quota, wait_until,
	notify_webhook, notify_email`

// unfinished is the SQL list of job states that are not terminal.
const unfinished = `('queued', 'running', 'paused')`

// CreateJob inserts a queued job and the tasks pulled from next, streaming
// them in batches of 500 rows inside one transaction. See [store.Store].
func (db *DB) CreateJob(ctx context.Context, job store.NewJob, now time.Time, next func() (store.NewTask, error)) (store.Job, error) {
	if err := store.ValidateNewJob(job); err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", err)
	}
	now = micro(now)
	var (
		out     store.Job
		nextErr error
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := sqlx.GetContext(ctx, tx, &id, `
			INSERT INTO jobs (kind, params, credential, state, created_at, updated_at, notify_webhook, notify_email)
			VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6)
			RETURNING id`,
			job.Kind, string(job.Params), job.Credential, now, job.NotifyWebhook, job.NotifyEmail); err != nil {
			return err
		}
		if job.Run != 0 {
			if err := fireRun(ctx, tx, job.Run, id, now); err != nil {
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
				if err := insertTasks(ctx, tx, id, store.TaskPending, now, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := insertTasks(ctx, tx, id, store.TaskPending, now, batch); err != nil {
			return err
		}
		return sqlx.GetContext(ctx, tx, &out, `
			UPDATE jobs SET items_total = $2, tasks_total = $3
			WHERE id = $1
			RETURNING `+jobColumns, id, items, tasks)
	})
	if nextErr != nil {
		return store.Job{}, nextErr
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", mapErr(ctx, err))
	}
	return normJob(out), nil
}

// insertTasks inserts tasks for jobID in batches, in order, so that their ids
// ascend in the order given. They are due at now.
func insertTasks(ctx context.Context, q sqlx.ExtContext, jobID int64, state store.TaskState, now time.Time, tasks []store.NewTask) error {
	for len(tasks) > 0 {
		n := min(len(tasks), batchSize)
		var b strings.Builder
		b.WriteString(`INSERT INTO tasks (job_id, state, run_at, created_at, updated_at, payload, items) VALUES `)
		args := make([]any, 0, 3+2*n)
		args = append(args, jobID, string(state), now)
		for i, t := range tasks[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "($1, $2, $3, $3, $3, $%d, $%d)", len(args)+1, len(args)+2)
			args = append(args, jsonArg(t.Payload), t.Items)
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
	j, err := getJob(ctx, db.db, id)
	if err != nil {
		return store.Job{}, fmt.Errorf("get job %d: %w", id, mapErr(ctx, err))
	}
	return j, nil
}

func getJob(ctx context.Context, q sqlx.ExtContext, id int64) (store.Job, error) {
	query := `SELECT ` + jobColumns + ` FROM jobs WHERE id = $1`
	var j store.Job
	if err := sqlx.GetContext(ctx, q, &j, query, id); err != nil {
		return store.Job{}, err
	}
	return normJob(j), nil
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
		args = append(args, string(f.State))
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		where = append(where, fmt.Sprintf("kind = $%d", len(args)))
	}
	if f.BeforeID > 0 {
		args = append(args, f.BeforeID)
		where = append(where, fmt.Sprintf("id < $%d", len(args)))
	}
	query := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	query += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	var jobs []store.Job
	if err := sqlx.SelectContext(ctx, db.db, &jobs, query, args...); err != nil {
		return nil, fmt.Errorf("list jobs: %w", mapErr(ctx, err))
	}
	for i := range jobs {
		jobs[i] = normJob(jobs[i])
	}
	return jobs, nil
}

// CountJobs returns how many jobs are in each (kind, state).
func (db *DB) CountJobs(ctx context.Context) (map[store.JobKindState]int64, error) {
	var rows []struct {
		Kind  string         `db:"kind"`
		State store.JobState `db:"state"`
		N     int64          `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, db.db, &rows,
		`SELECT kind, state, count(*) AS n FROM jobs GROUP BY kind, state`); err != nil {
		return nil, fmt.Errorf("count jobs: %w", mapErr(ctx, err))
	}
	out := make(map[store.JobKindState]int64, len(rows))
	for _, r := range rows {
		out[store.JobKindState{Kind: r.Kind, State: r.State}] = r.N
	}
	return out, nil
}

// CancelJob cancels a job that has not finished and its pending tasks. A task
// that a worker holds keeps its lease, so the worker can still commit what it
// fetched (see [DB.CompleteTask]).
func (db *DB) CancelJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	now = micro(now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if j.State.Finished() {
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		// Tasks first, then the job: CompleteTask and FailTask lock a task
		// and then its job, and taking locks in the same order everywhere
		// rules out deadlocks.
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks SET state = 'cancelled', updated_at = $2
			WHERE job_id = $1 AND state = 'pending'`, id, now); err != nil {
			return err
		}
		err = sqlx.GetContext(ctx, tx, &out, `
			UPDATE jobs SET state = 'cancelled', finished_at = $2, updated_at = $2,
			    wait_quota = '', wait_until = NULL
			WHERE id = $1 AND state IN `+unfinished+`
			RETURNING `+jobColumns, id, now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("job finished meanwhile: %w", store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return insertNotifications(ctx, tx, normJob(out), now)
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("cancel job %d: %w", id, mapErr(ctx, err))
	}
	return normJob(out), nil
}

// PauseJob moves a queued or running job to paused. Its tasks stay as they
// are; DispatchDue and ClaimTask skip them while the job is paused.
func (db *DB) PauseJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	now = micro(now)
	var out store.Job
	err := sqlx.GetContext(ctx, db.db, &out, `
		UPDATE jobs SET state = 'paused', updated_at = $2
		WHERE id = $1 AND state IN ('queued', 'running')
		RETURNING `+jobColumns, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		err = conflictOrNotFound(ctx, db.db, "jobs", id)
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("pause job %d: %w", id, mapErr(ctx, err))
	}
	return normJob(out), nil
}

// ResumeJob moves a paused job back to running, or to queued if none of its
// tasks was ever claimed, and clears published_at of its pending tasks so the
// next DispatchDue hands them out at once.
func (db *DB) ResumeJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	now = micro(now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if j.State != store.JobPaused {
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		// Tasks before the job, as in CancelJob.
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks SET published_at = NULL
			WHERE job_id = $1 AND state = 'pending' AND published_at IS NOT NULL`, id); err != nil {
			return err
		}
		err = sqlx.GetContext(ctx, tx, &out, `
			UPDATE jobs
			SET state = CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END,
			    updated_at = $2
			WHERE id = $1 AND state = 'paused'
			RETURNING `+jobColumns, id, now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("job changed state meanwhile: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("resume job %d: %w", id, mapErr(ctx, err))
	}
	return normJob(out), nil
}

// conflictOrNotFound tells apart, after a conditional UPDATE matched no row,
// a row that does not exist (store.ErrNotFound) from one in the wrong state
// (store.ErrConflict). table is a constant.
func conflictOrNotFound(ctx context.Context, q sqlx.ExtContext, table string, id int64) error {
	var exists bool
	if err := sqlx.GetContext(ctx, q, &exists,
		`SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrConflict
}

// jsonArg binds b to a json column: NULL when empty, else its text. A string,
// not []byte, so that the value is sent as text whatever the column type.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// micro normalizes t as the store keeps it: UTC, microsecond precision
// (PostgreSQL's timestamp resolution), truncated rather than rounded so that
// both stores agree.
func micro(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// normJob returns j with its times in UTC (lib/pq returns them in the
// session's time zone).
func normJob(j store.Job) store.Job {
	j.CreatedAt = j.CreatedAt.UTC()
	j.UpdatedAt = j.UpdatedAt.UTC()
	j.StartedAt = microPtr(j.StartedAt)
	j.FinishedAt = microPtr(j.FinishedAt)
	j.WaitUntil = microPtr(j.WaitUntil)
	return j
}
