package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/web"
)

// TestFollowersSurviveSigkill: the followers of an account with 12,345
// followers, 1,000 a page, are 13 pages and 12,345 rows, on PostgreSQL and
// RabbitMQ; the worker fetching them is killed with SIGKILL right after a
// page commits, and another finishes the job without fetching a committed
// page again.
func TestFollowersSurviveSigkill(t *testing.T) {
	t.Parallel()
	const user = 4242
	c := newCluster(t, sandbox.Config{Limit: 100, Window: time.Second,
		Users: map[uint64]sandbox.UserSpec{user: {Followers: 12345}}})
	// Each page takes a while, so the kill lands between two pages.
	c.sandbox.SetFaults(sandbox.Faults{Latency: 300 * time.Millisecond})
	victim := c.worker()

	ids := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(ids, []byte(fmt.Sprintln(user)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := cli(t, "submit", "-server", c.server, "-kind", "user_followers", "-credential", "e2e",
		"-params", `{"max_results":1000}`, "-ids-file", ids)
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, errOut)
	}
	id, _ := strconv.ParseInt(regexp.MustCompile(`job (\d+)`).FindStringSubmatch(out)[1], 10, 64)

	// Kill as soon as the third page is committed.
	c.waitFor(id, "three pages in", time.Minute, func(v web.JobView) bool { return v.ItemsDone >= 3000 })
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.wait(t, 10*time.Second)
	c.worker()

	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 12345 || v.ItemsTotal != 12345 || v.TasksTotal != 13 || v.TasksDone != 13 {
		t.Fatalf("job %+v: want 13 pages and 12,345 items", v)
	}
	results := allResults(t, c.server, id)
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Key] = true
	}
	if len(results) != 12345 || len(seen) != 12345 {
		t.Fatalf("%d results, %d distinct: want 12,345", len(results), len(seen))
	}
	s := c.sandbox.Stats()
	// A page whose request was in flight at the kill is fetched again, as
	// it must be; every committed page is fetched exactly once.
	if s.OverQuota != 0 || s.PagesRepeated > 1 {
		t.Fatalf("sandbox %+v: want no page but the one in flight at the kill fetched twice", s)
	}
	for offset := 0; offset < 3000; offset += 1000 {
		if n := c.sandbox.PageRequests("user_followers", user, offset); n != 1 {
			t.Fatalf("committed page at offset %d was fetched %d times", offset, n)
		}
	}
	t.Logf("pages repeated: %d (in flight at the kill)", s.PagesRepeated)
}
