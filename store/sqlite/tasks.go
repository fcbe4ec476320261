package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pacerhq/pacer/store"
)

const taskColumns = `id, job_id, payload, items, state, attempts, run_at, last_error,
	lease_owner, lease_until, published_at, created_at, updated_at`

func scanTask(s scanner) (store.Task, error) {
	var (
		t                       store.Task
		runAt, created, updated int64
		leaseUntil, publishedAt sql.NullInt64
	)
	if err := s.Scan(&t.ID, &t.JobID, &t.Payload, &t.Items, &t.State, &t.Attempts, &runAt, &t.LastError,
		&t.LeaseOwner, &leaseUntil, &publishedAt, &created, &updated); err != nil {
		return store.Task{}, err
	}
	t.RunAt, t.CreatedAt, t.UpdatedAt = fromDB(runAt), fromDB(created), fromDB(updated)
	t.LeaseUntil, t.PublishedAt = fromDBNull(leaseUntil), fromDBNull(publishedAt)
	return t, nil
}

// DispatchDue stamps up to limit dispatchable tasks published_at = now and
// returns their ids, oldest run_at first. The pick and the stamp share one
// IMMEDIATE transaction on the single writer connection, so concurrent
// callers in this process run one after another and other processes wait for
// the file's write lock: no two callers see the same task unstamped. A limit
// of zero or less returns no ids.
func (db *DB) DispatchDue(ctx context.Context, now time.Time, republishAfter time.Duration, limit int) ([]int64, error) {
	if republishAfter < 0 {
		return nil, fmt.Errorf("dispatch due: republish after %v is negative", republishAfter)
	}
	if limit <= 0 {
		return nil, nil
	}
	now = micro(now)
	var ids []int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
			WHERE t.state = 'pending'
			  AND t.run_at <= ?
			  AND (t.lease_owner = '' OR t.lease_until <= ?)
			  AND (t.published_at IS NULL OR t.published_at < ?)
			  AND j.state IN ('queued', 'running')
			ORDER BY t.run_at, t.id
			LIMIT ?`, toDB(now), toDB(now), toDB(now.Add(-republishAfter)), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		args := make([]any, 0, len(ids)+1)
		args = append(args, toDB(now))
		for _, id := range ids {
			args = append(args, id)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE tasks SET published_at = ? WHERE id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch due: %w", mapErr(ctx, err))
	}
	return ids, nil
}

// Undispatch clears published_at of the given pending tasks.
func (db *DB) Undispatch(ctx context.Context, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), batchSize)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		if _, err := db.wdb.ExecContext(ctx, `
			UPDATE tasks SET published_at = NULL
			WHERE state = 'pending' AND id IN (`+placeholders(n)+`)`, args...); err != nil {
			return fmt.Errorf("undispatch %d tasks: %w", len(ids), mapErr(ctx, err))
		}
		ids = ids[n:]
	}
	return nil
}

// ClaimTask leases a task to owner. A task that owner already holds may be
// claimed again by owner (a redelivery), which counts another attempt. See
// [store.Store].
func (db *DB) ClaimTask(ctx context.Context, id int64, owner string, now, leaseUntil time.Time) (store.Task, store.Job, error) {
	if err := store.ValidateClaim(owner, now, leaseUntil); err != nil {
		return store.Task{}, store.Job{}, fmt.Errorf("claim task %d: %w", id, err)
	}
	nowDB := toDB(now)
	var (
		t store.Task
		j store.Job
	)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = getTask(ctx, tx, id); err != nil {
			return err
		}
		if j, err = getJob(ctx, tx, t.JobID); err != nil {
			return err
		}
		switch {
		case t.State != store.TaskPending:
			return fmt.Errorf("task is %s: %w", t.State, store.ErrConflict)
		case t.RunAt.After(micro(now)):
			return fmt.Errorf("task is not due until %v: %w", t.RunAt, store.ErrConflict)
		case t.LeaseOwner != "" && t.LeaseOwner != owner && t.LeaseUntil != nil && t.LeaseUntil.After(micro(now)):
			return fmt.Errorf("task is leased to %q until %v: %w", t.LeaseOwner, t.LeaseUntil, store.ErrConflict)
		case j.State != store.JobQueued && j.State != store.JobRunning:
			return fmt.Errorf("job is %s: %w", j.State, store.ErrConflict)
		}
		if t, err = scanTask(tx.QueryRowContext(ctx, `
			UPDATE tasks
			SET attempts = attempts + 1, lease_owner = ?, lease_until = ?,
			    published_at = NULL, updated_at = ?
			WHERE id = ?
			RETURNING `+taskColumns, owner, toDB(leaseUntil), nowDB, id)); err != nil {
			return err
		}
		if j.State == store.JobQueued {
			j, err = scanJob(tx.QueryRowContext(ctx, `
				UPDATE jobs SET state = 'running', started_at = ?, updated_at = ?
				WHERE id = ?
				RETURNING `+jobColumns, nowDB, nowDB, j.ID))
		}
		return err
	})
	if err != nil {
		return store.Task{}, store.Job{}, fmt.Errorf("claim task %d: %w", id, mapErr(ctx, err))
	}
	return t, j, nil
}

// CompleteTask commits a task's results, follow-ups and done mark with its
// job's counters. If the job was cancelled while the task ran, the results
// and counters still commit, the follow-ups are recorded as cancelled, and
// the job stays cancelled. See [store.Store].
func (db *DB) CompleteTask(ctx context.Context, c store.Completion) (store.Job, error) {
	results, err := store.ValidateCompletion(c)
	if err != nil {
		return store.Job{}, fmt.Errorf("complete task %d: %w", c.TaskID, err)
	}
	nowDB := toDB(c.Now)
	var out store.Job
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		t, err := leasedTask(ctx, tx, c.TaskID, c.Owner)
		if err != nil {
			return err
		}
		j, err := getJob(ctx, tx, t.JobID)
		if err != nil {
			return err
		}
		if err := upsertResults(ctx, tx, t.JobID, t.ID, nowDB, results); err != nil {
			return err
		}
		if err := insertInstances(ctx, tx, t.JobID, nowDB, c.Instances); err != nil {
			return err
		}
		followState := store.TaskPending
		if j.State == store.JobCancelled {
			followState = store.TaskCancelled
		}
		if err := insertTasks(ctx, tx, t.JobID, followState, nowDB, c.FollowUps); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET state = 'done', lease_owner = '', lease_until = NULL, published_at = NULL, updated_at = ?
			WHERE id = ?`, nowDB, t.ID); err != nil {
			return err
		}
		d := delta{tasksDone: 1, requests: int64(c.Requests), tasksTotal: int64(len(c.FollowUps))}
		if t.Items > 0 {
			d.itemsDone = int64(t.Items)
		} else {
			d.itemsDone = int64(len(results))
			d.itemsTotal = int64(len(results))
		}
		for _, f := range c.FollowUps {
			d.itemsTotal += int64(f.Items)
		}
		out, err = settleJob(ctx, tx, t.JobID, d, nowDB, c.Finish)
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("complete task %d: %w", c.TaskID, mapErr(ctx, err))
	}
	return out, nil
}

// RetryTask puts a leased task back to pending at r.RunAt. A task whose job
// was cancelled while it ran only loses its lease and stays cancelled.
func (db *DB) RetryTask(ctx context.Context, r store.Retry) error {
	if err := store.ValidateRetry(r); err != nil {
		return fmt.Errorf("retry task %d: %w", r.TaskID, err)
	}
	nowDB := toDB(r.Now)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		t, err := leasedTask(ctx, tx, r.TaskID, r.Owner)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET run_at = ?, lease_owner = '', lease_until = NULL, published_at = NULL,
			    attempts = CASE WHEN ? THEN max(attempts - 1, 0) ELSE attempts END,
			    last_error = CASE WHEN ? = '' THEN last_error ELSE ? END,
			    updated_at = ?
			WHERE id = ?`, toDB(r.RunAt), r.Refund, r.Error, r.Error, nowDB, t.ID); err != nil {
			return err
		}
		d := delta{requests: int64(r.Requests), lastError: r.Error, waitQuota: r.WaitQuota, waitUntil: toDB(r.RunAt)}
		_, err = settleJob(ctx, tx, t.JobID, d, nowDB, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("retry task %d: %w", r.TaskID, mapErr(ctx, err))
	}
	return nil
}

// FailTask marks a leased task failed for good. If its job was cancelled
// while it ran, the counters still move and the job stays cancelled.
func (db *DB) FailTask(ctx context.Context, f store.Failure) (store.Job, error) {
	if err := store.ValidateFailure(f); err != nil {
		return store.Job{}, fmt.Errorf("fail task %d: %w", f.TaskID, err)
	}
	nowDB := toDB(f.Now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		t, err := leasedTask(ctx, tx, f.TaskID, f.Owner)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET state = 'failed', last_error = ?,
			    lease_owner = '', lease_until = NULL, published_at = NULL, updated_at = ?
			WHERE id = ?`, f.Error, nowDB, t.ID); err != nil {
			return err
		}
		d := delta{tasksFailed: 1, itemsFailed: int64(t.Items), requests: int64(f.Requests), lastError: f.Error}
		out, err = settleJob(ctx, tx, t.JobID, d, nowDB, f.Finish)
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("fail task %d: %w", f.TaskID, mapErr(ctx, err))
	}
	return out, nil
}

// GetTask returns one task, or store.ErrNotFound.
func (db *DB) GetTask(ctx context.Context, id int64) (store.Task, error) {
	t, err := getTask(ctx, db.rdb, id)
	if err != nil {
		return store.Task{}, fmt.Errorf("get task %d: %w", id, mapErr(ctx, err))
	}
	return t, nil
}

func getTask(ctx context.Context, q querier, id int64) (store.Task, error) {
	return scanTask(q.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
}

// CountTasks returns how many of a job's tasks are in each state; an unknown
// job has none. The job's counters answer, unless it was cancelled
// ([store.TaskCountsFromJob]); then its tasks are counted.
func (db *DB) CountTasks(ctx context.Context, jobID int64) (map[store.TaskState]int64, error) {
	j, err := db.GetJob(ctx, jobID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return map[store.TaskState]int64{}, nil
	case err != nil:
		return nil, fmt.Errorf("count tasks of job %d: %w", jobID, err)
	}
	if counts, ok := store.TaskCountsFromJob(j); ok {
		return counts, nil
	}
	rows, err := db.rdb.QueryContext(ctx,
		`SELECT state, count(*) FROM tasks WHERE job_id = ? GROUP BY state`, jobID)
	if err != nil {
		return nil, fmt.Errorf("count tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	out := make(map[store.TaskState]int64)
	for rows.Next() {
		var (
			s store.TaskState
			n int64
		)
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count tasks of job %d: %w", jobID, mapErr(ctx, err))
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	return out, nil
}

// ListErroredTasks returns up to limit of a job's tasks with a last error,
// most recently updated first. A limit of zero or less returns none.
func (db *DB) ListErroredTasks(ctx context.Context, jobID int64, limit int) ([]store.Task, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT `+taskColumns+` FROM tasks
		WHERE job_id = ? AND last_error <> ''
		ORDER BY updated_at DESC, id DESC
		LIMIT ?`, jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("list errored tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	var tasks []store.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("list errored tasks of job %d: %w", jobID, mapErr(ctx, err))
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list errored tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	return tasks, nil
}

// leasedTask reads task id and checks that owner holds its lease: the task
// must be pending (or cancelled while it ran) and leased to owner. A lease
// that expired without anyone else claiming the task still counts as held.
// The IMMEDIATE transaction keeps the row from changing until commit.
func leasedTask(ctx context.Context, tx *sql.Tx, id int64, owner string) (store.Task, error) {
	t, err := getTask(ctx, tx, id)
	if err != nil {
		return store.Task{}, err
	}
	if err := store.CheckLease(t, owner); err != nil {
		return store.Task{}, err
	}
	return t, nil
}

// delta is what a task's end adds to its job's counters.
type delta struct {
	itemsTotal, itemsDone, itemsFailed int64
	tasksTotal, tasksDone, tasksFailed int64
	requests                           int64
	lastError                          string // "" keeps the job's
	// waitQuota, if not "", is the quota a snoozed task waits for until
	// waitUntil (Retry.WaitQuota).
	waitQuota string
	waitUntil int64
}

// keepWait is true when a job keeps its wait_quota and wait_until instead of
// taking delta's (?1, ?2 at now ?3): when the delta has no wait, when the job
// has finished, or when it already waits for a later time that has not
// passed. PostgreSQL's settleJob has the same rule.
const keepWait = `(?1 = '' OR state NOT IN ('queued', 'running', 'paused')
	OR coalesce(wait_until > ?2 AND wait_until > ?3, 0))`

// settleJob adds d to the job's counters and, when finish is not nil and the
// job has not finished and has no task left, finishes it with finish's
// verdict, clearing what it waited for. It returns the job as updated.
func settleJob(ctx context.Context, tx *sql.Tx, jobID int64, d delta, now int64, finish store.FinishFunc) (store.Job, error) {
	var waitUntil any // NULL when the delta has no wait
	if d.waitQuota != "" {
		waitUntil = d.waitUntil
	}
	// Numbered parameters, as keepWait uses each twice.
	j, err := scanJob(tx.QueryRowContext(ctx, `
		UPDATE jobs SET
			items_total = items_total + ?4, items_done = items_done + ?5, items_failed = items_failed + ?6,
			tasks_total = tasks_total + ?7, tasks_done = tasks_done + ?8, tasks_failed = tasks_failed + ?9,
			requests = requests + ?10,
			last_error = CASE WHEN ?11 = '' THEN last_error ELSE ?11 END,
			wait_quota = CASE WHEN `+keepWait+` THEN wait_quota ELSE ?1 END,
			wait_until = CASE WHEN `+keepWait+` THEN wait_until ELSE ?2 END,
			updated_at = ?3
		WHERE id = ?12
		RETURNING `+jobColumns,
		d.waitQuota, waitUntil, now,
		d.itemsTotal, d.itemsDone, d.itemsFailed, d.tasksTotal, d.tasksDone, d.tasksFailed,
		d.requests, d.lastError, jobID))
	if err != nil {
		return store.Job{}, err
	}
	state, summary, err := store.Verdict(j, finish)
	if err != nil {
		return store.Job{}, err
	}
	if state == "" {
		return j, nil
	}
	if j, err = scanJob(tx.QueryRowContext(ctx, `
		UPDATE jobs SET state = ?, summary = ?, finished_at = ?, updated_at = ?,
		    wait_quota = '', wait_until = NULL
		WHERE id = ?
		RETURNING `+jobColumns, string(state), summary, now, now, jobID)); err != nil {
		return store.Job{}, err
	}
	if err := insertNotifications(ctx, tx, j, now); err != nil {
		return store.Job{}, err
	}
	return j, nil
}

// upsertResults writes results for the job in batches; a key that exists is
// overwritten.
func upsertResults(ctx context.Context, q querier, jobID, taskID int64, now int64, results []store.Result) error {
	for len(results) > 0 {
		n := min(len(results), batchSize)
		var b strings.Builder
		b.WriteString(`INSERT INTO results (job_id, task_id, fetched_at, item_key, status, data, error) VALUES `)
		args := make([]any, 0, 7*n)
		for i, r := range results[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, jobID, taskID, now, r.Key, string(r.Status), jsonArg(r.Data), r.Error)
		}
		b.WriteString(` ON CONFLICT (job_id, item_key) DO UPDATE SET
			status = excluded.status, data = excluded.data, error = excluded.error,
			task_id = excluded.task_id, fetched_at = excluded.fetched_at`)
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		results = results[n:]
	}
	return nil
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListTasks pages through a job's tasks in id order. See [store.Store].
func (db *DB) ListTasks(ctx context.Context, jobID int64, states []store.TaskState, afterID int64, limit int) ([]store.Task, error) {
	if limit <= 0 {
		return nil, nil
	}
	query := `SELECT ` + taskColumns + ` FROM tasks WHERE job_id = ? AND id > ?`
	args := []any{jobID, afterID}
	if len(states) > 0 {
		query += ` AND state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := db.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	var tasks []store.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("list tasks of job %d: %w", jobID, mapErr(ctx, err))
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	return tasks, nil
}
