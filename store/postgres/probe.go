package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// ProbeCommits measures how many durable commits per second this PostgreSQL
// server sustains on one connection: it runs n transactions, each a BEGIN,
// one single-row INSERT and a COMMIT, and divides n by the time they took.
// pacer bench reports the result as the machine's raw PostgreSQL limit,
// against which the store's own throughput can be judged.
//
// The rows go to the commit_probe table that [DB.Migrate] creates, not to a
// TEMP table: a transaction that writes only to temporary (or unlogged)
// tables writes no WAL, so PostgreSQL does not flush the WAL at its COMMIT
// and the probe would report a rate that no real commit reaches. The probe's
// rows are deleted before it returns. n must be positive; cancelling ctx
// stops the probe with ctx's error.
func (db *DB) ProbeCommits(ctx context.Context, n int) (perSecond float64, err error) {
	if n <= 0 {
		return 0, fmt.Errorf("probe commits: n %d is not positive", n)
	}
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return 0, fmt.Errorf("probe commits: %w", mapErr(ctx, err))
	}
	defer conn.Close()
	probeID := rand.Int64()
	defer func() {
		// Clean up even when ctx is done, within a short deadline.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, cerr := conn.ExecContext(cctx, `DELETE FROM commit_probe WHERE probe_id = $1`, probeID); cerr != nil {
			err = errors.Join(err, fmt.Errorf("probe commits: clean up: %w", mapErr(cctx, cerr)))
		}
	}()
	start := time.Now()
	for i := range n {
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("probe commits: %w", mapErr(ctx, err))
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO commit_probe (probe_id, n) VALUES ($1, $2)`, probeID, i); err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("probe commits: %w", mapErr(ctx, err))
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("probe commits: %w", mapErr(ctx, err))
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// copyProbeBatch is how many rows ProbeCopy sends in one COPY: an annotate
// task's instances at its defaults (1,000 items × 3 per item), which the
// store copies in one COPY per task (see insertInstances).
const copyProbeBatch = 3000

// ProbeCopy measures how many rows per second this PostgreSQL server takes
// by COPY into a table shaped like annotation_instances (scope, item_key,
// annotator, job_id, created_at, with the same primary key on scope,
// item_key and annotator), on one connection. It creates a regular table of
// a unique name (not TEMP nor UNLOGGED, which write no WAL and would
// flatter the rate), then times one transaction in which rows distinct rows
// go in by pq.CopyIn, copyProbeBatch rows per COPY statement, up to and
// including its COMMIT; it returns rows divided by that time. Creating and
// dropping the table are outside the timing. Unlike the store's path there
// is no staging table and no INSERT … ON CONFLICT: it is the raw rate of
// getting rows into an indexed, logged table, against which pacer bench
// rows judges the store's bulk insert. The table is dropped before
// ProbeCopy returns, even when ctx is done. rows must be positive.
func (db *DB) ProbeCopy(ctx context.Context, rows int) (perSecond float64, err error) {
	if rows <= 0 {
		return 0, fmt.Errorf("probe copy: rows %d is not positive", rows)
	}
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
	}
	defer conn.Close()
	table := fmt.Sprintf("copy_probe_%016x", rand.Uint64())
	if _, err := conn.ExecContext(ctx, `CREATE TABLE `+table+` (
		scope text NOT NULL, item_key text NOT NULL, annotator text NOT NULL,
		job_id bigint NOT NULL, created_at timestamptz NOT NULL,
		PRIMARY KEY (scope, item_key, annotator))`); err != nil {
		return 0, fmt.Errorf("probe copy: create table: %w", mapErr(ctx, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, cerr := conn.ExecContext(cctx, `DROP TABLE `+table); cerr != nil {
			err = errors.Join(err, fmt.Errorf("probe copy: clean up: %w", mapErr(cctx, cerr)))
		}
	}()
	annotators := [...]string{"probe-1", "probe-2", "probe-3"}
	now := time.Now().UTC()
	start := time.Now()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for first := 0; first < rows; first += copyProbeBatch {
		stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, "scope", "item_key", "annotator", "job_id", "created_at"))
		if err != nil {
			return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
		}
		for i := first; i < min(first+copyProbeBatch, rows); i++ {
			key := "item-" + strconv.Itoa(i/len(annotators))
			if _, err := stmt.ExecContext(ctx, "probe", key, annotators[i%len(annotators)], int64(1), now); err != nil {
				stmt.Close()
				return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			stmt.Close()
			return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
		}
		if err := stmt.Close(); err != nil {
			return 0, fmt.Errorf("probe copy: %w", mapErr(ctx, err))
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("probe copy: commit: %w", mapErr(ctx, err))
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}
