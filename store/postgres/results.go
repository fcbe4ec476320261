package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

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
	where := []string{"job_id = $1", "item_key > $2"}
	args := []any{jobID, f.AfterKey}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	args = append(args, limit)
	query := `SELECT ` + resultColumns + ` FROM results WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY item_key LIMIT $%d`, len(args))
	var results []store.Result
	if err := sqlx.SelectContext(ctx, db.db, &results, query, args...); err != nil {
		return nil, fmt.Errorf("list results of job %d: %w", jobID, mapErr(ctx, err))
	}
	for i := range results {
		results[i].FetchedAt = results[i].FetchedAt.UTC()
	}
	return results, nil
}

// CountResults returns how many of a job's results have each status; an
// unknown job has none.
func (db *DB) CountResults(ctx context.Context, jobID int64) (map[store.ResultStatus]int64, error) {
	var rows []struct {
		Status store.ResultStatus `db:"status"`
		N      int64              `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, db.db, &rows,
		`SELECT status, count(*) AS n FROM results WHERE job_id = $1 GROUP BY status`, jobID); err != nil {
		return nil, fmt.Errorf("count results of job %d: %w", jobID, mapErr(ctx, err))
	}
	out := make(map[store.ResultStatus]int64, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
