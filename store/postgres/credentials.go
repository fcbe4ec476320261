package postgres

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
	if _, err := db.db.ExecContext(ctx, `
		INSERT INTO retired_credentials (name, reason, retired_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, reason, micro(now)); err != nil {
		return fmt.Errorf("retire credential %q: %w", name, mapErr(ctx, err))
	}
	return nil
}

// ListRetiredCredentials returns every retired credential, by name.
func (db *DB) ListRetiredCredentials(ctx context.Context) ([]store.RetiredCredential, error) {
	var out []store.RetiredCredential
	if err := db.db.SelectContext(ctx, &out,
		`SELECT name, reason, retired_at FROM retired_credentials ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list retired credentials: %w", mapErr(ctx, err))
	}
	for i := range out {
		out[i].RetiredAt = out[i].RetiredAt.UTC()
	}
	return out, nil
}

// RestoreCredential puts a retired credential back in use.
func (db *DB) RestoreCredential(ctx context.Context, name string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM retired_credentials WHERE name = $1`, name)
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
