package sqlite

import (
	"context"
	"fmt"

	"github.com/pacerhq/pacer/store"
)

const resultColumns = `job_id, item_key, status, data, error, task_id, fetched_at`

// ListResults returns a job's results in key order (byte order), after
// f.AfterKey. See [store.ResultFilter].
func (db *DB) ListResults(ctx context.Context, jobID int64, f store.ResultFilter) ([]store.Result, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + resultColumns + ` FROM results WHERE job_id = ? AND item_key > ?`
	args := []any{jobID, f.AfterKey}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	query += ` ORDER BY item_key LIMIT ?`
	args = append(args, limit)
	rows, err := db.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list results of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	var results []store.Result
	for rows.Next() {
		var (
			r       store.Result
			fetched int64
		)
		if err := rows.Scan(&r.JobID, &r.Key, &r.Status, &r.Data, &r.Error, &r.TaskID, &fetched); err != nil {
			return nil, fmt.Errorf("list results of job %d: %w", jobID, mapErr(ctx, err))
		}
		r.FetchedAt = fromDB(fetched)
		results = append(results, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list results of job %d: %w", jobID, mapErr(ctx, err))
	}
	return results, nil
}

// CountResults returns how many of a job's results have each status; an
// unknown job has none.
func (db *DB) CountResults(ctx context.Context, jobID int64) (map[store.ResultStatus]int64, error) {
	rows, err := db.rdb.QueryContext(ctx,
		`SELECT status, count(*) FROM results WHERE job_id = ? GROUP BY status`, jobID)
	if err != nil {
		return nil, fmt.Errorf("count results of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	out := make(map[store.ResultStatus]int64)
	for rows.Next() {
		var (
			s store.ResultStatus
			n int64
		)
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count results of job %d: %w", jobID, mapErr(ctx, err))
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count results of job %d: %w", jobID, mapErr(ctx, err))
	}
	return out, nil
}
