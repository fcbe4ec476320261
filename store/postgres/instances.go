package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/pacerhq/pacer/store"
)

// insertInstances creates annotation instances, skipping those present. They
// are copied (COPY, one round trip for the lot) into a staging table that
// each commit empties, then inserted from it in one statement
// that skips conflicts: far fewer round trips and parse work than batched
// INSERTs of bound parameters, which matters for a job of millions of rows.
func insertInstances(ctx context.Context, tx *sqlx.Tx, jobID int64, now time.Time, ins []store.Instance) error {
	if len(ins) == 0 {
		return nil
	}
	// The staging table lives as long as the connection and empties at each
	// commit: created once per connection, not once per task, since a
	// CREATE and a DROP in every transaction churn the catalog for nothing.
	if _, err := tx.ExecContext(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS annotation_stage (scope text, item_key text, annotator text)
		ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("annotation_stage", "scope", "item_key", "annotator"))
	if err != nil {
		return fmt.Errorf("copy instances: %w", err)
	}
	for _, in := range ins {
		if _, err := stmt.ExecContext(ctx, in.Scope, in.Key, in.Annotator); err != nil {
			stmt.Close()
			return fmt.Errorf("copy instances: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("copy instances: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("copy instances: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO annotation_instances (scope, item_key, annotator, job_id, created_at)
		SELECT scope, item_key, annotator, $1, $2 FROM annotation_stage
		ON CONFLICT DO NOTHING`, jobID, now); err != nil {
		return fmt.Errorf("insert instances: %w", err)
	}
	return nil
}

// CountInstances counts scope's instances and those job jobID created. See
// [store.Store].
func (db *DB) CountInstances(ctx context.Context, scope string, jobID int64) (total, created int64, err error) {
	var row struct {
		Total   int64 `db:"total"`
		Created int64 `db:"created"`
	}
	if err := sqlx.GetContext(ctx, db.db, &row, `
		SELECT count(*) AS total, count(*) FILTER (WHERE job_id = $2) AS created
		FROM annotation_instances WHERE scope = $1`, scope, jobID); err != nil {
		return 0, 0, fmt.Errorf("count instances of scope %q: %w", scope, mapErr(ctx, err))
	}
	return row.Total, row.Created, nil
}

// ListInstances pages through the instances job jobID created, in (key,
// annotator) order. See [store.Store].
func (db *DB) ListInstances(ctx context.Context, jobID int64, afterKey, afterAnnotator string, limit int) ([]store.Instance, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []store.Instance
	if err := sqlx.SelectContext(ctx, db.db, &out, `
		SELECT scope, item_key, annotator, job_id, created_at FROM annotation_instances
		WHERE job_id = $1 AND (item_key, annotator) > ($2, $3)
		ORDER BY item_key, annotator LIMIT $4`, jobID, afterKey, afterAnnotator, limit); err != nil {
		return nil, fmt.Errorf("list instances of job %d: %w", jobID, mapErr(ctx, err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
