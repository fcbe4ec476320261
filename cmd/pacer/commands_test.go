package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

func TestMigrate(t *testing.T) {
	urls := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return pgtest.Schema(t) },
	}
	for name, makeURL := range urls {
		t.Run(name, func(t *testing.T) {
			url := makeURL(t)
			for range 2 { // applying twice is a no-op, not an error
				out, errOut, err := cli(t, "migrate", "-database-url", url)
				if err != nil || !strings.Contains(out, "migrations applied") {
					t.Fatalf("migrate: %v\n%s%s", err, out, errOut)
				}
			}
		})
	}
	if _, _, err := cli(t, "migrate", "-database-url", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("migrate against no server succeeded")
	}
}

func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "-listen", "127.0.0.1:0", "-quota", "2/1m", "-tokens", "a,b"},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
	}()
	base := logs.await(t, `sandbox listening on (http://[0-9.:]+)`, 10*time.Second)[1]
	get := func(token string) int {
		req, _ := http.NewRequest("GET", base+"/2/tweets?ids=20,21", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := []int{get("a"), get("a"), get("a"), get("c")}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || codes[3] != 401 {
		t.Fatalf("status codes %v, want 200 200 429 401", codes)
	}
	var stats sandbox.Stats
	getJSON(t, base+"/sandbox/stats", &stats)
	if stats.Served != 2 || stats.OverQuota != 1 {
		t.Fatalf("stats %+v", stats)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	for _, bad := range [][]string{{"sandbox", "-quota", "lots"}, {"sandbox", "ids", "0"}, {"sandbox", "ids"}} {
		if _, _, err := cli(t, bad...); err == nil {
			t.Errorf("pacer %v succeeded", bad)
		}
	}
}
