package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

// TestBenchPage runs `pacer bench page` small on PostgreSQL (2,000 rows) and
// checks that it prints the four medians and a JSON line that agrees.
func TestBenchPage(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	args := []string{"page", "-database-url", dbURL, "-rows", "2000", "-samples", "3"}
	if err := cmdBench(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("bench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Log("\n" + stdout.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	prefixes := []string{"measure", "build the job", "job page, first page", "job page, middle page", "store ListResults, first page", "store ListResults, middle page"}
	if len(lines) != len(prefixes)+1 {
		t.Fatalf("bench printed %d lines, want %d:\n%s", len(lines), len(prefixes)+1, stdout.String())
	}
	for i, prefix := range prefixes {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
	var r pageResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("JSON line %q: %v", lines[len(lines)-1], err)
	}
	if r.Rows != 2000 || r.PageSize != 100 || r.Samples != 3 {
		t.Errorf("result %+v: want 2,000 rows, pages of 100, 3 samples", r)
	}
	if r.PageFirstMS <= 0 || r.PageMiddleMS <= 0 || r.StoreFirstMS <= 0 || r.StoreMiddleMS <= 0 || r.BuildSeconds <= 0 {
		t.Errorf("result %+v: want every time positive", r)
	}
}

func TestBenchPageFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"page"},
		{"page", "-database-url", "sqlite:/tmp/x.db"},
		{"page", "-database-url", "postgres://x/y", "-rows", "250"},
		{"page", "-database-url", "postgres://x/y", "-samples", "0"},
		{"page", "-database-url", "postgres://x/y", "-page-size", "0"},
	} {
		err := cmdBench(t.Context(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), "-") {
			t.Errorf("bench %v: error %v, want one naming the flag", args, err)
		}
	}
}
