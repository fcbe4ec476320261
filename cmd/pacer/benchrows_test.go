package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

// TestBenchRows runs `pacer bench rows` small on PostgreSQL (2,000 items ×
// 3) and checks that it prints both rates and their ratio.
func TestBenchRows(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	args := []string{"rows", "-database-url", dbURL, "-items", "2000", "-per-item", "3"}
	if err := cmdBench(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("bench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Log("\n" + stdout.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("bench printed %d lines, want 5 (header, 3 measures, JSON):\n%s", len(lines), stdout.String())
	}
	for i, prefix := range []string{"measure", "pacer annotate job", "raw PostgreSQL COPY", "pacer / raw"} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
	var r rowsResult
	if err := json.Unmarshal([]byte(lines[4]), &r); err != nil {
		t.Fatalf("JSON line %q: %v", lines[4], err)
	}
	if r.Rows != 6000 || r.RawRows != 6000 || r.Items != 2000 || r.PerItem != 3 || r.Annotators != 7 || r.Store != "postgres+inproc" {
		t.Errorf("result %+v: want 6,000 rows and raw rows, 2,000 items × 3 of 7, postgres+inproc", r)
	}
	if r.RowsPerSecond <= 0 || r.RawRowsPerSecond <= 0 || r.Ratio <= 0 {
		t.Errorf("result %+v: want positive rates and ratio", r)
	}
}

func TestBenchRowsFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"rows"},
		{"rows", "-database-url", "sqlite:/tmp/x.db"},
		{"rows", "-database-url", "postgres://x/y", "-per-item", "8"},
	} {
		err := cmdBench(t.Context(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), "-") {
			t.Errorf("bench %v: error %v, want one naming the flag", args, err)
		}
	}
}
