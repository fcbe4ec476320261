package main

import (
	"context"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store/postgres"
)

// TestQuotaFourWorkers: four pacer work processes share a compressed "50 per
// 2 s" quota for six windows. The sandbox counts no request over its quota,
// and every window but the last (when work ran out) is used to the full.
func TestQuotaFourWorkers(t *testing.T) {
	t.Parallel()
	const limit = 50
	c := newCluster(t, sandbox.Config{Limit: limit, Window: 2 * time.Second})
	for range 4 {
		c.worker()
	}
	start := time.Now()
	id := c.submit(30000) // 300 requests: six windows
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	elapsed := time.Since(start)
	if v.ItemsDone != 30000 || v.Requests != 300 {
		t.Fatalf("job %+v: want 30000 items in 300 requests", v)
	}
	s := c.sandbox.Stats()
	windows := s.Tokens["e2e-token"].Windows
	if s.OverQuota != 0 || s.Served != 300 {
		t.Fatalf("sandbox %+v: want 300 served, 0 over quota", s)
	}
	// Six windows of work. On a loaded machine a request admitted at the
	// very end of one window can arrive after the upstream's reset and count
	// in the next one (pacer's margin exists for exactly that, and it never
	// breaks the quota), which splits one window's worth over two.
	if len(windows) < 6 || len(windows) > 7 {
		t.Fatalf("the sandbox opened %d windows (%v), want 6, or 7 with one late request", len(windows), windows)
	}
	full := 0
	for _, n := range windows {
		if n > limit {
			t.Fatalf("a window admitted %d of %d: %v", n, limit, windows)
		}
		if n == limit {
			full++
		}
	}
	if full < len(windows)-2 {
		t.Fatalf("only %d of %d windows were used to the full while work was waiting: %v", full, len(windows), windows)
	}
	t.Logf("windows %v in %s: %.0f%% of the time-based ceiling (%d windows of 2s)", windows, elapsed.Round(time.Millisecond),
		100*float64(s.Served)/(float64(limit)*elapsed.Seconds()/2), len(windows))
}

// TestQuotaEarly429: the upstream answers 429 before pacer's count says the
// window is spent. Every process stops sending on that quota until the
// reset, the job finishes with every id once, and no task's attempts grow.
func TestQuotaEarly429(t *testing.T) {
	t.Parallel()
	c := newCluster(t, sandbox.Config{Limit: 30, Window: 2 * time.Second})
	c.worker()
	c.worker()
	// The upstream's window is spent before pacer sent anything: pacer's
	// own count says the whole quota is there, and only the 429 tells.
	c.sandbox.SpendWindow("e2e-token")
	id := c.submit(10000)
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 10000 {
		t.Fatalf("job %+v", v)
	}
	checkExactlyOnce(t, c.server, id, 10000)
	s := c.sandbox.Stats()
	// Only requests already admitted when the first 429 came back may be
	// refused too: at most one per worker slot (2 workers × 4).
	if s.OverQuota != 0 || s.Refused < 1 || s.Refused > 8 || s.Served != 100 {
		t.Fatalf("sandbox %+v: want 1 to 8 early refusals, 100 served, none over quota", s)
	}
	db, err := postgres.Open(t.Context(), postgres.Config{URL: c.dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for taskID := int64(1); taskID <= 100; taskID++ {
		task, err := db.GetTask(ctx, taskID)
		if err != nil {
			t.Fatal(err)
		}
		if task.Attempts != 1 {
			t.Fatalf("task %d used %d attempts; a 429 must not use one", taskID, task.Attempts)
		}
	}
}
