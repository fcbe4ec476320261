package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pacerhq/pacer/store"
)

// SpendQuota records n requests at now against key if no span-long window
// ending at now would then hold more than limit, and the key is not blocked;
// otherwise it reports the earliest time, to the microsecond, at which the
// same call would succeed. Calls for one key are serialized by the write
// transaction itself: BEGIN IMMEDIATE admits one writer to the file at a
// time, across processes. limit, span and n must be positive; n greater than
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
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		w, err := readKey(ctx, tx, key, true)
		if err != nil {
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
		ok, retryAt = store.DecideBlockedSpend(ok, retryAt, w.BlockedUntil, now)
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

// TakeWindow spends n requests of key's fixed window at now, opening a new
// window if none is open; it refuses while the window is full or the key is
// blocked. The decision is [store.Window.Take], made inside an IMMEDIATE
// transaction, which serializes every call for the key across processes.
// See [store.Store].
func (db *DB) TakeWindow(ctx context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (ok bool, generation int64, ordinal int, retryAt time.Time, err error) {
	if err := store.ValidateTake(key, limit, window, margin, n); err != nil {
		return false, 0, 0, time.Time{}, fmt.Errorf("take window %q: %w", key, err)
	}
	now = micro(now)
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		w, err := readKey(ctx, tx, key, true)
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
// request taken as (generation, ordinal): [store.Window.Observe], inside an
// IMMEDIATE transaction. A key that never took a request has nothing to
// correct. See [store.Store].
func (db *DB) ObserveWindow(ctx context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error {
	if err := store.ValidateObserve(key, generation, ordinal, limit, remaining); err != nil {
		return fmt.Errorf("observe window %q: %w", key, err)
	}
	now = micro(now)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		w, err := readKey(ctx, tx, key, false)
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
	// SQLite's max() of a NULL is NULL: a key without a block takes until.
	if _, err := db.wdb.ExecContext(ctx, `
		INSERT INTO quota_keys (key, blocked_until) VALUES (?1, ?2)
		ON CONFLICT (key) DO UPDATE
		SET blocked_until = max(coalesce(quota_keys.blocked_until, ?2), ?2)`, key, toDB(until)); err != nil {
		return fmt.Errorf("block quota %q: %w", key, mapErr(ctx, err))
	}
	return nil
}

// QuotaState reads key's window, block and recent spends at now, in one
// statement on the read pool, so from one snapshot and without waiting for
// the writer: a key that no call has used has no row, and reads as the zero
// state. See [store.Store].
func (db *DB) QuotaState(ctx context.Context, key string, span time.Duration, now time.Time) (store.QuotaState, error) {
	if err := store.ValidateQuotaState(key, span); err != nil {
		return store.QuotaState{}, fmt.Errorf("quota state %q: %w", key, err)
	}
	now = micro(now)
	// As in SpendQuota: a spend counts if at > now-span.
	cutoff := micro(now.Add(-span))
	var (
		w                      store.Window
		blockedUntil, closesAt sql.NullInt64
		sliding                int
	)
	err := db.rdb.QueryRowContext(ctx, `
		SELECT `+keyColumns+`,
			(SELECT coalesce(sum(s.n), 0) FROM quota_spends s
			 WHERE ?3 AND s.key = k.key AND s.at > ?2)
		FROM quota_keys k WHERE k.key = ?1`, key, toDB(cutoff), span > 0).Scan(
		&blockedUntil, &w.Generation, &closesAt, &w.Taken, &w.Late, &w.Limit, &w.Cap, &w.CapOrdinal, &sliding)
	if errors.Is(err, sql.ErrNoRows) {
		return store.QuotaState{Key: key}, nil
	}
	if err != nil {
		return store.QuotaState{}, fmt.Errorf("quota state %q: %w", key, mapErr(ctx, err))
	}
	w.BlockedUntil, w.ClosesAt = fromDBZero(blockedUntil), fromDBZero(closesAt)
	st := w.State(now)
	st.Key, st.SlidingTaken = key, sliding
	return st, nil
}

// keyColumns are the columns of quota_keys that make a [store.Window], in
// the order readKey and QuotaState scan them.
const keyColumns = `blocked_until, window_generation, window_closes_at, window_taken, window_late,
	window_limit, window_cap, window_cap_ordinal`

// readKey returns key's window from its row in quota_keys. If the row is
// missing, it creates it when create is set (so that the key's row exists
// as in PostgreSQL) and returns sql.ErrNoRows otherwise. The IMMEDIATE
// transaction keeps the row from changing until commit.
func readKey(ctx context.Context, tx *sql.Tx, key string, create bool) (store.Window, error) {
	if create {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO quota_keys (key) VALUES (?) ON CONFLICT DO NOTHING`, key); err != nil {
			return store.Window{}, err
		}
	}
	var (
		w                      store.Window
		blockedUntil, closesAt sql.NullInt64
	)
	if err := tx.QueryRowContext(ctx, `
		SELECT `+keyColumns+` FROM quota_keys WHERE key = ?`, key).Scan(
		&blockedUntil, &w.Generation, &closesAt, &w.Taken, &w.Late, &w.Limit, &w.Cap, &w.CapOrdinal); err != nil {
		return store.Window{}, err
	}
	w.BlockedUntil, w.ClosesAt = fromDBZero(blockedUntil), fromDBZero(closesAt)
	return w, nil
}

// saveWindow writes w's window to key's row. The block is BlockQuota's to
// write and is left as it is.
func saveWindow(ctx context.Context, tx *sql.Tx, key string, w store.Window) error {
	var closesAt any // NULL before the first window
	if !w.ClosesAt.IsZero() {
		closesAt = toDB(w.ClosesAt)
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE quota_keys SET
			window_generation = ?, window_closes_at = ?, window_taken = ?, window_late = ?,
			window_limit = ?, window_cap = ?, window_cap_ordinal = ?
		WHERE key = ?`,
		w.Generation, closesAt, w.Taken, w.Late, w.Limit, w.Cap, w.CapOrdinal, key)
	return err
}

// fromDBZero returns v as a time, or the zero time for NULL.
func fromDBZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromDB(v.Int64)
}
