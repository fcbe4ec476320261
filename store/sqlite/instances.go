package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/pacerhq/pacer/store"
)

// insertInstances creates annotation instances in batches of INSERT ... ON
// CONFLICT DO NOTHING, inside the caller's transaction: SQLite has no COPY,
// and a statement per row would parse and bind 30,000 times for a big task.
func insertInstances(ctx context.Context, q querier, jobID, now int64, ins []store.Instance) error {
	for len(ins) > 0 {
		n := min(len(ins), batchSize)
		var b strings.Builder
		b.WriteString(`INSERT INTO annotation_instances (job_id, created_at, scope, item_key, annotator) VALUES `)
		args := make([]any, 0, 5*n)
		for i, in := range ins[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, jobID, now, in.Scope, in.Key, in.Annotator)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert instances: %w", err)
		}
		ins = ins[n:]
	}
	return nil
}

// CountInstances counts scope's instances and those job jobID created. See
// [store.Store].
func (db *DB) CountInstances(ctx context.Context, scope string, jobID int64) (total, created int64, err error) {
	if err := db.rdb.QueryRowContext(ctx, `
		SELECT count(*), count(*) FILTER (WHERE job_id = ?)
		FROM annotation_instances WHERE scope = ?`, jobID, scope).Scan(&total, &created); err != nil {
		return 0, 0, fmt.Errorf("count instances of scope %q: %w", scope, mapErr(ctx, err))
	}
	return total, created, nil
}

// ListInstances pages through the instances job jobID created, in (key,
// annotator) order. See [store.Store].
func (db *DB) ListInstances(ctx context.Context, jobID int64, afterKey, afterAnnotator string, limit int) ([]store.Instance, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT scope, item_key, annotator, job_id, created_at FROM annotation_instances
		WHERE job_id = ? AND (item_key, annotator) > (?, ?)
		ORDER BY item_key, annotator LIMIT ?`, jobID, afterKey, afterAnnotator, limit)
	if err != nil {
		return nil, fmt.Errorf("list instances of job %d: %w", jobID, mapErr(ctx, err))
	}
	defer rows.Close()
	var out []store.Instance
	for rows.Next() {
		var (
			in      store.Instance
			created int64
		)
		if err := rows.Scan(&in.Scope, &in.Key, &in.Annotator, &in.JobID, &created); err != nil {
			return nil, fmt.Errorf("list instances of job %d: %w", jobID, mapErr(ctx, err))
		}
		in.CreatedAt = fromDB(created)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list instances of job %d: %w", jobID, mapErr(ctx, err))
	}
	return out, nil
}
