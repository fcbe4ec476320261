package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/web"
)

// TestRerunFromThePage: a job with 1% of its requests failing (and no
// retries) ends with failed items; "Re-run failed" on its page creates a job
// over exactly those, and together the two hold every item.
func TestRerunFromThePage(t *testing.T) {
	t.Parallel()
	// Seed 2 makes exactly 2 of the first 100 requests fail at 1%.
	c := newCluster(t, sandbox.Config{Limit: 100, Window: time.Second, Seed: 2, Faults: sandbox.Faults{ErrorPercent: 1}})
	c.env = append(c.env, "PACER_MAX_ATTEMPTS=1")
	c.worker()
	id := c.submit(10000)
	old := c.waitFor(id, "finished", 2*time.Minute, func(v web.JobView) bool { return v.State == "succeeded" || v.State == "failed" })
	if old.ItemsFailed != 200 || old.ItemsDone != 9800 {
		t.Fatalf("job %+v: want 2 tasks (200 items) failed", old)
	}
	if err := c.sandbox.SetFaults(sandbox.Faults{}); err != nil { // the upstream recovered
		t.Fatal(err)
	}

	// The page's button: a same-origin form POST, answered with a redirect
	// to the new job.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", c.server+"/jobs/"+strconv.FormatInt(id, 10)+"/rerun", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	m := regexp.MustCompile(`^/jobs/(\d+)$`).FindStringSubmatch(loc.Path)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("Re-run failed answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	newID, _ := strconv.ParseInt(m[1], 10, 64)
	v := c.waitFor(newID, "succeeded", time.Minute, succeeded)
	if v.ItemsTotal != 200 || v.ItemsDone != 200 {
		t.Fatalf("re-run job %+v: want the 200 failed items, done", v)
	}
	all := map[string]bool{}
	for _, j := range []int64{id, newID} {
		for _, r := range allResults(t, c.server, j) {
			all[r.Key] = true
		}
	}
	if len(all) != 10000 {
		t.Fatalf("the two jobs hold %d distinct items, want every one of 10,000", len(all))
	}
}
