package dashboards_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pacerhq/pacer/dashboards"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
)

// registered returns the metric names pacer's processes register, with the
// histogram series suffixes a query may use.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	jobs.NewMetrics(reg, []string{"tweet_lookup"}, []string{"demo"})
	reg.MustRegister(collectors.NewBuildInfoCollector())
	quotaMetrics(t, reg)
	names := map[string]bool{"pacer_jobs": true, "pacer_credentials_retired": true} // collected from the store at scrape time
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		n := mf.GetName()
		names[n] = true
		if strings.HasSuffix(mf.GetType().String(), "HISTOGRAM") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[n+s] = true
			}
		}
	}
	return names
}

// quotaMetrics registers the ratelimit metrics on reg and has a Limiter
// observe one answer, since the upstream's remaining and reset have series
// only once it has reported them.
func quotaMetrics(t *testing.T, reg prometheus.Registerer) {
	t.Helper()
	q := ratelimit.Quota{Key: "demo", Limit: 10, Window: time.Minute}
	lim, err := ratelimit.NewLimiter(ratelimit.Config{Ledger: roomyLedger{}, Metrics: ratelimit.NewMetrics(reg, []ratelimit.Quota{q})})
	if err != nil {
		t.Fatal(err)
	}
	g, err := lim.Wait(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if err := lim.Observe(t.Context(), g, ratelimit.Observation{Limit: 10, Remaining: 9, Reset: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

// roomyLedger always has room.
type roomyLedger struct{}

func (roomyLedger) SpendQuota(context.Context, string, int, time.Duration, int, time.Time) (bool, time.Time, error) {
	return true, time.Time{}, nil
}

func (roomyLedger) TakeWindow(context.Context, string, int, time.Duration, time.Duration, int, time.Time) (bool, int64, int, time.Time, error) {
	return true, 1, 1, time.Time{}, nil
}

func (roomyLedger) ObserveWindow(context.Context, string, int64, int, int, int, time.Time, time.Time) error {
	return nil
}

func (roomyLedger) BlockQuota(context.Context, string, time.Time) error { return nil }

var metricName = regexp.MustCompile(`\bpacer_[a-z_]+\b`)

func TestDashboardsNameRegisteredMetrics(t *testing.T) {
	names := registered(t)
	var exprs int
	err := fs.WalkDir(dashboards.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		b, err := fs.ReadFile(dashboards.Files, path)
		if err != nil {
			return err
		}
		var dash struct {
			Title  string `json:"title"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr       string `json:"expr"`
					Datasource struct {
						UID string `json:"uid"`
					} `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				exprs++
				if tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s / %s: datasource %q is hard-coded; use ${datasource}", path, p.Title, tg.Datasource.UID)
				}
				if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
					t.Errorf("%s / %s: unbalanced parentheses in %q", path, p.Title, tg.Expr)
				}
				found := metricName.FindAllString(tg.Expr, -1)
				if len(found) == 0 {
					t.Errorf("%s / %s: %q names no pacer metric", path, p.Title, tg.Expr)
				}
				for _, m := range found {
					if !names[m] {
						t.Errorf("%s / %s: %s is not a metric pacer registers", path, p.Title, m)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if exprs == 0 {
		t.Fatal("no dashboard expressions found")
	}
}
