package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
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
