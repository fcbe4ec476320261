package dashboards_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/dashboards"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
)

// describer is a prometheus.Registerer that only records the names of the
// metrics its collectors describe: every metric pacer can expose, whether
// or not it has a series yet.
type describer struct {
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		m := fqName.FindStringSubmatch(desc.String())
		if m == nil {
			return fmt.Errorf("no name in %s", desc)
		}
		d.names[m[1]] = true
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// registered returns the metric names pacer's processes register, with the
// series suffixes a query may use on a histogram. It describes every
// collector serve and work register (cmd/pacer: newMetricsRegistry,
// jobs.NewMetrics, the ratelimit and rabbitmq metrics, the scrape-time
// collectors). pacer_build_info is registered in package main, which a test
// cannot import; cmd/pacer's TestBuildInfoMetric checks it.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	d := &describer{names: map[string]bool{"pacer_build_info": true}}
	quotas := []ratelimit.Quota{{Key: "demo", Limit: 10, Window: time.Minute}}
	jobs.NewMetrics(d, []string{"tweet_lookup"}, []string{"demo"})
	ratelimit.NewMetrics(d, quotas)
	rabbitmq.NewMetrics(d)
	qc, err := rabbitmq.NewQueueCollector(&rabbitmq.Broker{}, rabbitmq.QueueCollectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d.MustRegister(qc, jobs.NewJobsCollector(nil, nil, 0), jobs.NewCredentialsCollector(nil, nil, 0), jobs.NewStoreCollector(nil, 0))
	jobs.RegisterCredentialQuotas(d, jobs.Credentials{"demo": {Name: "demo", Quotas: quotas}})
	jobs.NewNotifierMetrics(d) // serve and run
	jobs.NewScheduleMetrics(d) // serve and run

	// The histograms, from a registry that gathers them.
	reg := prometheus.NewRegistry()
	jobs.NewMetrics(reg, []string{"tweet_lookup"}, []string{"demo"})
	ratelimit.NewMetrics(reg, quotas)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !d.names[mf.GetName()] {
			t.Fatalf("%s is gathered but not described", mf.GetName())
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				d.names[mf.GetName()+s] = true
			}
		}
	}
	return d.names
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title      string `json:"title"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

// readDashboards reads every dashboard.
func readDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	out := map[string]dashboard{}
	paths, err := fs.Glob(dashboards.Files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := fs.ReadFile(dashboards.Files, p)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[p] = d
	}
	if len(out) < 3 {
		t.Fatalf("%d dashboards, want overview, quotas and queue", len(out))
	}
	return out
}

var metricName = regexp.MustCompile(`\bpacer_[a-z_]+\b`)

// checkNames reports every pacer metric expr names that pacer does not
// register, and an expr that names none.
func checkNames(t *testing.T, names map[string]bool, where, expr string) {
	t.Helper()
	found := metricName.FindAllString(expr, -1)
	if len(found) == 0 {
		t.Errorf("%s: %q names no pacer metric", where, expr)
	}
	for _, m := range found {
		if !names[m] {
			t.Errorf("%s: %s is not a metric pacer registers", where, m)
		}
	}
}

// Every panel picks its datasource through the dashboard's variable, and
// every query names only metrics pacer registers.
func TestDashboardsNameRegisteredMetrics(t *testing.T) {
	names := registered(t)
	for file, d := range readDashboards(t) {
		var dsVar bool
		for _, v := range d.Templating.List {
			if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
				dsVar = true
			}
		}
		if !dsVar {
			t.Errorf("%s: no Prometheus datasource variable named datasource", file)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: a dashboard needs a title and a stable uid", file)
		}
		for _, p := range d.Panels {
			if p.Datasource.UID != "${datasource}" {
				t.Errorf("%s / %s: panel datasource %q is hard-coded; use ${datasource}", file, p.Title, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s / %s: a panel without a query", file, p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s / %s: datasource %q is hard-coded; use ${datasource}", file, p.Title, tg.Datasource.UID)
				}
				checkNames(t, names, file+" / "+p.Title, tg.Expr)
				if s := dashboards.Substitute(tg.Expr); strings.Contains(s, "$") {
					t.Errorf("%s / %s: a variable the tests do not know in %q", file, p.Title, s)
				}
			}
		}
	}
}

// The alerting rules name only metrics pacer registers (and Prometheus's
// own up).
func TestRulesNameRegisteredMetrics(t *testing.T) {
	names := registered(t)
	b, err := fs.ReadFile(dashboards.Files, "pacer-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	exprs := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "pacer_") {
			exprs++
			for _, m := range metricName.FindAllString(line, -1) {
				if !names[m] {
					t.Errorf("pacer-alerts.yml: %s is not a metric pacer registers", m)
				}
			}
		}
	}
	if exprs < 10 {
		t.Errorf("pacer-alerts.yml: only %d lines name pacer metrics", exprs)
	}
}

// lookPromtool returns the path of promtool. Missing, it skips the test, or
// fails it when CI is set (scripts/test.sh installs it).
func lookPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed, and CI must run it (apt-get install prometheus)")
		}
		t.Skip("promtool is not installed")
	}
	return p
}

// promtool runs promtool with args in dir and fails the test with its
// output if it fails.
func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(lookPromtool(t), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// The rules file and the scrape configurations pass promtool.
func TestPromtoolChecksRulesAndConfig(t *testing.T) {
	promtool(t, ".", "check", "rules", "--lint=all", "--lint-fatal", "pacer-alerts.yml")
	promtool(t, ".", "check", "config", "--lint=all", "--lint-fatal", "prometheus.yml")
	// Its rules file lives at the path docker-compose mounts it at.
	promtool(t, ".", "check", "config", "--syntax-only", "prometheus-compose.yml")
}

// Every dashboard query parses as PromQL: written into a rules file as
// recording rules, with the variables substituted, it passes promtool.
func TestDashboardQueriesParse(t *testing.T) {
	lookPromtool(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	qs, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		expr, _ := json.Marshal(q.Expr) // a JSON string is a YAML scalar
		fmt.Fprintf(&b, "      - record: pacer:dashboard_query_%d\n        expr: %s\n", i, expr)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "queries.yml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "check", "rules", "queries.yml")
	if t.Failed() {
		for i, q := range qs {
			t.Logf("pacer:dashboard_query_%d is %s / %s: %s", i, q.File, q.Panel, q.Expr)
		}
	}
}
