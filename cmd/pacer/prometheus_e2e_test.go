package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/pacerhq/pacer/dashboards"
	"github.com/pacerhq/pacer/sandbox"
)

// TestPrometheusScrapesDashboards is the acceptance test of the metrics: a
// real Prometheus (Debian's, on loopback, scraping every second) scrapes
// pacer serve and two pacer work processes on PostgreSQL and RabbitMQ
// during a job against the sandbox. Then every panel query of every
// dashboard returns data, every alerting rule evaluates without error, and
// the /metrics bodies pass promtool check metrics and promlint.
func TestPrometheusScrapesDashboards(t *testing.T) {
	t.Parallel()
	promBin, promtool := lookTool(t, "prometheus"), lookTool(t, "promtool")
	mgmt := testManagementURL(t)
	// 3,000 ids in 30 requests at 5 a second: long enough for several
	// scrapes during the job, and throttled, so the quota metrics move.
	c := newCluster(t, sandbox.Config{Limit: 5, Window: time.Second})
	var workers []string
	for range 2 {
		w := startProc(t, append(c.env, "PACER_RABBITMQ_MANAGEMENT_URL="+mgmt), "work")
		workers = append(workers, strings.TrimPrefix(w.log.await(t, addrPattern, 60*time.Second)[1], "http://"))
	}
	serve := strings.TrimPrefix(c.server, "http://")

	// Both kinds of /metrics body pass the real promtool and promlint.
	for _, target := range []string{serve, workers[0]} {
		body := scrapeBody(t, "http://"+target+"/metrics")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on %s/metrics: %v\n%s", target, err, out)
		}
		problems, err := promlint.New(bytes.NewReader(body)).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s/metrics: %s: %s", target, p.Metric, p.Text)
		}
	}

	prom := startPrometheus(t, promBin, serve, workers)
	// Every target is up before the job starts, so the job is scraped.
	prom.await(t, `count(up{job=~"pacer-.*"} == 1) == 3`)

	id := c.submit(3000)
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 3000 {
		t.Fatalf("job %+v: want 3000 items", v)
	}
	// Prometheus has scraped the end of the job.
	prom.await(t, fmt.Sprintf(`sum(pacer_jobs{state="succeeded"}) >= 1 and sum(pacer_items_processed_total) >= %d`, 3000))

	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 30 {
		t.Fatalf("%d dashboard queries found, want every panel's", len(queries))
	}
	// Some figures arrive a little later: RabbitMQ's management statistics
	// refresh every 5 seconds.
	deadline := time.Now().Add(30 * time.Second)
	for _, q := range queries {
		if strings.Contains(q.Expr, "$") {
			t.Fatalf("%s / %s: a variable the test does not know in %q", q.File, q.Panel, q.Expr)
		}
		for {
			n, err := prom.count(q.Expr)
			if err == nil && n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s / %s: %q returned no data (err %v)", q.File, q.Panel, q.Expr, err)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// A few figures the job must have moved, not just created.
	for _, expr := range []string{
		`sum(pacer_items_processed_total) == 3000`,
		`sum(pacer_upstream_requests_total{code_class="2xx"}) >= 30`,
		`max(pacer_ratelimit_limit{quota="e2e"}) == 5`,
		`count(pacer_credential_quota_info{credential="e2e",quota="e2e"}) == 3`,
		`count(pacer_worker_slots == 4) == 2`,
		`max(pacer_broker_queue_consumers) == 2`,
		`min(pacer_store_up) == 1`,
		// The sandbox answers the fifth request of each second with
		// remaining 0: the quota had no room for a while.
		`sum(pacer_ratelimit_throttled_seconds_total{quota="e2e"}) > 0`,
		`max(pacer_ratelimit_window_seconds{quota="e2e"}) == 1`,
		`count(pacer_build_info) == 3`,
	} {
		prom.await(t, expr)
	}
	prom.checkRules(t)
}

// lookTool returns the path of a Prometheus program; missing, it skips the
// test, or fails it when CI is set (scripts/test.sh installs them).
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI must run it (apt-get install prometheus)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// testManagementURL returns the test RabbitMQ's management API, from
// PACER_TEST_RABBITMQ_MANAGEMENT_URL or else port 15672 of
// PACER_TEST_AMQP_URL's host, with its user.
func testManagementURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("PACER_TEST_RABBITMQ_MANAGEMENT_URL"); u != "" {
		return u
	}
	raw := os.Getenv("PACER_TEST_AMQP_URL")
	if raw == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PACER_TEST_AMQP_URL is not set, and CI is")
		}
		t.Skip("PACER_TEST_AMQP_URL is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("PACER_TEST_AMQP_URL: %v", err)
	}
	return (&url.URL{Scheme: "http", User: u.User, Host: net.JoinHostPort(u.Hostname(), "15672")}).String()
}

// scrapeBody returns the body of a GET of u, which must answer 200.
func scrapeBody(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", u, resp.Status, err, body)
	}
	return body
}

// promServer is a Prometheus server started by a test.
type promServer struct {
	url string
}

// startPrometheus runs Prometheus on a free loopback port with a temporary
// config (1s scrapes of serve and the workers, the alerting rules) and
// storage, and stops it when the test ends.
func startPrometheus(t *testing.T, bin, serve string, workers []string) *promServer {
	t.Helper()
	dir := t.TempDir()
	alerts, err := dashboards.Files.ReadFile("pacer-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "pacer-alerts.yml")
	if err := os.WriteFile(rules, alerts, 0o600); err != nil {
		t.Fatal(err)
	}
	quote := func(ss ...string) string { b, _ := json.Marshal(ss); return string(b) }
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: pacer-serve
    static_configs:
      - targets: %s
  - job_name: pacer-work
    static_configs:
      - targets: %s
`, rules, quote(serve), quote(workers...))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	p := &promServer{url: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 60s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promAPIResponse is the envelope of Prometheus's HTTP API.
type promAPIResponse struct {
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Data   json.RawMessage `json:"data"`
}

func (p *promServer) api(path string, params url.Values) (json.RawMessage, error) {
	resp, err := http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r promAPIResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", path, r.Error)
	}
	return r.Data, nil
}

// count runs an instant query and returns how many series or samples it
// returned.
func (p *promServer) count(expr string) (int, error) {
	data, err := p.api("/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return 0, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return 0, err
	}
	if d.ResultType == "scalar" {
		return 1, nil
	}
	var result []json.RawMessage
	if err := json.Unmarshal(d.Result, &result); err != nil {
		return 0, err
	}
	return len(result), nil
}

// await polls expr until it returns data.
func (p *promServer) await(t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := p.count(expr)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: %s did not hold within 60s (err %v)", expr, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkRules waits until Prometheus has evaluated every alerting rule and
// checks that each evaluated without error and carries a severity, a
// summary and a description.
func (p *promServer) checkRules(t *testing.T) {
	t.Helper()
	type rule struct {
		Name           string            `json:"name"`
		Type           string            `json:"type"`
		Health         string            `json:"health"`
		LastError      string            `json:"lastError"`
		Labels         map[string]string `json:"labels"`
		Annotations    map[string]string `json:"annotations"`
		LastEvaluation time.Time         `json:"lastEvaluation"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := p.api("/api/v1/rules", nil)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Groups []struct {
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		var rules []rule
		for _, g := range d.Groups {
			rules = append(rules, g.Rules...)
		}
		pending := 0
		for _, r := range rules {
			if r.Health == "unknown" || r.LastEvaluation.Year() < 2000 {
				pending++
			}
		}
		if pending > 0 && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if len(rules) < 10 {
			t.Errorf("prometheus loaded %d rules, want the 10 of pacer-alerts.yml", len(rules))
		}
		var names []string
		for _, r := range rules {
			names = append(names, r.Name)
			if r.Type != "alerting" || r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: type %s health %s error %q", r.Name, r.Type, r.Health, r.LastError)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("rule %s: severity %q, want warning or critical", r.Name, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %s: a summary and a description are required: %v", r.Name, r.Annotations)
			}
		}
		sort.Strings(names)
		t.Logf("rules evaluated: %s", strings.Join(names, ", "))
		return
	}
}
