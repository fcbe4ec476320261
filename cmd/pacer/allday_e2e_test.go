package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/web"
)

// TestAllDay is the 24/7 scenario (issue 6): pacer serve and two pacer work
// processes, on a PostgreSQL cluster and a RabbitMQ node of the test's own,
// run three jobs of different kinds against quota-bound upstreams with
// compressed windows. RabbitMQ is stopped (rabbitmqctl stop_app) and started
// again while they run, then PostgreSQL is restarted (fast shutdown, as
// pg_ctl -m fast). Nobody restarts a pacer process: the workers and serve
// must reconnect by themselves. Afterwards every job has succeeded with
// every item exactly once, the upstream requests the workers' metrics count
// are the requests the upstreams served, and serve and the workers stop
// cleanly on SIGTERM.
//
// It logs the reconnect figures that README.md quotes.
func TestAllDay(t *testing.T) {
	needPrivateServers(t)
	t.Parallel()
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	pg := startPrivatePostgres(t)
	rmq := startPrivateRabbit(t)

	const (
		lookupIDs       = 20000 // 200 requests of 100 ids
		followerUsers   = 6
		followersPer    = 3000 // 3 pages of 1,000 each
		httpItems       = 100  // 100 requests, one item a task
		followersPage   = 1000
		firstFollowerID = 5100
	)
	users := map[uint64]sandbox.UserSpec{}
	for i := range followerUsers {
		users[firstFollowerID+uint64(i)] = sandbox.UserSpec{Followers: followersPer}
	}
	// 5 requests a second for X: the jobs take over a minute of quota, so
	// the processes run for about two minutes through both restarts, with
	// work waiting on the quota all along.
	sb, err := sandbox.New(sandbox.Config{Limit: 5, Window: time.Second, Tokens: []string{"allday-token"}, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	xAPI := httptest.NewServer(sb)
	t.Cleanup(xAPI.Close)
	var recordRequests atomic.Int64
	records := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, strings.TrimPrefix(r.URL.Path, "/records/"))
	}))
	t.Cleanup(records.Close)

	dir := t.TempDir()
	config := filepath.Join(dir, "pacer.toml")
	writeFile(t, config, `
[http]
allow_hosts = ["127.0.0.1"]

[credentials.x]
token_env = "ALLDAY_X_TOKEN"
quota = "5/1s"

[credentials.records]
token_env = "ALLDAY_RECORDS_TOKEN"
quota = "10/1s"
`)
	env := baseEnv(
		"PACER_DATABASE_URL="+pg.URL(), "PACER_AMQP_URL="+rmq.URL(), "PACER_CONFIG="+config,
		"PACER_X_API_URL="+xAPI.URL, "ALLDAY_X_TOKEN=allday-token", "ALLDAY_RECORDS_TOKEN=r",
		// A task whose commit a PostgreSQL restart broke stays leased to
		// its worker until the lease ends, and a message RabbitMQ lost is
		// published again after -republish-after: both short here, so the
		// test does not wait minutes on them.
		"PACER_TASK_TIMEOUT=5s", "PACER_LEASE=7s", "PACER_REPUBLISH_AFTER=10s",
		"PACER_CONCURRENCY=4", "PACER_SHUTDOWN_GRACE=10s",
	)
	serve := startProc(t, env, "serve", "-listen", "127.0.0.1:0")
	server := serve.log.await(t, addrPattern, 60*time.Second)[1]
	var workers []*proc
	var workerURLs []string
	for range 2 {
		w := startProc(t, env, "work", "-metrics-listen", "127.0.0.1:0")
		workerURLs = append(workerURLs, w.log.await(t, addrPattern, 60*time.Second)[1])
		w.log.await(t, `worker started`, 60*time.Second)
		workers = append(workers, w)
	}
	phase("servers and pacer up")
	readyURLs := append([]string{server + "/readyz"}, workerURLs[0]+"/readyz", workerURLs[1]+"/readyz")
	waitReadiness(t, readyURLs, http.StatusOK, time.Minute)

	// Three jobs of three kinds.
	submit := func(args ...string) int64 {
		t.Helper()
		out, errOut, err := cli(t, append([]string{"submit", "-server", server}, args...)...)
		if err != nil {
			t.Fatalf("submit %v: %v\n%s", args, err, errOut)
		}
		m := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("submit printed %q", out)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return id
	}
	var userList, recordList strings.Builder
	for i := range followerUsers {
		fmt.Fprintln(&userList, firstFollowerID+i)
	}
	for i := range httpItems {
		fmt.Fprintf(&recordList, "rec-%d\n", i)
	}
	writeFile(t, filepath.Join(dir, "users.txt"), userList.String())
	writeFile(t, filepath.Join(dir, "records.txt"), recordList.String())
	lookupJob := submit("-credential", "x", "-ids-file", writeIDs(t, lookupIDs))
	followersJob := submit("-kind", "user_followers", "-credential", "x", "-params", fmt.Sprintf(`{"max_results":%d}`, followersPage),
		"-ids-file", filepath.Join(dir, "users.txt"))
	httpJob := submit("-kind", "http_get", "-credential", "records", "-params", fmt.Sprintf(`{"url_template":%q}`, records.URL+"/records/{id}"),
		"-ids-file", filepath.Join(dir, "records.txt"))
	jobIDs := []int64{lookupJob, followersJob, httpJob}
	p := &progressPoll{t: t, server: server, jobs: jobIDs}

	// RabbitMQ goes away once a fifth of the work is done...
	p.waitFor("a fifth done", 2*time.Minute, func(done, total int64, _ int) bool { return done*5 >= total })
	phase("a fifth done: rabbitmqctl stop_app")
	rabbitStopped := time.Now()
	rmq.ctl("stop_app")
	// ...until every process has noticed (its /readyz fails), and comes back.
	waitReadiness(t, readyURLs, http.StatusServiceUnavailable, time.Minute)
	rmq.ctl("start_app")
	rabbitBack := time.Now()
	phase("rabbitmqctl start_app returned")
	base, _, running := p.snapshot()
	if running == 0 {
		t.Fatal("every job ended before RabbitMQ came back: the restart tested nothing")
	}
	rabbitTask := p.waitFor("a task done after RabbitMQ came back", 2*time.Minute, func(done, _ int64, _ int) bool { return done > base })
	waitReadiness(t, readyURLs, http.StatusOK, time.Minute)
	rabbitReady := time.Since(rabbitBack)
	var rabbitReconnects []time.Duration
	for _, w := range workers {
		// Two connections each, publish and consume: the later one counts.
		times := logTimes(t, w.log, "reconnected to rabbitmq", rabbitStopped, 2)
		rabbitReconnects = append(rabbitReconnects, times[len(times)-1].Sub(rabbitBack))
	}

	// PostgreSQL restarts once half the work is done.
	p.waitFor("half done", 2*time.Minute, func(done, total int64, _ int) bool { return done*2 >= total })
	phase("half done: postgres fast shutdown")
	pg.stopFast()
	waitReadiness(t, readyURLs, http.StatusServiceUnavailable, time.Minute)
	pg.start()
	pgBack := time.Now()
	phase("postgres accepts connections")
	base, _, running = p.snapshot()
	if running == 0 {
		t.Fatal("every job ended before PostgreSQL came back: the restart tested nothing")
	}
	pgTask := p.waitFor("a task done after PostgreSQL came back", 2*time.Minute, func(done, _ int64, _ int) bool { return done > base })
	waitReadiness(t, readyURLs, http.StatusOK, time.Minute)
	pgReady := time.Since(pgBack)

	p.waitFor("every job ended", 3*time.Minute, func(_, _ int64, running int) bool { return running == 0 })
	end := time.Now()
	phase("every job ended")

	// Every job succeeded, every item exactly once.
	wantItems := map[int64]int{lookupJob: lookupIDs, followersJob: followerUsers * followersPer, httpJob: httpItems}
	var items int
	for _, id := range jobIDs {
		v := p.job(id)
		if v.State != "succeeded" || v.ItemsDone != int64(wantItems[id]) || v.ItemsTotal != int64(wantItems[id]) {
			t.Errorf("job %d (%s): %s, %d of %d items; want succeeded with %d", id, v.Kind, v.State, v.ItemsDone, v.ItemsTotal, wantItems[id])
		}
		results := allResults(t, server, id)
		seen := make(map[string]bool, len(results))
		for _, r := range results {
			if seen[r.Key] {
				t.Errorf("job %d: result %s twice", id, r.Key)
			}
			seen[r.Key] = true
		}
		if len(seen) != wantItems[id] {
			t.Errorf("job %d (%s): %d distinct results, want %d", id, v.Kind, len(seen), wantItems[id])
		}
		items += len(results)
	}
	checkExactlyOnce(t, server, lookupJob, lookupIDs)

	// The workers' metrics agree with what the upstreams served.
	sent := map[string]float64{}
	for _, u := range workerURLs {
		for q, n := range upstreamRequests(t, u+"/metrics") {
			sent[q] += n
		}
	}
	s := sb.Stats()
	if s.OverQuota != 0 {
		t.Errorf("sandbox: %d requests over its quota", s.OverQuota)
	}
	if sent["x"] != float64(s.Requests) || s.Requests != s.Served {
		t.Errorf("pacer_upstream_requests_total{quota=\"x\"} sums to %v over the workers; the sandbox saw %d requests and served %d", sent["x"], s.Requests, s.Served)
	}
	if got := recordRequests.Load(); sent["records"] != float64(got) {
		t.Errorf("pacer_upstream_requests_total{quota=\"records\"} sums to %v over the workers; the records upstream saw %d", sent["records"], got)
	}
	minRequests := lookupIDs/100 + followerUsers*followersPer/followersPage
	if s.Served < minRequests {
		t.Errorf("sandbox served %d requests, fewer than the %d the jobs need", s.Served, minRequests)
	}

	// Everyone stops cleanly on SIGTERM: workers first, as a deploy would.
	for _, pr := range append(workers, serve) {
		if err := pr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := pr.wait(t, time.Minute); code != 0 {
			t.Errorf("pacer %v exited %d after SIGTERM, want 0", pr.cmd.Args[1:], code)
		}
		if !strings.Contains(pr.log.String(), `"msg":"stopped"`) {
			t.Errorf("pacer %v logged no \"stopped\" (JSON) at SIGTERM", pr.cmd.Args[1:])
		}
	}

	t.Logf("24/7 figures: %d items in %d jobs; %d requests to X (sandbox served %d, 0 over quota; %d ids and %d pages fetched twice), %d to the records upstream; %.1f s from the first restart to the end",
		items, len(jobIDs), int(sent["x"]), s.Served, s.IDsRepeated, s.PagesRepeated, int(sent["records"]), end.Sub(rabbitBack).Seconds())
	t.Logf("RabbitMQ back (start_app returned): workers logged reconnected after %v and %v; first task done after %v; every /readyz 200 after %v",
		round(rabbitReconnects[0]), round(rabbitReconnects[1]), round(rabbitTask.Sub(rabbitBack)), round(rabbitReady))
	t.Logf("PostgreSQL back (accepting connections): first task done after %v; every /readyz 200 after %v",
		round(pgTask.Sub(pgBack)), round(pgReady))
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitReadiness polls every URL until each answers want (a connection error
// counts as no answer).
func waitReadiness(t *testing.T, urls []string, want int, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(timeout)
	for _, u := range urls {
		for {
			resp, err := client.Get(u)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == want {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer %d within %s (last: %v)", u, want, timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// progressPoll follows the jobs through the API, which may fail while the
// store restarts: an error is a poll that saw nothing.
type progressPoll struct {
	t      *testing.T
	server string
	jobs   []int64
	last   map[int64]web.JobView
}

func (p *progressPoll) job(id int64) web.JobView {
	p.t.Helper()
	var v web.JobView
	getJSON(p.t, fmt.Sprintf("%s/api/v1/jobs/%d", p.server, id), &v)
	return v
}

// snapshot returns the tasks done and planned over all jobs (tasks, not
// items: a followers page is a thousand items, a lookup a hundred), and how
// many jobs are still running, from the newest answers it got.
func (p *progressPoll) snapshot() (done, total int64, running int) {
	if p.last == nil {
		p.last = map[int64]web.JobView{}
	}
	for _, id := range p.jobs {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/jobs/%d", p.server, id))
		if err == nil {
			var v web.JobView
			if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&v) == nil {
				p.last[id] = v
			}
			resp.Body.Close()
		}
		v, ok := p.last[id]
		done += v.TasksDone
		total += v.TasksTotal
		if !ok || (v.State != "succeeded" && v.State != "failed" && v.State != "cancelled") {
			running++
		}
	}
	return done, total, running
}

// waitFor polls until cond holds and returns when it first did.
func (p *progressPoll) waitFor(what string, timeout time.Duration, cond func(done, total int64, running int) bool) time.Time {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, total, running := p.snapshot()
		if total > 0 && cond(done, total, running) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("not %s within %s: %d of %d tasks, %d jobs running: %+v", what, timeout, done, total, running, p.last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logTimes waits until the process has logged at least n JSON lines with
// message msg since the given time, and returns their times in order.
func logTimes(t *testing.T, log *logBuffer, msg string, since time.Time, n int) []time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var times []time.Time
		sc := bufio.NewScanner(strings.NewReader(log.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Time time.Time `json:"time"`
				Msg  string    `json:"msg"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg && line.Time.After(since) {
				times = append(times, line.Time)
			}
		}
		if len(times) >= n {
			return times
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q logged since %s, want %d:\n%s", len(times), msg, since.Format(time.RFC3339Nano), n, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var upstreamLine = regexp.MustCompile(`^pacer_upstream_requests_total\{([^}]*)\} (\S+)$`)
var quotaLabel = regexp.MustCompile(`quota="([^"]*)"`)

// upstreamRequests scrapes a worker's /metrics and sums
// pacer_upstream_requests_total by quota over every code class.
func upstreamRequests(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sums := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := upstreamLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		q := quotaLabel.FindStringSubmatch(m[1])
		n, err := strconv.ParseFloat(m[2], 64)
		if q == nil || err != nil {
			t.Fatalf("%s: unreadable line %q", url, sc.Text())
		}
		sums[q[1]] += n
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}
