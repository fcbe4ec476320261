package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pacerhq/pacer/store"
)

// RetireCredential records that a credential is out of use. See
// [store.Store].
func (db *DB) RetireCredential(ctx context.Context, name, reason string, now time.Time) error {
	if name == "" {
		return errors.New("retire credential: name is required")
	}
	if _, err := db.wdb.ExecContext(ctx, `
		INSERT INTO retired_credentials (name, reason, retired_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, reason, toDB(now)); err != nil {
		return fmt.Errorf("retire credential %q: %w", name, mapErr(ctx, err))
	}
	return nil
}

// ListRetiredCredentials returns every retired credential, by name.
func (db *DB) ListRetiredCredentials(ctx context.Context) ([]store.RetiredCredential, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT name, reason, retired_at FROM retired_credentials ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list retired credentials: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	var out []store.RetiredCredential
	for rows.Next() {
		var (
			c  store.RetiredCredential
			at int64
		)
		if err := rows.Scan(&c.Name, &c.Reason, &at); err != nil {
			return nil, fmt.Errorf("list retired credentials: %w", mapErr(ctx, err))
		}
		c.RetiredAt = fromDB(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list retired credentials: %w", mapErr(ctx, err))
	}
	return out, nil
}

// RestoreCredential puts a retired credential back in use.
func (db *DB) RestoreCredential(ctx context.Context, name string) error {
	res, err := db.wdb.ExecContext(ctx, `DELETE FROM retired_credentials WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("restore credential %q: %w", name, mapErr(ctx, err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("restore credential %q: %w", name, mapErr(ctx, err))
	} else if n == 0 {
		return fmt.Errorf("restore credential %q: %w", name, store.ErrNotFound)
	}
	return nil
}
