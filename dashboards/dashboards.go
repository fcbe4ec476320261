// Package dashboards holds pacer's operational configuration as code: the
// Grafana dashboards, the Grafana provisioning files, the Prometheus scrape
// configurations and the alerting rules, embedded so that tests can check
// that every query parses and names only metrics pacer registers. Metric
// names change with the code, and a dashboard that silently goes blank is a
// bug like any other.
//
// The files, and where docker-compose.yaml mounts them:
//
//	pacer-overview.json, pacer-quotas.json, pacer-queue.json
//	    Grafana dashboards; the directory is mounted at
//	    /var/lib/grafana/dashboards/pacer (Grafana reads the *.json only).
//	provisioning/datasources/pacer.yaml, provisioning/dashboards/pacer.yaml
//	    Grafana provisioning: provisioning/ is mounted at
//	    /etc/grafana/provisioning. The datasource is Prometheus at
//	    http://prometheus:9090; the dashboards pick it through their
//	    "datasource" variable and hard-code no datasource id.
//	prometheus-compose.yml
//	    Prometheus in docker-compose: mounted at
//	    /etc/prometheus/prometheus.yml; it scrapes serve:8080 and every
//	    replica of the work service on port 9464 (DNS service discovery).
//	pacer-alerts.yml
//	    Alerting rules, mounted at /etc/prometheus/pacer-alerts.yml.
//	prometheus.yml
//	    Prometheus on one machine, on loopback (serve on 127.0.0.1:8080, a
//	    worker on 127.0.0.1:9464), with the rules file beside it.
//
// dashboards imports no pacer package.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
)

// Files are the dashboards (*.json), the Prometheus configurations and
// rules (*.yml) and the Grafana provisioning files (provisioning/).
//
//go:embed *.json *.yml provisioning
var Files embed.FS

// Query is one panel query of a dashboard, with its template variables
// substituted (see Substitute).
type Query struct {
	File  string // the dashboard's file name
	Panel string // the panel's title
	Expr  string // PromQL
}

// variables are the values Substitute gives the dashboards' template
// variables: what Grafana sends for a 1-minute rate interval, the 15-minute
// quota window and every quota.
var variables = strings.NewReplacer("$__rate_interval", "1m", "$window", "15m", "$quota", ".+")

// Substitute replaces the template variables in a dashboard query with
// values Prometheus accepts, so that a test can parse or run it. A variable
// it does not know stays, with its "$".
func Substitute(expr string) string { return variables.Replace(expr) }

// Queries returns every panel query of every dashboard in Files, in file
// and panel order, with the variables substituted.
func Queries() ([]Query, error) {
	paths, err := fs.Glob(Files, "*.json")
	if err != nil {
		return nil, err
	}
	var qs []Query
	for _, p := range paths {
		b, err := fs.ReadFile(Files, p)
		if err != nil {
			return nil, err
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, panel := range d.Panels {
			for _, t := range panel.Targets {
				qs = append(qs, Query{File: p, Panel: panel.Title, Expr: Substitute(t.Expr)})
			}
		}
	}
	return qs, nil
}
