package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"

	"github.com/pacerhq/pacer/store"
)

// TestMapErr checks that driver errors never leave the package: the
// sentinels come out as store errors and the rest as text alone.
func TestMapErr(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error // nil: any error but a sentinel or a driver type
	}{
		{"no rows", t.Context(), fmt.Errorf("get: %w", sql.ErrNoRows), store.ErrNotFound},
		{"unique violation", t.Context(), &pq.Error{Code: "23505", Message: "duplicate key"}, store.ErrConflict},
		{"other pq error", t.Context(), &pq.Error{Code: "22P02", Message: "invalid input"}, nil},
		{"conn done", t.Context(), sql.ErrConnDone, nil},
		{"ctx done", cancelled, &pq.Error{Code: "57014", Message: "canceling statement"}, context.Canceled},
		{"sentinel", t.Context(), fmt.Errorf("x: %w", store.ErrConflict), store.ErrConflict},
	}
	for _, tc := range tests {
		got := mapErr(tc.ctx, tc.err)
		if tc.want != nil && !errors.Is(got, tc.want) {
			t.Errorf("%s: mapErr = %v, want %v", tc.name, got, tc.want)
		}
		if tc.want == nil && (errors.Is(got, store.ErrNotFound) || errors.Is(got, store.ErrConflict)) {
			t.Errorf("%s: mapErr = %v, a sentinel", tc.name, got)
		}
		var pqErr *pq.Error
		if errors.As(got, &pqErr) || errors.Is(got, sql.ErrNoRows) || errors.Is(got, sql.ErrConnDone) {
			t.Errorf("%s: mapErr = %#v still wraps the driver's error", tc.name, got)
		}
	}
}
