package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// spend is one row of the quota ledger.
type spend struct {
	At time.Time `db:"at"`
	N  int       `db:"n"`
}

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit; otherwise it reports the
// earliest time, to the microsecond, at which the same call would succeed.
// Calls for one key are serialized across processes by a row lock on the
// key's row in quota_keys. limit, span and n must be positive; n greater than
// limit can never fit and is an error. See [store.Store].
func (db *DB) SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error) {
	if err := validateSpend(key, limit, span, n); err != nil {
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
		var spends []spend
		if err := sqlx.SelectContext(ctx, tx, &spends,
			`SELECT at, n FROM quota_spends WHERE key = $1 ORDER BY at, id`, key); err != nil {
			return err
		}
		ok, retryAt = decideSpend(spends, limit, span, n, now)
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

func validateSpend(key string, limit int, span time.Duration, n int) error {
	switch {
	case key == "":
		return errors.New("key is required")
	case limit <= 0:
		return fmt.Errorf("limit %d is not positive", limit)
	case span <= 0:
		return fmt.Errorf("span %v is not positive", span)
	case n <= 0:
		return fmt.Errorf("n %d is not positive", n)
	case n > limit:
		return fmt.Errorf("%d requests can never fit a limit of %d", n, limit)
	}
	return nil
}

// decideSpend decides a spend of n at now, given the spends still inside the
// window (at > now-span), oldest first. When the spend does not fit, retryAt
// is the earliest t >= now at which the spends inside (t-span, t] plus n fit:
// spends leave the window one by one, the oldest at its at+span. The result is
// rounded up to the microsecond, the store's resolution, so that a call at
// retryAt succeeds and one a microsecond earlier does not.
func decideSpend(spends []spend, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time) {
	used := 0
	for _, s := range spends {
		used += s.N
	}
	if used+n <= limit {
		return true, time.Time{}
	}
	for _, s := range spends {
		used -= s.N
		if used+n <= limit {
			return false, ceilMicro(s.At.Add(span)).UTC()
		}
	}
	// Unreachable while n <= limit: once every spend has left, n fits.
	return false, ceilMicro(now.Add(span)).UTC()
}

// ceilMicro rounds t up to the next microsecond.
func ceilMicro(t time.Time) time.Time {
	if tr := t.Truncate(time.Microsecond); !tr.Equal(t) {
		return tr.Add(time.Microsecond)
	}
	return t
}
