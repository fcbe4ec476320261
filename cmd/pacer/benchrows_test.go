package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

// TestBenchRows runs `pacer bench rows` small on PostgreSQL (2 rounds of
// 2,000 items × 3) and checks that it prints both rates and their ratio.
func TestBenchRows(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	args := []string{"rows", "-database-url", dbURL, "-items", "2000", "-per-item", "3", "-rounds", "2"}
	if err := cmdBench(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("bench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Log("\n" + stdout.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("bench printed %d lines, want 7 (header, 2 rounds, 3 medians, JSON):\n%s", len(lines), stdout.String())
	}
	for i, prefix := range []string{"measure", "round 1:", "round 2:", "pacer annotate job", "raw PostgreSQL COPY", "pacer / raw"} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
	var r rowsResult
	if err := json.Unmarshal([]byte(lines[6]), &r); err != nil {
		t.Fatalf("JSON line %q: %v", lines[4], err)
	}
	if r.Rows != 6000 || r.RawRows != 6000 || r.Items != 2000 || r.PerItem != 3 || r.Annotators != 7 || r.Store != "postgres+inproc" || r.Rounds != 2 {
		t.Errorf("result %+v: want 6,000 rows and raw rows, 2,000 items × 3 of 7, postgres+inproc, 2 rounds", r)
	}
	if r.RowsPerSecond <= 0 || r.RawRowsPerSecond <= 0 || r.Ratio <= 0 || r.RatioMin > r.Ratio || r.Ratio > r.RatioMax {
		t.Errorf("result %+v: want positive rates and ratio", r)
	}
}

func TestBenchRowsFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"rows"},
		{"rows", "-database-url", "sqlite:/tmp/x.db"},
		{"rows", "-database-url", "postgres://x/y", "-per-item", "8"},
		{"rows", "-database-url", "postgres://x/y", "-rounds", "0"},
	} {
		err := cmdBench(t.Context(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), "-") {
			t.Errorf("bench %v: error %v, want one naming the flag", args, err)
		}
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := append([]float64(nil), tc.in...)
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("median reordered its input: %v, was %v", tc.in, in)
			}
		})
	}
}
