package web_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/web"
)

// TestReadyHandlerLogsChanges: /readyz answers 503 without the reason while
// ready fails, and logs the outage once at Warn (later failed probes at
// Debug) and the recovery once at Info.
func TestReadyHandlerLogsChanges(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var fail error
	h := web.ReadyHandler(func(context.Context) error { return fail }, log)
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := probe(); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("ready: %d %q", code, body)
	}
	fail = errors.New("store: dial tcp db.internal:5432: connection refused")
	for range 3 {
		if code, body := probe(); code != http.StatusServiceUnavailable || strings.Contains(body, "db.internal") {
			t.Fatalf("not ready: %d %q; want 503 without the reason", code, body)
		}
	}
	fail = nil
	probe()
	probe()
	out := logs.String()
	for line, want := range map[string]int{"level=WARN msg=\"not ready\"": 1, "level=DEBUG msg=\"not ready\"": 2, "level=INFO msg=\"ready again\"": 1} {
		if got := strings.Count(out, line); got != want {
			t.Errorf("%d lines with %s, want %d; log:\n%s", got, line, want, out)
		}
	}
	if !strings.Contains(out, "db.internal") {
		t.Errorf("the log does not give the reason:\n%s", out)
	}
}
