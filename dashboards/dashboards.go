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

import "embed"

// Files are the dashboards (*.json), the Prometheus configurations and
// rules (*.yml) and the Grafana provisioning files (provisioning/).
//
//go:embed *.json *.yml provisioning
var Files embed.FS
