// Package dashboards holds pacer's operational configuration as code: the
// Prometheus scrape configuration and the Grafana dashboards, embedded so that
// a test can check that every metric they name is one pacer registers.
// Metric names change with the code, and a dashboard that silently goes blank
// is a bug like any other.
//
// dashboards imports no pacer package.
package dashboards

import "embed"

// Files are the dashboards (*.json) and the Prometheus configuration (*.yml).
//
//go:embed *.json *.yml
var Files embed.FS
