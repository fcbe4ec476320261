package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pacerhq/pacer/store"
)

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit; otherwise it reports the
// earliest time, to the microsecond, at which the same call would succeed.
// Calls for one key are serialized across processes by a row lock on the
// key's row in quota_keys. limit, span and n must be positive; n greater than
// limit can never fit and is an error. See [store.Store].
func (db *DB) SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error) {
	if err := store.ValidateSpend(key, limit, span, n); err != nil {
		return false, time.Time{}, fmt.Errorf("spend quota %q: %w", key, err)
	}
	now = micro(now)
	// A spend at `at` is inside the window ending at now if at > now-span.
	// Spends are stored to the microsecond, so truncating the cutoff changes
	// no comparison.
	cutoff := micro(now.Add(-span))
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		// The key row exists before it is locked, so that even the first
		// spends of a new key queue up behind one lock.
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO quota_keys (key) VALUES ($1) ON CONFLICT DO NOTHING`, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`SELECT key FROM quota_keys WHERE key = $1 FOR UPDATE`, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM quota_spends WHERE key = $1 AND at <= $2`, key, cutoff); err != nil {
			return err
		}
		var spends []store.Spend
		if err := sqlx.SelectContext(ctx, tx, &spends,
			`SELECT at, n FROM quota_spends WHERE key = $1 ORDER BY at, id`, key); err != nil {
			return err
		}
		ok, retryAt = store.DecideSpend(spends, limit, span, n, now)
		if !ok {
			return nil
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO quota_spends (key, at, n) VALUES ($1, $2, $3)`, key, now, n)
		return err
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("spend quota %q: %w", key, mapErr(ctx, err))
	}
	return ok, retryAt, nil
}
