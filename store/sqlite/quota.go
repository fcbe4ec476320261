package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pacerhq/pacer/store"
)

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit; otherwise it reports the
// earliest time, to the microsecond, at which the same call would succeed.
// Calls for one key are serialized by the write transaction itself: BEGIN
// IMMEDIATE admits one writer to the file at a time, across processes.
// limit, span and n must be positive; n greater than limit can never fit and
// is an error. See [store.Store].
func (db *DB) SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error) {
	if err := store.ValidateSpend(key, limit, span, n); err != nil {
		return false, time.Time{}, fmt.Errorf("spend quota %q: %w", key, err)
	}
	now = micro(now)
	// A spend at `at` is inside the window ending at now if at > now-span.
	// Spends are stored to the microsecond, so truncating the cutoff changes
	// no comparison.
	cutoff := micro(now.Add(-span))
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO quota_keys (key) VALUES (?) ON CONFLICT DO NOTHING`, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM quota_spends WHERE key = ? AND at <= ?`, key, toDB(cutoff)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT at, n FROM quota_spends WHERE key = ? ORDER BY at, id`, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		var spends []store.Spend
		for rows.Next() {
			var (
				at int64
				s  store.Spend
			)
			if err := rows.Scan(&at, &s.N); err != nil {
				return err
			}
			s.At = fromDB(at)
			spends = append(spends, s)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		ok, retryAt = store.DecideSpend(spends, limit, span, n, now)
		if !ok {
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO quota_spends (key, at, n) VALUES (?, ?, ?)`, key, toDB(now), n)
		return err
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("spend quota %q: %w", key, mapErr(ctx, err))
	}
	return ok, retryAt, nil
}
