package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
)

// TestSchedulesTwoServes: two pacer serve processes share a schedule "every
// 2s"; each due time is decided once (one run row per due time, none
// missing), each fired run made one job, and no job was made twice: the
// jobs in the store are exactly the fired runs' jobs, and the two
// processes' fired counters add up to them.
func TestSchedulesTwoServes(t *testing.T) {
	c := newCluster(t, sandbox.Config{})
	c.worker()
	second := startProc(t, append(append([]string(nil), c.env...), "PACER_SCHEDULE_MIN_INTERVAL=1s"), "serve", "-listen", "127.0.0.1:0")
	server2 := second.log.await(t, addrPattern, 60*time.Second)[1]

	out, errOut, err := cli(t, "schedule", "create", "-server", server2, "-kind", "tweet_lookup", "-credential", "e2e",
		"-ids", writeIDs(t, 5), "-every", "2s", "every-2s")
	if err != nil {
		t.Fatalf("schedule create: %v\n%s", err, errOut)
	}
	m := regexp.MustCompile(`schedule (\d+) every-2s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("schedule create printed %q", out)
	}
	var id int64
	fmt.Sscan(m[1], &id)

	db, err := postgres.Open(t.Context(), postgres.Config{URL: c.dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Ten due times, twenty seconds: polled, not slept.
	const want = 10
	var runs []store.ScheduleRun
	deadline := time.Now().Add(90 * time.Second)
	for {
		if runs, err = db.ListScheduleRuns(t.Context(), id, store.RunFilter{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		if len(runs) >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs within 90s, want %d", len(runs), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Stop deciding: pause, then wait for the last job to be made.
	if _, errOut, err := cli(t, "schedule", "pause", "-server", c.server, fmt.Sprint(id)); err != nil {
		t.Fatalf("schedule pause: %v\n%s", err, errOut)
	}
	if runs, err = db.ListScheduleRuns(t.Context(), id, store.RunFilter{Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	perDue := map[time.Time]int{}
	jobsOf := map[int64]bool{}
	fired := 0
	for i, r := range runs {
		perDue[r.DueAt]++
		if i > 0 && runs[i-1].DueAt.Sub(r.DueAt) != 2*time.Second {
			t.Errorf("due times %v and %v are not 2s apart: a due time was missed", r.DueAt, runs[i-1].DueAt)
		}
		switch r.State {
		case store.RunFired:
			fired++
			if jobsOf[*r.JobID] {
				t.Errorf("job %d fired by two runs", *r.JobID)
			}
			jobsOf[*r.JobID] = true
		case store.RunSkipped:
		default:
			t.Errorf("run %+v is %s", r, r.State)
		}
	}
	for due, n := range perDue {
		if n != 1 {
			t.Errorf("due time %v decided %d times", due, n)
		}
	}
	jobs, err := db.ListJobs(t.Context(), store.JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != fired || fired < want/2 {
		t.Errorf("%d jobs in the store, %d fired runs (of %d): want them equal, and most runs fired", len(jobs), fired, len(runs))
	}
	total, each := 0, []int{}
	for _, server := range []string{c.server, server2} {
		n := firedCounter(t, server)
		total += n
		each = append(each, n)
	}
	if total != fired {
		t.Errorf("pacer_schedule_runs_total{outcome=\"fired\"} adds up to %d over both serves, want %d", total, fired)
	}
	t.Logf("%d due times over %s: %d fired (by the two serves: %v), %d skipped", len(runs), runs[0].DueAt.Sub(runs[len(runs)-1].DueAt), fired, each, len(runs)-fired)
}

// firedCounter reads pacer_schedule_runs_total{outcome="fired"} from a
// server's /metrics.
func firedCounter(t *testing.T, server string) int {
	t.Helper()
	resp, err := http.Get(server + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `pacer_schedule_runs_total{outcome="fired"} `); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatalf("%s/metrics has no pacer_schedule_runs_total{outcome=\"fired\"}", server)
	return 0
}

// TestScheduleRefusedAtTheDoor: a cron that does not parse, an unknown time
// zone and an interval below the minimum are refused with the field and the
// reason, by the API, the CLI and the form; a good schedule is then listed,
// paused, resumed and deleted from the CLI.
func TestScheduleRefusedAtTheDoor(t *testing.T) {
	server := startEmbedded(t, "-schedule-min-interval", "1m")
	env := []string{"PACER_ADMIN_TOKEN=" + testAdminToken}
	ids := writeIDs(t, 3)
	bad := []struct {
		name   string
		flags  []string
		form   url.Values
		field  string
		reason string
	}{
		{"cron", []string{"-cron", "61 * * * *"}, url.Values{"cron": {"61 * * * *"}}, "cron", "out of bounds"},
		{"zone", []string{"-cron", "0 6 * * *", "-time-zone", "Mars/Olympus"}, url.Values{"cron": {"0 6 * * *"}, "time_zone": {"Mars/Olympus"}}, "time_zone", "unknown time zone"},
		{"interval", []string{"-every", "10s"}, url.Values{"every": {"10s"}}, "every", "below the minimum interval 1m0s"},
	}
	for _, tc := range bad {
		// The API.
		spec := map[string]string{"name": "x", "kind": "tweet_lookup", "credential": "demo", "items": "20\n"}
		for k, v := range tc.form {
			spec[k] = v[0]
		}
		body, _ := json.Marshal(spec)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, server+"/api/v1/schedules", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Field, Reason string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Error.Field != tc.field || !strings.Contains(e.Error.Reason, tc.reason) {
			t.Errorf("%s: API answered %d %+v; want 400 naming %s: %s", tc.name, resp.StatusCode, e, tc.field, tc.reason)
		}
		// The CLI.
		args := append([]string{"schedule", "create", "-server", server, "-kind", "tweet_lookup", "-credential", "demo", "-ids", ids}, tc.flags...)
		if _, _, err := cliEnv(t, env, append(args, "x")...); err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: CLI: %v; want an error naming %s: %s", tc.name, err, tc.field, tc.reason)
		}
	}
	// The form, logged in, with the page's csrf value.
	browser := login(t, server)
	page := getPage(t, browser, server+"/schedules")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no csrf field on /schedules:\n%s", page)
	}
	for _, tc := range bad {
		form := url.Values{"csrf": {csrf[1]}, "name": {"x"}, "kind": {"tweet_lookup"}, "credential": {"demo"}, "ids": {"20\n"}}
		for k, v := range tc.form {
			form[k] = v
		}
		resp, err := browser.PostForm(server+"/schedules", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `data-field="`+tc.field+`"`) || !strings.Contains(string(b), tc.reason) {
			t.Errorf("%s: form answered %d without the %s error %q:\n%s", tc.name, resp.StatusCode, tc.field, tc.reason, b)
		}
	}
	if out, _, _ := cliEnv(t, env, "schedules", "-server", server); strings.Contains(out, "x ") {
		t.Fatalf("a refused schedule was stored:\n%s", out)
	}

	// A good one, through the form, then the CLI.
	form := url.Values{"csrf": {csrf[1]}, "name": {"nightly"}, "kind": {"tweet_lookup"}, "credential": {"demo"},
		"ids": {"20\n21\n"}, "cron": {"0 3 * * *"}, "time_zone": {"Europe/Berlin"}, "overlap": {"queue"}, "missed": {"skip"}}
	resp, err := browser.PostForm(server+"/schedules", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/schedules/") {
		t.Fatalf("form create: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if page := getPage(t, browser, server+resp.Request.URL.Path); !strings.Contains(page, "Schedule nightly") || !strings.Contains(page, `id="edit-schedule"`) ||
		!strings.Contains(page, "<code>0 3 * * *</code> (Europe/Berlin), overlap queue, missed skip") {
		t.Fatalf("schedule page lacks the schedule or its edit form:\n%s", page)
	}
	if page := getPage(t, browser, server+"/schedules"); !strings.Contains(page, `data-schedule-id=`) || !strings.Contains(page, `data-quota="demo"`) {
		t.Fatalf("schedules page lacks the schedule or its quota share:\n%s", page)
	}
	out, errOut, err := cliEnv(t, env, "schedules", "-server", server)
	if err != nil || !strings.Contains(out, "nightly") || !strings.Contains(out, "0 3 * * * Europe/Berlin") {
		t.Fatalf("schedules: %v\n%s%s", err, out, errOut)
	}
	sid := strings.TrimPrefix(resp.Request.URL.Path, "/schedules/")
	// The API: PUT replaces it (the name and the interval here), an
	// unknown id is a 404 naming the id.
	put, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, server+"/api/v1/schedules/"+sid,
		strings.NewReader(`{"name":"nightly","kind":"tweet_lookup","credential":"demo","items":"20\n","every":"2h"}`))
	put.Header.Set("Authorization", "Bearer "+testAdminToken)
	var updated struct {
		Every string `json:"every"`
		Cron  string `json:"cron"`
		Items int    `json:"items"`
	}
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %v %v", err, resp)
	} else {
		json.NewDecoder(resp.Body).Decode(&updated)
		resp.Body.Close()
	}
	if updated.Every != "2h0m0s" || updated.Cron != "" || updated.Items != 1 {
		t.Fatalf("PUT gave %+v", updated)
	}
	get, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, server+"/api/v1/schedules/99999", nil)
	get.Header.Set("Authorization", "Bearer "+testAdminToken)
	if resp, err := http.DefaultClient.Do(get); err != nil {
		t.Fatal(err)
	} else {
		var e struct {
			Error struct{ Field, Reason string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || e.Error.Field != "id" || e.Error.Reason != "no such schedule" {
			t.Fatalf("GET of an unknown schedule: %d %+v", resp.StatusCode, e)
		}
	}
	for _, action := range []string{"pause", "resume", "delete"} {
		if out, errOut, err := cliEnv(t, env, "schedule", action, "-server", server, sid); err != nil {
			t.Fatalf("schedule %s: %v\n%s%s", action, err, out, errOut)
		} else if action == "pause" && !strings.Contains(out, "paused") {
			t.Fatalf("schedule pause printed %q", out)
		}
	}
	if out, _, _ := cliEnv(t, env, "schedules", "-server", server); strings.Contains(out, "nightly") {
		t.Fatalf("deleted schedule still listed:\n%s", out)
	}
}

// login logs a cookie-keeping client in with the test admin token.
func login(t *testing.T, server string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(server+"/login", url.Values{"token": {testAdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return c
}

func getPage(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, resp.StatusCode, b)
	}
	return string(b)
}
