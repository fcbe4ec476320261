package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

// TestBenchQuota runs `pacer bench quota` small: 10 requests per 500 ms
// for three windows, embedded (always) and on PostgreSQL and RabbitMQ with
// two workers (when the test servers are set), and checks its JSON line.
func TestBenchQuota(t *testing.T) {
	t.Parallel()
	args := []string{"quota", "-limit", "10", "-window", "500ms", "-windows", "3"}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		r := benchQuotaLine(t, append(args, "-workers", "1"))
		checkQuotaRun(t, r, 1, "sqlite+inproc")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.Schema(t)
		amqpURL := os.Getenv("PACER_TEST_AMQP_URL")
		if amqpURL == "" {
			if os.Getenv("CI") != "" {
				t.Fatal("PACER_TEST_AMQP_URL is not set, and CI is")
			}
			t.Skip("PACER_TEST_AMQP_URL is not set")
		}
		r := benchQuotaLine(t, append(args, "-workers", "2", "-database-url", dbURL, "-amqp-url", amqpURL))
		checkQuotaRun(t, r, 2, "postgres+rabbitmq")
	})
}

// benchQuotaLine runs `pacer bench` with args and an empty environment, and
// returns its one output line, decoded.
func benchQuotaLine(t *testing.T, args []string) map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := cmdBench(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("bench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("bench printed %d lines, want 1:\n%s", len(lines), stdout.String())
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatalf("bench line %q: %v", lines[0], err)
	}
	t.Log(lines[0])
	return r
}

func checkQuotaRun(t *testing.T, r map[string]any, workers int, store string) {
	t.Helper()
	for _, k := range []string{"workers", "limit", "window", "windows", "served", "over_quota", "utilization",
		"time_utilization", "full_windows", "short_job_seconds", "seconds", "per_window", "store"} {
		if _, ok := r[k]; !ok {
			t.Errorf("field %q missing from %v", k, r)
		}
	}
	num := func(k string) float64 { f, _ := r[k].(float64); return f }
	if num("workers") != float64(workers) || num("limit") != 10 || r["window"] != "500ms" || r["store"] != store {
		t.Errorf("run %v: want %d workers, limit 10, window 500ms, store %s", r, workers, store)
	}
	if num("over_quota") != 0 || num("served") != 30 || num("windows") < 3 {
		t.Errorf("run %v: want 0 over quota, 30 served, at least 3 windows", r)
	}
	// The line rounds to three decimals.
	if u := num("utilization"); u <= 0 || u > 1 || math.Abs(u-30/(10*num("windows"))) > 0.0005 {
		t.Errorf("utilization %v: want served / (limit × windows) = %v", u, 30/(10*num("windows")))
	}
	// Not capped at 1: the job ends just after its last window opens.
	if u := num("time_utilization"); u <= 0 {
		t.Errorf("time_utilization %v: want positive", u)
	}
	// Windows of 500 ms, shorter than the reset header's second, split
	// unevenly, and under load none may be full: only the range is checked.
	if f := num("full_windows"); f < 0 || f > num("windows") {
		t.Errorf("full_windows %v of %v windows", f, num("windows"))
	}
	// 50 requests on a fresh 900/15m quota go at once: a limiter that paced
	// them at 900/15m (one a second) would take 50 s.
	if s := num("short_job_seconds"); s <= 0 || s > 10 {
		t.Errorf("short_job_seconds %v: want a few seconds at most", s)
	}
	if s := num("seconds"); s <= 0 {
		t.Errorf("seconds %v", s)
	}
}
