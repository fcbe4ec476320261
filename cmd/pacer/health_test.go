package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/broker/inproc"
)

// TestWorkerHealth: a worker's /healthz answers while the process lives;
// its /readyz follows readiness, and never puts the reason on the wire.
func TestWorkerHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		ready error
		code  int
		body  string
	}{
		{"alive", "/healthz", nil, http.StatusOK, "ok\n"},
		{"alive while not ready", "/healthz", errors.New("store: down"), http.StatusOK, "ok\n"},
		{"ready", "/readyz", nil, http.StatusOK, "ready\n"},
		{"not ready", "/readyz", errors.New("store: dial tcp 10.0.0.7:5432: refused"), http.StatusServiceUnavailable, "not ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			addHealth(mux, func(context.Context) error { return tc.ready }, slog.New(slog.DiscardHandler))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.code || rec.Body.String() != tc.body {
				t.Fatalf("GET %s: %d %q, want %d %q", tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}
}

// TestReadiness: ready while the store answers with its migrations
// applied; not once it is closed; a broker that cannot tell (in-process)
// does not count against it.
func TestReadiness(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := openStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "pacer.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := inproc.New()
	defer b.Close()
	ready := readiness(s, b)
	if err := ready(ctx); err != nil {
		t.Fatalf("ready with a migrated store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx); err == nil || !strings.HasPrefix(err.Error(), "store: ") {
		t.Fatalf("ready with a closed store: %v, want a store error", err)
	}
}
