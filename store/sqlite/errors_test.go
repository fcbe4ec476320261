package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"

	"github.com/pacerhq/pacer/store"
)

// TestMapErr checks that driver errors never leave the package: the
// sentinels come out as store errors and the rest as text alone.
func TestMapErr(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "pacer.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := db.wdb.ExecContext(ctx, `INSERT INTO quota_keys (key) VALUES ('k')`); err != nil {
		t.Fatal(err)
	}
	_, dup := db.wdb.ExecContext(ctx, `INSERT INTO quota_keys (key) VALUES ('k')`)
	_, check := db.wdb.ExecContext(ctx, `INSERT INTO quota_spends (key, at, n) VALUES ('k', 0, 0)`)
	tests := []struct {
		name string
		err  error
		want error // nil: any error but a sentinel
	}{
		{"no rows", sql.ErrNoRows, store.ErrNotFound},
		{"unique violation", dup, store.ErrConflict},
		{"check violation", check, nil},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Fatalf("%s: no error to map", tc.name)
		}
		got := mapErr(ctx, tc.err)
		if tc.want != nil && !errors.Is(got, tc.want) {
			t.Errorf("%s: mapErr = %v, want %v", tc.name, got, tc.want)
		}
		var sqErr *sqlite.Error
		if errors.As(got, &sqErr) || errors.Is(got, sql.ErrNoRows) {
			t.Errorf("%s: mapErr = %#v still wraps the driver's error", tc.name, got)
		}
	}
}
