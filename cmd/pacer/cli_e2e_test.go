package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/web"
)

// testAdminToken is the admin token the CLI tests give their servers.
const testAdminToken = "cli-test-admin-token"

// envFunc is a getenv over kv pairs ("NAME=value").
func envFunc(kv ...string) func(string) string {
	return func(name string) string {
		for _, e := range kv {
			if n, v, _ := strings.Cut(e, "="); n == name {
				return v
			}
		}
		return ""
	}
}

// startEmbedded runs `pacer run` in this process with the test admin token
// until the test ends, and returns its base URL.
func startEmbedded(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	db := "sqlite:" + filepath.Join(t.TempDir(), "pacer.db")
	go func() {
		done <- run(ctx, append([]string{"run", "-listen", "127.0.0.1:0", "-database-url", db}, args...),
			envFunc("PACER_ADMIN_TOKEN="+testAdminToken), strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pacer run: %v", err)
		}
	})
	return logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]
}

// cliEnv runs a pacer command in this process with the environment kv.
func cliEnv(t *testing.T, kv []string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err := run(ctx, args, envFunc(kv...), strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestCLIJobsExportControl drives jobs, export, pause, resume, cancel and
// rerun against pacer run with an admin token, as a user at a terminal
// would.
func TestCLIJobsExportControl(t *testing.T) {
	// 20 requests a minute: the 500-id job takes 5 and succeeds; the
	// 5,000-id job spends the other 15 and then waits on the quota, so it
	// is surely unfinished while the test pauses, resumes and cancels it.
	server := startEmbedded(t, "-demo-quota", "20/1m")
	token := []string{"PACER_ADMIN_TOKEN=" + testAdminToken}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pacer := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := cliEnv(t, token, append(args[:1:1], append([]string{"-server", server}, args[1:]...)...)...)
		return out, err
	}

	// The token is needed, and is read from the environment or a file.
	if _, _, err := cliEnv(t, nil, "jobs", "-server", server); err == nil || !strings.Contains(err.Error(), "PACER_ADMIN_TOKEN") {
		t.Fatalf("jobs without a token: error %v, want a 401 that names PACER_ADMIN_TOKEN", err)
	}
	if _, _, err := cliEnv(t, []string{"PACER_ADMIN_TOKEN=wrong"}, "jobs", "-server", server); err == nil || !strings.Contains(err.Error(), "refused the admin token") {
		t.Fatalf("jobs with a wrong token: error %v, want the server's refusal", err)
	}
	if out, _, err := cliEnv(t, nil, "jobs", "-server", server, "-token-file", tokenFile); err != nil || out != "no jobs\n" {
		t.Fatalf("jobs with -token-file: %v, printed %q", err, out)
	}

	out, err := pacer("submit", "-credential", "demo", "-ids-file", writeIDs(t, 500), "-wait", "-interval", "50ms")
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	done := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)[1]
	out, err = pacer("submit", "-credential", "demo", "-ids-file", writeIDs(t, 5000))
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	slow := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)[1]

	// jobs: a table, newest first, filtered by state and kind.
	out, err = pacer("jobs")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "STATE") || strings.Fields(lines[1])[0] != slow ||
		strings.Fields(lines[2])[0] != done || !strings.Contains(lines[2], "succeeded") || !strings.Contains(lines[2], "100.0%") {
		t.Fatalf("pacer jobs printed:\n%s", out)
	}
	out, err = pacer("jobs", "-state", "succeeded", "-kind", "tweet_lookup", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var v web.JobView
	if err := json.Unmarshal([]byte(out), &v); err != nil || strconv.FormatInt(v.ID, 10) != done || v.ItemsDone != 500 {
		t.Fatalf("jobs -state succeeded -json: %v\n%s", err, out)
	}
	if out, err = pacer("jobs", "-state", "failed"); err != nil || out != "no jobs\n" {
		t.Fatalf("jobs -state failed: %v, printed %q", err, out)
	}
	if out, err = pacer("jobs", "-limit", "1"); err != nil || !strings.Contains(out, "more: pacer jobs -before "+slow) {
		t.Fatalf("jobs -limit 1: %v, printed %q", err, out)
	}
	// The server's errors show as field: reason.
	if _, err = pacer("jobs", "-state", "stuck"); err == nil || !strings.Contains(err.Error(), `state: "stuck" is not a job state`) {
		t.Fatalf("jobs -state stuck: error %v", err)
	}

	// export: every result once, in key order, in both formats, equal to the
	// API's pages.
	want := allResultsAuth(t, server, done)
	out, err = pacer("export", "-format", "csv", "-page-size", "64", done)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 501 || strings.Join(rows[0], ",") != "key,status,fetched_at,error,data" {
		t.Fatalf("export csv: %d rows, header %v", len(rows), rows[0])
	}
	for i, r := range want {
		got := rows[i+1]
		if got[0] != r.Key || got[1] != string(r.Status) || got[2] != r.FetchedAt.UTC().Format(time.RFC3339Nano) || got[3] != r.Error || got[4] != string(r.Data) {
			t.Fatalf("csv row %d = %v, want %+v", i+1, got, r)
		}
	}
	out, err = pacer("export", "-format", "jsonl", "-status", "not_found", "-page-size", "7", done)
	if err != nil {
		t.Fatal(err)
	}
	notFound := 0
	for _, r := range want {
		if r.Status == "not_found" {
			notFound++
		}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for ; dec.More(); n++ {
		var r web.ResultView
		if err := dec.Decode(&r); err != nil || r.Status != "not_found" || r.Error == "" {
			t.Fatalf("jsonl line %d: %v %+v", n+1, err, r)
		}
	}
	if n != notFound || n == 0 {
		t.Fatalf("export -status not_found printed %d lines, want %d", n, notFound)
	}
	if _, err = pacer("export", "-format", "xml", done); err == nil || !strings.HasPrefix(err.Error(), "-format:") {
		t.Fatalf("export -format xml: error %v", err)
	}
	if out, err = pacer("export", "999999"); err == nil || out != "" {
		t.Fatalf("export of no job: error %v, printed %q", err, out)
	}

	// pause, resume, cancel, rerun.
	for _, step := range []struct{ action, state string }{{"pause", "paused"}, {"resume", ""}, {"cancel", "cancelled"}} {
		out, err = pacer(step.action, slow)
		if err != nil || !strings.Contains(out, "job "+slow+"  tweet_lookup  "+step.state) {
			t.Fatalf("%s: %v, printed %q", step.action, err, out)
		}
	}
	if _, err = pacer("resume", slow); err == nil || !strings.Contains(err.Error(), "resume job "+slow) {
		t.Fatalf("resume of a cancelled job: error %v", err)
	}
	out, err = pacer("rerun", slow)
	m := regexp.MustCompile(`job (\d+) submitted \(re-run of job ` + slow + `\): (\d+) items`).FindStringSubmatch(out)
	if err != nil || m == nil || m[2] == "0" || m[2] == "5000" {
		t.Fatalf("rerun: %v, printed %q", err, out)
	}
	if _, err = pacer("cancel", m[1]); err != nil {
		t.Fatal(err)
	}
	if _, err = pacer("cancel", "x1"); err == nil || !strings.HasPrefix(err.Error(), "JOB_ID:") {
		t.Fatalf("cancel x1: error %v", err)
	}
}

// allResultsAuth pages through a job's results through the API with the
// test admin token.
func allResultsAuth(t *testing.T, server, jobID string) []web.ResultView {
	t.Helper()
	c, err := newAPIClient(server, testAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	var all []web.ResultView
	after := ""
	for {
		var page struct {
			Results []web.ResultView `json:"results"`
			Next    string           `json:"next"`
		}
		if err := c.call(t.Context(), "GET", "/api/v1/jobs/"+jobID+"/results?limit=300&after="+after, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Results...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
}

// TestSubmitWaitDistributed is the acceptance test of submit -wait: the
// pacer binary, against pacer serve and pacer work on PostgreSQL and
// RabbitMQ with an admin token, draws a progress bar with rate and ETA and
// exits 0 when the job succeeds, and 1 when it fails.
func TestSubmitWaitDistributed(t *testing.T) {
	t.Parallel()
	// 5 requests a second: the 20 requests of the 2,000-id job take about
	// four seconds, long enough for the bar to show a rate and an ETA.
	c := newCluster(t, sandbox.Config{Limit: 5, Window: time.Second})
	// A serve of its own with the admin token (newCluster's has none).
	var serveEnv []string
	for _, e := range c.env {
		if !strings.HasPrefix(e, "E2E_TOKEN=") {
			serveEnv = append(serveEnv, e)
		}
	}
	serve := startProc(t, append(serveEnv, "PACER_ADMIN_TOKEN="+testAdminToken), "serve", "-listen", "127.0.0.1:0")
	server := serve.log.await(t, addrPattern, 60*time.Second)[1]
	// One attempt per task: a 503 fails its task, and so the job.
	startProc(t, append(c.env, "PACER_MAX_ATTEMPTS=1"), "work").log.await(t, `worker started`, 60*time.Second)

	submit := func(n int) (*proc, string) {
		p := startProc(t, baseEnv("PACER_ADMIN_TOKEN="+testAdminToken), "submit", "-server", server,
			"-credential", "e2e", "-ids-file", writeIDs(t, n), "-wait", "-interval", "100ms")
		return p, p.log.await(t, `job (\d+) submitted`, 30*time.Second)[1]
	}

	ok, id := submit(2000)
	if code := ok.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("submit -wait of a job that succeeds exited %d; output:\n%s", code, ok.log.String())
	}
	out := ok.log.String()
	// The bar: its description, the count, the rate in items/s and, while
	// the job runs, the [elapsed:left] times with time left; at the end a
	// full bar; then the job's line.
	for _, re := range []string{
		`job ` + id + ` +[1-9]\d?% \|█+ +\| \(\d+/2000, \d+ items/s\) \[\d+s:[1-9]\d*s\]`,
		`job ` + id + ` 100% \|█{30}\| \(2000/2000, \d+ items/s\)`,
		`job ` + id + `  tweet_lookup  succeeded  100.0%  2000/2000 items, 0 failed, 20 requests`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("submit -wait output does not match %q:\n%s", re, out)
		}
	}

	c.sandbox.SetFaults(sandbox.Faults{ErrorPercent: 100})
	bad, id := submit(300)
	if code := bad.wait(t, 2*time.Minute); code != 1 {
		t.Fatalf("submit -wait of a job that fails exited %d, want 1; output:\n%s", code, bad.log.String())
	}
	if !regexp.MustCompile(`job ` + id + `  tweet_lookup  failed  100.0%  0/300 items, 300 failed`).MatchString(bad.log.String()) {
		t.Fatalf("submit -wait of a failing job printed:\n%s", bad.log.String())
	}
}
