package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store/postgres/pgtest"
	"github.com/pacerhq/pacer/web"
)

// pacerBin is the pacer binary the multi-process tests start, built once.
var pacerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pacer-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pacerBin = filepath.Join(dir, "pacer")
	if out, err := exec.Command("go", "build", "-o", pacerBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build pacer: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logBuffer collects a process's log and reports the first line that
// matches a pattern.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	subs []logSub
}

type logSub struct {
	re *regexp.Regexp
	ch chan []string
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for _, line := range strings.Split(string(p), "\n") {
		for i := 0; i < len(l.subs); i++ {
			if m := l.subs[i].re.FindStringSubmatch(line); m != nil {
				l.subs[i].ch <- m
				l.subs = append(l.subs[:i], l.subs[i+1:]...)
				i--
			}
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// await returns the submatches of the first line (from now on, or already
// logged) that matches pattern.
func (l *logBuffer) await(t testing.TB, pattern string, timeout time.Duration) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	ch := make(chan []string, 1)
	l.mu.Lock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			l.mu.Unlock()
			return m
		}
	}
	l.subs = append(l.subs, logSub{re, ch})
	l.mu.Unlock()
	select {
	case m := <-ch:
		return m
	case <-time.After(timeout):
		t.Fatalf("no log line matching %q within %s; log:\n%s", pattern, timeout, l.String())
		return nil
	}
}

var addrPattern = `"?addr"?[=:]"?(http://[0-9.:\[\]]+)`

// proc is a pacer process started by a test.
type proc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	err  error
}

func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(pacerBin, args...), log: &logBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start pacer %v: %v", args, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("log of pacer %v:\n%s", args, p.log.String())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("pacer %v did not exit within %s; log:\n%s", p.cmd.Args[1:], timeout, p.log.String())
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		if ee.ExitCode() == -1 {
			return -1 // killed by a signal
		}
		return ee.ExitCode()
	}
	t.Fatalf("pacer %v: %v", p.cmd.Args[1:], p.err)
	return -1
}

// baseEnv is the process environment without any PACER_ variable of the
// machine, plus kv.
func baseEnv(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PACER_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// writeIDs writes n demo ids, one per line, with a comment and a blank line
// to show they are ignored, and returns the file's path.
func writeIDs(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# demo ids\n\n")
	if err := printDemoIDs([]string{strconv.Itoa(n)}, &b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs a pacer command in this process and returns its stdout, its
// stderr and its error.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// allResults pages through a job's results through the API.
func allResults(t *testing.T, server string, jobID int64) []web.ResultView {
	t.Helper()
	var all []web.ResultView
	after := ""
	for {
		var page struct {
			Results []web.ResultView `json:"results"`
			Next    string           `json:"next"`
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/jobs/%d/results?limit=5000&after=%s", server, jobID, after), &page)
		all = append(all, page.Results...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
}

// checkExactlyOnce checks that a finished job has one result per id, ok or
// not_found as the sandbox decides, and no other.
func checkExactlyOnce(t *testing.T, server string, jobID int64, n int) {
	t.Helper()
	results := allResults(t, server, jobID)
	if len(results) != n {
		t.Fatalf("job %d has %d results, want %d", jobID, len(results), n)
	}
	seen := make(map[string]bool, n)
	notFound := 0
	for _, r := range results {
		if seen[r.Key] {
			t.Fatalf("result %s appears twice", r.Key)
		}
		seen[r.Key] = true
		id, err := strconv.ParseUint(r.Key, 10, 64)
		if err != nil || id < demoIDBase || id >= demoIDBase+uint64(n) {
			t.Fatalf("result key %q is not one of the submitted ids", r.Key)
		}
		want := "ok"
		if sandbox.Missing(id, 5) {
			want, notFound = "not_found", notFound+1
		}
		if string(r.Status) != want {
			t.Fatalf("result %s has status %s, want %s", r.Key, r.Status, want)
		}
		if want == "not_found" && r.Error == "" {
			t.Fatalf("not_found result %s carries no reason", r.Key)
		}
	}
	if notFound == 0 || notFound == n {
		t.Fatalf("%d of %d results not_found: the sandbox's missing share did not show", notFound, n)
	}
}

// TestEmbedded is the quick start: pacer run, then pacer submit of 10,000
// ids; the job succeeds with 10,000 rows, the page and pacer status show
// 100%, and the sandbox saw no request over its quota.
func TestEmbedded(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	db := "sqlite:" + filepath.Join(t.TempDir(), "pacer.db")
	go func() {
		done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", db, "-demo-quota", "40/2s"},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pacer run: %v", err)
		}
	})
	server := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]

	ids := writeIDs(t, 10000)
	out, errOut, err := cli(t, "submit", "-server", server, "-credential", "demo", "-ids-file", ids, "-wait", "-interval", "100ms")
	if err != nil {
		t.Fatalf("submit: %v\n%s\n%s", err, out, errOut)
	}
	m := regexp.MustCompile(`job (\d+) submitted: 10000 items in 100 tasks`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit printed:\n%s", out)
	}
	jobID, _ := strconv.ParseInt(m[1], 10, 64)
	checkExactlyOnce(t, server, jobID, 10000)

	out, _, err = cli(t, "status", "-server", server, m[1])
	if err != nil || !strings.Contains(out, "succeeded  100.0%  10000/10000 items, 0 failed, 100 requests") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	resp, err := http.Get(server + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("100.0%")) || !bytes.Contains(page, []byte("10,000 / 10,000")) {
		t.Fatalf("the jobs page does not show 100%%:\n%s", page)
	}
	var stats sandbox.Stats
	getJSON(t, server+"/sandbox/stats", &stats)
	if stats.OverQuota != 0 || stats.Served != 100 || stats.IDsRepeated != 0 {
		t.Fatalf("sandbox stats %+v: want 100 served, 0 over quota, 0 ids repeated", stats)
	}
}

// TestBadInputStopsAtTheDoor: each malformed submission gets an error naming
// the field, and nothing is enqueued.
func TestBadInputStopsAtTheDoor(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	db := "sqlite:" + filepath.Join(t.TempDir(), "pacer.db")
	go func() {
		done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", db},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() { cancel(); <-done })
	server := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]

	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.txt", "1460323737035677698\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"empty id list", []string{"-credential", "demo", "-ids-file", write("empty.txt", "# nothing\n\n")}, "ids: "},
		{"non-numeric id", []string{"-credential", "demo", "-ids-file", write("bad.txt", "1460323737035677698\n12a\n")}, `ids: line 2`},
		{"unknown kind", []string{"-kind", "tweet_search", "-credential", "demo", "-ids-file", good}, `kind: unknown kind "tweet_search"`},
		{"unreadable file", []string{"-credential", "demo", "-ids-file", filepath.Join(dir, "missing.txt")}, "-ids-file: open"},
		{"missing credential", []string{"-ids-file", good}, "credential: missing"},
		{"unknown credential", []string{"-credential", "prod", "-ids-file", good}, `credential: unknown credential or pool "prod"`},
		{"bad params", []string{"-credential", "demo", "-ids-file", good, "-params", `{"tweet_fields":["colour"]}`}, "params.tweet_fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli(t, append([]string{"submit", "-server", server}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("submit error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	var list struct {
		Jobs []web.JobView `json:"jobs"`
	}
	getJSON(t, server+"/api/v1/jobs", &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("bad input left %d jobs behind", len(list.Jobs))
	}
}

// cluster is pacer serve on PostgreSQL and RabbitMQ with a sandbox upstream,
// each test with its own schema, queue and sandbox.
type cluster struct {
	t       *testing.T
	dbURL   string
	env     []string
	server  string
	sandbox *sandbox.Server
}

func newCluster(t *testing.T, sbCfg sandbox.Config) *cluster {
	t.Helper()
	dbURL := pgtest.Schema(t)
	amqpURL := os.Getenv("PACER_TEST_AMQP_URL")
	if amqpURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PACER_TEST_AMQP_URL is not set, and CI is")
		}
		t.Skip("PACER_TEST_AMQP_URL is not set")
	}
	queue := fmt.Sprintf("pacer.test.%s.%d", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := rabbitmq.New(ctx, rabbitmq.Config{URL: amqpURL, Queue: queue})
		if err != nil {
			t.Errorf("delete queue %s: %v", queue, err)
			return
		}
		defer b.Close()
		if err := b.DeleteQueue(ctx); err != nil {
			t.Errorf("delete queue %s: %v", queue, err)
		}
	})
	sbCfg.Tokens = []string{"e2e-token"}
	sb, err := sandbox.New(sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(sb)
	t.Cleanup(upstream.Close)
	config := filepath.Join(t.TempDir(), "pacer.toml")
	quota := ""
	if sbCfg.Limit > 0 {
		quota = fmt.Sprintf("quota = %q\n", fmt.Sprintf("%d/%s", sbCfg.Limit, sbCfg.Window))
	}
	if err := os.WriteFile(config, []byte("[credentials.e2e]\ntoken_env = \"E2E_TOKEN\"\n"+quota), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dbURL: dbURL, sandbox: sb, env: baseEnv(
		"PACER_DATABASE_URL="+dbURL, "PACER_AMQP_URL="+amqpURL, "PACER_QUEUE="+queue,
		"PACER_CONFIG="+config, "PACER_X_API_URL="+upstream.URL, "E2E_TOKEN=e2e-token",
		// A lease long enough for a loaded machine, short enough that the
		// SIGKILL test does not wait long for the dead worker's tasks.
		"PACER_TASK_TIMEOUT=8s", "PACER_LEASE=10s", "PACER_CONCURRENCY=4",
		"PACER_REPUBLISH_AFTER=20s", "PACER_SHUTDOWN_GRACE=15s",
		// Workers serve /metrics on 127.0.0.1:9464 by default; several
		// on one machine each take a free port.
		"PACER_METRICS_LISTEN=127.0.0.1:0",
	)}
	// serve gets no token: it makes no upstream requests and must not need
	// one.
	var serveEnv []string
	for _, e := range c.env {
		if !strings.HasPrefix(e, "E2E_TOKEN=") {
			serveEnv = append(serveEnv, e)
		}
	}
	serve := startProc(t, serveEnv, "serve", "-listen", "127.0.0.1:0")
	c.server = serve.log.await(t, addrPattern, 60*time.Second)[1]
	return c
}

func (c *cluster) worker() *proc {
	p := startProc(c.t, c.env, "work")
	p.log.await(c.t, `worker started`, 60*time.Second)
	return p
}

// submit submits n ids without waiting and returns the job id.
func (c *cluster) submit(n int) int64 {
	c.t.Helper()
	out, errOut, err := cli(c.t, "submit", "-server", c.server, "-credential", "e2e", "-ids-file", writeIDs(c.t, n))
	if err != nil {
		c.t.Fatalf("submit: %v\n%s", err, errOut)
	}
	m := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("submit printed %q", out)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func (c *cluster) job(id int64) web.JobView {
	var v web.JobView
	getJSON(c.t, fmt.Sprintf("%s/api/v1/jobs/%d", c.server, id), &v)
	return v
}

// waitFor polls the job until cond holds.
func (c *cluster) waitFor(id int64, what string, timeout time.Duration, cond func(web.JobView) bool) web.JobView {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := c.job(id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %d: not %s within %s: %+v", id, what, timeout, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func succeeded(v web.JobView) bool { return v.State == "succeeded" }

// TestDistributed: pacer serve and two pacer work processes on PostgreSQL and
// RabbitMQ run the 10,000-id job with every id exactly once and no request
// over the quota.
func TestDistributed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, sandbox.Config{Limit: 30, Window: time.Second})
	watched := startProc(t, c.env, "work", "-metrics-listen", "127.0.0.1:0")
	metricsURL := watched.log.await(t, addrPattern, 60*time.Second)[1] + "/metrics"
	c.worker()
	id := c.submit(10000)
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	done := regexp.MustCompile(`pacer_tasks_processed_total\{kind="tweet_lookup",outcome="done"\} (\d+)`).FindSubmatch(metrics)
	if done == nil || string(done[1]) == "0" || !bytes.Contains(metrics, []byte(`pacer_upstream_requests_total{code_class="2xx",quota="e2e"}`)) {
		t.Fatalf("the worker's /metrics does not show its work:\n%s", metrics)
	}
	if v.ItemsDone != 10000 || v.Requests != 100 || v.Progress != 1 {
		t.Fatalf("job %+v: want 10000 items in 100 requests", v)
	}
	checkExactlyOnce(t, c.server, id, 10000)
	if s := c.sandbox.Stats(); s.OverQuota != 0 || s.Served != 100 || s.IDsRepeated != 0 {
		t.Fatalf("sandbox stats %+v: want 100 served, 0 over quota, 0 ids repeated", s)
	}
	out, _, err := cli(t, "status", "-server", c.server, strconv.FormatInt(id, 10))
	if err != nil || !strings.Contains(out, "100.0%") {
		t.Fatalf("status: %v\n%s", err, out)
	}
}

// TestWorkerKilled: a worker killed with SIGKILL in the middle of a job; the
// job still completes with every id exactly once, and only the tasks the
// dead worker held uncommitted are sent upstream again.
func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	c := newCluster(t, sandbox.Config{Limit: 30, Window: time.Second})
	victim := c.worker()
	c.worker()
	c.sandbox.SetFaults(sandbox.Faults{Latency: 80 * time.Millisecond})
	id := c.submit(10000)
	c.waitFor(id, "20% done", time.Minute, func(v web.JobView) bool { return v.ItemsDone >= 2000 })
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.wait(t, 10*time.Second)
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 10000 {
		t.Fatalf("job %+v: want 10000 items", v)
	}
	checkExactlyOnce(t, c.server, id, 10000)
	s := c.sandbox.Stats()
	// At most the victim's in-flight tasks (its concurrency, 4) were sent
	// twice: those it never committed.
	if s.OverQuota != 0 || s.Served < 100 || s.Served > 104 || s.IDsRepeated > 400 {
		t.Fatalf("sandbox stats %+v: want 100 to 104 served, 0 over quota, at most 400 ids repeated", s)
	}
}

// TestWorkerSigterm: on SIGTERM a worker stops taking work, finishes what it
// holds and exits 0; the job completes on the other worker.
func TestWorkerSigterm(t *testing.T) {
	t.Parallel()
	c := newCluster(t, sandbox.Config{Limit: 30, Window: time.Second})
	leaving := c.worker()
	c.worker()
	// Slow enough that the worker is almost surely mid-request at SIGTERM.
	c.sandbox.SetFaults(sandbox.Faults{Latency: 400 * time.Millisecond})
	id := c.submit(10000)
	c.waitFor(id, "20% done", time.Minute, func(v web.JobView) bool { return v.ItemsDone >= 2000 })
	if err := leaving.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := leaving.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM, want 0; log:\n%s", code, leaving.log.String())
	}
	leaving.log.await(t, `worker stopped`, time.Second)
	if strings.Contains(leaving.log.String(), "returned at shutdown") {
		t.Fatalf("a graceful stop cancelled running tasks:\n%s", leaving.log.String())
	}
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 10000 {
		t.Fatalf("job %+v: want 10000 items", v)
	}
	checkExactlyOnce(t, c.server, id, 10000)
	if s := c.sandbox.Stats(); s.OverQuota != 0 || s.Served != 100 || s.IDsRepeated != 0 {
		t.Fatalf("sandbox stats %+v: a graceful stop must send nothing twice", s)
	}
}

// TestEmbeddedRestart: pacer run stopped in the middle of a job and started
// again on the same SQLite file finishes the job, every id exactly once,
// without waiting for -republish-after.
func TestEmbeddedRestart(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "pacer.db")
	start := func() (string, func()) {
		ctx, cancel := context.WithCancel(t.Context())
		logs := &logBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", db, "-demo-quota", "20/1s", "-concurrency", "2"},
				func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
		}()
		server := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]
		return server, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pacer run: %v", err)
			}
		}
	}
	server, stop := start()
	out, _, err := cli(t, "submit", "-server", server, "-credential", "demo", "-ids-file", writeIDs(t, 5000))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(regexp.MustCompile(`job (\d+)`).FindStringSubmatch(out)[1], 10, 64)
	c := &cluster{t: t, server: server}
	c.waitFor(id, "started", time.Minute, func(v web.JobView) bool { return v.ItemsDone >= 1000 })
	stop()

	server, stop = start()
	defer stop()
	c.server = server
	v := c.waitFor(id, "succeeded after the restart", time.Minute, succeeded)
	if v.ItemsDone != 5000 || v.Requests != 50 {
		t.Fatalf("job %+v: want 5000 items in exactly 50 requests across both runs", v)
	}
	checkExactlyOnce(t, server, id, 5000)
}
