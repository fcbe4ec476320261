package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pacerhq/pacer/store"
)

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit, and the key is not blocked;
// otherwise it reports the earliest time, to the microsecond, at which the
// same call would succeed. Calls for one key are serialized across processes
// by a row lock on the key's row in quota_keys. limit, span and n must be
// positive; n greater than limit can never fit and is an error. See
// [store.Store].
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
		w, err := lockKey(ctx, tx, key, true)
		if err != nil {
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
		ok, retryAt = store.DecideBlockedSpend(ok, retryAt, w.BlockedUntil, now)
		if !ok {
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO quota_spends (key, at, n) VALUES ($1, $2, $3)`, key, now, n)
		return err
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("spend quota %q: %w", key, mapErr(ctx, err))
	}
	return ok, retryAt, nil
}

// TakeWindow spends n requests of key's fixed window at now, opening a new
// window if none is open; it refuses while the window is full or the key is
// blocked. The decision is [store.Window.Take], made under the lock of the
// key's row in quota_keys, which serializes every call for the key across
// processes. See [store.Store].
func (db *DB) TakeWindow(ctx context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (ok bool, generation int64, ordinal int, retryAt time.Time, err error) {
	if err := store.ValidateTake(key, limit, window, margin, n); err != nil {
		return false, 0, 0, time.Time{}, fmt.Errorf("take window %q: %w", key, err)
	}
	now = micro(now)
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		w, err := lockKey(ctx, tx, key, true)
		if err != nil {
			return err
		}
		opened := w.Generation
		ok, ordinal, retryAt = w.Take(limit, window, margin, n, now)
		if ok {
			generation = w.Generation
		}
		if !ok && w.Generation == opened {
			return nil // refused, nothing changed
		}
		return saveWindow(ctx, tx, key, w)
	})
	if err != nil {
		return false, 0, 0, time.Time{}, fmt.Errorf("take window %q: %w", key, mapErr(ctx, err))
	}
	return ok, generation, ordinal, retryAt, nil
}

// ObserveWindow corrects key's window with the upstream's answer to the
// request taken as (generation, ordinal): [store.Window.Observe], under the
// key's row lock. A key that never took a request has nothing to correct.
// See [store.Store].
func (db *DB) ObserveWindow(ctx context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error {
	if err := store.ValidateObserve(key, generation, ordinal, limit, remaining); err != nil {
		return fmt.Errorf("observe window %q: %w", key, err)
	}
	now = micro(now)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		w, err := lockKey(ctx, tx, key, false)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if !w.Observe(generation, ordinal, limit, remaining, reset, now) {
			return nil
		}
		return saveWindow(ctx, tx, key, w)
	})
	if err != nil {
		return fmt.Errorf("observe window %q: %w", key, mapErr(ctx, err))
	}
	return nil
}

// BlockQuota refuses every take and spend of key until until, or keeps the
// key's block if it ends later. One upsert, atomic on its own. See
// [store.Store].
func (db *DB) BlockQuota(ctx context.Context, key string, until time.Time) error {
	until, err := store.ValidateBlock(key, until)
	if err != nil {
		return fmt.Errorf("block quota %q: %w", key, err)
	}
	if until.IsZero() {
		return nil
	}
	// greatest ignores NULL: a key without a block takes until.
	if _, err := db.db.ExecContext(ctx, `
		INSERT INTO quota_keys (key, blocked_until) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE
		SET blocked_until = greatest(quota_keys.blocked_until, excluded.blocked_until)`, key, until); err != nil {
		return fmt.Errorf("block quota %q: %w", key, mapErr(ctx, err))
	}
	return nil
}

// QuotaState reads key's window, block and recent spends at now, in one
// statement and so from one snapshot, without locking anything: a key that
// no call has used has no row, and reads as the zero state. See
// [store.Store].
func (db *DB) QuotaState(ctx context.Context, key string, span time.Duration, now time.Time) (store.QuotaState, error) {
	if err := store.ValidateQuotaState(key, span); err != nil {
		return store.QuotaState{}, fmt.Errorf("quota state %q: %w", key, err)
	}
	now = micro(now)
	// As in SpendQuota: a spend counts if at > now-span.
	cutoff := micro(now.Add(-span))
	var r struct {
		keyRow
		Sliding int `db:"sliding"`
	}
	err := sqlx.GetContext(ctx, db.db, &r, `
		SELECT `+keyColumns+`,
			(SELECT coalesce(sum(s.n), 0) FROM quota_spends s
			 WHERE $3 AND s.key = k.key AND s.at > $2)::bigint AS sliding
		FROM quota_keys k WHERE k.key = $1`, key, cutoff, span > 0)
	if errors.Is(err, sql.ErrNoRows) {
		return store.QuotaState{Key: key}, nil
	}
	if err != nil {
		return store.QuotaState{}, fmt.Errorf("quota state %q: %w", key, mapErr(ctx, err))
	}
	st := r.window().State(now)
	st.Key, st.SlidingTaken = key, r.Sliding
	return st, nil
}

// keyColumns are the columns of quota_keys that make a [store.Window].
const keyColumns = `blocked_until, window_generation, window_closes_at, window_taken, window_late,
	window_limit, window_cap, window_cap_ordinal`

// keyRow is a row of quota_keys, scanned through keyColumns.
type keyRow struct {
	BlockedUntil *time.Time `db:"blocked_until"`
	Generation   int64      `db:"window_generation"`
	ClosesAt     *time.Time `db:"window_closes_at"`
	Taken        int        `db:"window_taken"`
	Late         int        `db:"window_late"`
	Limit        int        `db:"window_limit"`
	Cap          int        `db:"window_cap"`
	CapOrdinal   int        `db:"window_cap_ordinal"`
}

// lockKey locks key's row in quota_keys until the transaction ends and
// returns its window. If the row is missing, it creates it when create is
// set (so that even the first calls for a new key queue up behind one lock),
// and returns sql.ErrNoRows otherwise. The common case, a key that exists,
// takes one round trip.
func lockKey(ctx context.Context, tx *sqlx.Tx, key string, create bool) (store.Window, error) {
	const query = `SELECT ` + keyColumns + ` FROM quota_keys WHERE key = $1 FOR UPDATE`
	var r keyRow
	err := sqlx.GetContext(ctx, tx, &r, query, key)
	if errors.Is(err, sql.ErrNoRows) && create {
		// A concurrent creator makes this INSERT wait for its commit, and
		// the SELECT then waits for its lock.
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO quota_keys (key) VALUES ($1) ON CONFLICT DO NOTHING`, key); err != nil {
			return store.Window{}, err
		}
		err = sqlx.GetContext(ctx, tx, &r, query, key)
	}
	if err != nil {
		return store.Window{}, err
	}
	return r.window(), nil
}

// window returns the [store.Window] that r holds.
func (r keyRow) window() store.Window {
	return store.Window{
		Generation:   r.Generation,
		ClosesAt:     fromNull(r.ClosesAt),
		Taken:        r.Taken,
		Late:         r.Late,
		Limit:        r.Limit,
		Cap:          r.Cap,
		CapOrdinal:   r.CapOrdinal,
		BlockedUntil: fromNull(r.BlockedUntil),
	}
}

// saveWindow writes w's window to key's row, which the transaction has
// locked. The block is BlockQuota's to write and is left as it is.
func saveWindow(ctx context.Context, tx *sqlx.Tx, key string, w store.Window) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE quota_keys SET
			window_generation = $2, window_closes_at = $3, window_taken = $4, window_late = $5,
			window_limit = $6, window_cap = $7, window_cap_ordinal = $8
		WHERE key = $1`,
		key, w.Generation, toNull(w.ClosesAt), w.Taken, w.Late, w.Limit, w.Cap, w.CapOrdinal)
	return err
}

// fromNull returns *t in UTC, or the zero time for NULL.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// toNull binds t to a nullable timestamptz: NULL for the zero time.
func toNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
