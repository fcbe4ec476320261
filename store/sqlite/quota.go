package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// spend is one row of the quota ledger.
type spend struct {
	At time.Time
	N  int
}

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit; otherwise it reports the
// earliest time, to the microsecond, at which the same call would succeed.
// Calls for one key are serialized by the write transaction itself: BEGIN
// IMMEDIATE admits one writer to the file at a time, across processes.
// limit, span and n must be positive; n greater than limit can never fit and
// is an error. See [store.Store].
func (db *DB) SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error) {
	if err := validateSpend(key, limit, span, n); err != nil {
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
		var spends []spend
		for rows.Next() {
			var (
				at int64
				s  spend
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
		ok, retryAt = decideSpend(spends, limit, span, n, now)
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
