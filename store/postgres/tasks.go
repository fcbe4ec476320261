package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/pacerhq/pacer/store"
)

const taskColumns = `id, job_id, payload, items, state, attempts, run_at, last_error,
	lease_owner, lease_until, published_at, created_at, updated_at`

// DispatchDue stamps up to limit dispatchable tasks published_at = now and
// returns their ids, oldest run_at first. FOR UPDATE SKIP LOCKED makes
// concurrent callers, in any process, take disjoint sets: a row that another
// caller has picked is skipped rather than waited for, and one that another
// caller has already stamped fails the re-check of the WHERE clause that
// PostgreSQL runs on the newest row version. A limit of zero or less returns
// no ids.
func (db *DB) DispatchDue(ctx context.Context, now time.Time, republishAfter time.Duration, limit int) ([]int64, error) {
	if republishAfter < 0 {
		return nil, fmt.Errorf("dispatch due: republish after %v is negative", republishAfter)
	}
	if limit <= 0 {
		return nil, nil
	}
	now = micro(now)
	var rows []dispatched
	err := sqlx.SelectContext(ctx, db.db, &rows, `
		WITH picked AS MATERIALIZED (
			SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
			WHERE t.state = 'pending'
			  AND t.run_at <= $1
			  AND (t.lease_owner = '' OR t.lease_until <= $1)
			  AND (t.published_at IS NULL OR t.published_at < $2)
			  AND j.state IN ('queued', 'running')
			ORDER BY t.run_at, t.id
			LIMIT $3
			FOR UPDATE OF t SKIP LOCKED
		)
		UPDATE tasks SET published_at = $1
		FROM picked WHERE tasks.id = picked.id
		RETURNING tasks.id, tasks.run_at`, now, now.Add(-republishAfter), limit)
	if err != nil {
		return nil, fmt.Errorf("dispatch due: %w", mapErr(ctx, err))
	}
	// The pick is a MATERIALIZED CTE, evaluated once: as an IN (subquery)
	// the planner may run a SKIP LOCKED subquery more than once, and each
	// run can skip different rows, so the UPDATE could stamp more than
	// limit rows. RETURNING follows no ORDER BY; restore the pick's order.
	slices.SortFunc(rows, func(a, b dispatched) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// dispatched is a row that DispatchDue stamped.
type dispatched struct {
	ID    int64     `db:"id"`
	RunAt time.Time `db:"run_at"`
}

// Undispatch clears published_at of the given pending tasks.
func (db *DB) Undispatch(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.db.ExecContext(ctx, `
		UPDATE tasks SET published_at = NULL
		WHERE id = ANY($1) AND state = 'pending'`, pq.Array(ids)); err != nil {
		return fmt.Errorf("undispatch %d tasks: %w", len(ids), mapErr(ctx, err))
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
	now, leaseUntil = micro(now), micro(leaseUntil)
	var (
		t store.Task
		j store.Job
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// One statement checks and claims, so that the task row is the only
		// one locked; the job row is locked only by its first claim.
		err := sqlx.GetContext(ctx, tx, &t, `
			UPDATE tasks t
			SET attempts = t.attempts + 1, lease_owner = $2, lease_until = $4,
			    published_at = NULL, updated_at = $3
			FROM jobs j
			WHERE t.id = $1 AND j.id = t.job_id
			  AND t.state = 'pending'
			  AND t.run_at <= $3
			  AND (t.lease_owner IN ('', $2) OR t.lease_until <= $3)
			  AND j.state IN ('queued', 'running')
			RETURNING `+prefixed("t.", taskColumns), id, owner, now, leaseUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return conflictOrNotFound(ctx, tx, "tasks", id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE jobs SET state = 'running', started_at = $2, updated_at = $2
			WHERE id = $1 AND state = 'queued'`, t.JobID, now); err != nil {
			return err
		}
		j, err = getJob(ctx, tx, t.JobID)
		return err
	})
	if err != nil {
		return store.Task{}, store.Job{}, fmt.Errorf("claim task %d: %w", id, mapErr(ctx, err))
	}
	return normTask(t), j, nil
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
	now := micro(c.Now)
	var out store.Job
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		t, err := leasedTask(ctx, tx, c.TaskID, c.Owner)
		if err != nil {
			return err
		}
		// Every task of a job ends by updating that job's one row, and the
		// row lock serializes the completions of a job: it is held from the
		// statement that takes it until COMMIT has flushed the WAL, so every
		// statement run after taking it adds to every other completion's
		// wait. Taken by a SELECT ... FOR NO KEY UPDATE before the task's
		// update, the counters' update and COMMIT (four round trips), it held
		// `pacer bench throughput` to about 200 tasks/s on 2 cores at any
		// worker concurrency, with most backends waiting on it
		// (pg_stat_activity: Lock/transactionid). So everything that needs no
		// job lock goes first, and the lock is taken by the counters' UPDATE
		// itself (settleJob), the last statement before COMMIT when there are
		// no follow-ups. That UPDATE changes no key column, so it takes FOR NO
		// KEY UPDATE, which does not conflict with the FOR KEY SHARE that the
		// results' foreign-key checks take on the job row: two completions of
		// one job cannot deadlock over it.
		if err := upsertResults(ctx, tx, t.JobID, t.ID, now, results); err != nil {
			return err
		}
		if err := insertInstances(ctx, tx, t.JobID, now, c.Instances); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET state = 'done', lease_owner = '', lease_until = NULL, published_at = NULL, updated_at = $2
			WHERE id = $1`, t.ID, now); err != nil {
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
		// The follow-ups count in tasks_total, so a job that gets some
		// cannot finish here.
		out, err = settleJob(ctx, tx, t.JobID, d, now, c.Finish)
		if err != nil {
			return err
		}
		// The follow-ups go in after the job row is locked, so that the
		// state they take from the job (cancelled or not) cannot change
		// before COMMIT: a CancelJob waits for the lock.
		followState := store.TaskPending
		if out.State == store.JobCancelled {
			followState = store.TaskCancelled
		}
		return insertTasks(ctx, tx, t.JobID, followState, now, c.FollowUps)
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
	now, runAt := micro(r.Now), micro(r.RunAt)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		t, err := leasedTask(ctx, tx, r.TaskID, r.Owner)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET run_at = $2, lease_owner = '', lease_until = NULL, published_at = NULL,
			    attempts = CASE WHEN $3 THEN greatest(attempts - 1, 0) ELSE attempts END,
			    last_error = CASE WHEN $4::text = '' THEN last_error ELSE $4::text END,
			    updated_at = $5
			WHERE id = $1`, t.ID, runAt, r.Refund, r.Error, now); err != nil {
			return err
		}
		d := delta{requests: int64(r.Requests), lastError: r.Error, waitQuota: r.WaitQuota, waitUntil: runAt}
		_, err = settleJob(ctx, tx, t.JobID, d, now, nil)
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
	now := micro(f.Now)
	var out store.Job
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		t, err := leasedTask(ctx, tx, f.TaskID, f.Owner)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks
			SET state = 'failed', last_error = $2,
			    lease_owner = '', lease_until = NULL, published_at = NULL, updated_at = $3
			WHERE id = $1`, t.ID, f.Error, now); err != nil {
			return err
		}
		d := delta{tasksFailed: 1, itemsFailed: int64(t.Items), requests: int64(f.Requests), lastError: f.Error}
		out, err = settleJob(ctx, tx, t.JobID, d, now, f.Finish)
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("fail task %d: %w", f.TaskID, mapErr(ctx, err))
	}
	return out, nil
}

// GetTask returns one task, or store.ErrNotFound.
func (db *DB) GetTask(ctx context.Context, id int64) (store.Task, error) {
	var t store.Task
	if err := sqlx.GetContext(ctx, db.db, &t,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1`, id); err != nil {
		return store.Task{}, fmt.Errorf("get task %d: %w", id, mapErr(ctx, err))
	}
	return normTask(t), nil
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
	var rows []struct {
		State store.TaskState `db:"state"`
		N     int64           `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, db.db, &rows,
		`SELECT state, count(*) AS n FROM tasks WHERE job_id = $1 GROUP BY state`, jobID); err != nil {
		return nil, fmt.Errorf("count tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	out := make(map[store.TaskState]int64, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// ListErroredTasks returns up to limit of a job's tasks with a last error,
// most recently updated first. A limit of zero or less returns none.
func (db *DB) ListErroredTasks(ctx context.Context, jobID int64, limit int) ([]store.Task, error) {
	if limit <= 0 {
		return nil, nil
	}
	var tasks []store.Task
	if err := sqlx.SelectContext(ctx, db.db, &tasks, `
		SELECT `+taskColumns+` FROM tasks
		WHERE job_id = $1 AND last_error <> ''
		ORDER BY updated_at DESC, id DESC
		LIMIT $2`, jobID, limit); err != nil {
		return nil, fmt.Errorf("list errored tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	for i := range tasks {
		tasks[i] = normTask(tasks[i])
	}
	return tasks, nil
}

// leasedTask locks task id and checks that owner holds its lease: the task
// must be pending (or cancelled while it ran) and leased to owner. A lease
// that expired without anyone else claiming the task still counts as held.
func leasedTask(ctx context.Context, tx sqlx.ExtContext, id int64, owner string) (store.Task, error) {
	var t store.Task
	if err := sqlx.GetContext(ctx, tx, &t,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
		return store.Task{}, err
	}
	if err := store.CheckLease(t, owner); err != nil {
		return store.Task{}, err
	}
	return normTask(t), nil
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
	waitUntil time.Time
}

// keepWait is true when a job keeps its wait_quota and wait_until instead of
// taking delta's ($11, $12 at now $10): when the delta has no wait, when the
// job has finished, or when it already waits for a later time that has not
// passed. SQLite's settleJob has the same rule.
const keepWait = `($11::text = '' OR state NOT IN ` + unfinished + `
	OR coalesce(wait_until > $12::timestamptz AND wait_until > $10::timestamptz, false))`

// settleJob adds d to the job's counters and, when finish is not nil and the
// job has not finished and has no task left, finishes it with finish's
// verdict, clearing what it waited for. It returns the job as updated.
func settleJob(ctx context.Context, tx sqlx.ExtContext, jobID int64, d delta, now time.Time, finish store.FinishFunc) (store.Job, error) {
	var waitUntil any // NULL when the delta has no wait
	if d.waitQuota != "" {
		waitUntil = d.waitUntil
	}
	var j store.Job
	if err := sqlx.GetContext(ctx, tx, &j, `
		UPDATE jobs SET
			items_total = items_total + $2, items_done = items_done + $3, items_failed = items_failed + $4,
			tasks_total = tasks_total + $5, tasks_done = tasks_done + $6, tasks_failed = tasks_failed + $7,
			requests = requests + $8,
			last_error = CASE WHEN $9::text = '' THEN last_error ELSE $9::text END,
			wait_quota = CASE WHEN `+keepWait+` THEN wait_quota ELSE $11::text END,
			wait_until = CASE WHEN `+keepWait+` THEN wait_until ELSE $12::timestamptz END,
			updated_at = $10
		WHERE id = $1
		RETURNING `+jobColumns,
		jobID, d.itemsTotal, d.itemsDone, d.itemsFailed,
		d.tasksTotal, d.tasksDone, d.tasksFailed, d.requests, d.lastError, now,
		d.waitQuota, waitUntil); err != nil {
		return store.Job{}, err
	}
	j = normJob(j)
	state, summary, err := store.Verdict(j, finish)
	if err != nil {
		return store.Job{}, err
	}
	if state == "" {
		return j, nil
	}
	if err := sqlx.GetContext(ctx, tx, &j, `
		UPDATE jobs SET state = $2, summary = $3, finished_at = $4, updated_at = $4,
		    wait_quota = '', wait_until = NULL
		WHERE id = $1
		RETURNING `+jobColumns, jobID, string(state), summary, now); err != nil {
		return store.Job{}, err
	}
	j = normJob(j)
	if err := insertNotifications(ctx, tx, j, now); err != nil {
		return store.Job{}, err
	}
	return j, nil
}

// upsertResults writes results for the job in batches; a key that exists is
// overwritten.
func upsertResults(ctx context.Context, q sqlx.ExtContext, jobID, taskID int64, now time.Time, results []store.Result) error {
	const perBatch = batchSize
	for len(results) > 0 {
		n := min(len(results), perBatch)
		var b strings.Builder
		b.WriteString(`INSERT INTO results (job_id, task_id, fetched_at, item_key, status, data, error) VALUES `)
		args := make([]any, 0, 3+4*n)
		args = append(args, jobID, taskID, now)
		for i, r := range results[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			k := len(args)
			fmt.Fprintf(&b, "($1, $2, $3, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4)
			args = append(args, r.Key, string(r.Status), jsonArg(r.Data), r.Error)
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

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func normTask(t store.Task) store.Task {
	t.RunAt = t.RunAt.UTC()
	t.CreatedAt = t.CreatedAt.UTC()
	t.UpdatedAt = t.UpdatedAt.UTC()
	t.LeaseUntil = microPtr(t.LeaseUntil)
	t.PublishedAt = microPtr(t.PublishedAt)
	return t
}

// ListTasks pages through a job's tasks in id order. See [store.Store].
func (db *DB) ListTasks(ctx context.Context, jobID int64, states []store.TaskState, afterID int64, limit int) ([]store.Task, error) {
	if limit <= 0 {
		return nil, nil
	}
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = string(s)
	}
	var tasks []store.Task
	if err := sqlx.SelectContext(ctx, db.db, &tasks, `
		SELECT `+taskColumns+` FROM tasks
		WHERE job_id = $1 AND id > $2 AND (cardinality($3::text[]) = 0 OR state = ANY($3::text[]))
		ORDER BY id
		LIMIT $4`, jobID, afterID, pq.Array(names), limit); err != nil {
		return nil, fmt.Errorf("list tasks of job %d: %w", jobID, mapErr(ctx, err))
	}
	for i := range tasks {
		tasks[i] = normTask(tasks[i])
	}
	return tasks, nil
}
