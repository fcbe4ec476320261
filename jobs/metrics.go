package jobs

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/store"
)

// Task outcomes, the values of the outcome label of
// pacer_tasks_processed_total.
const (
	OutcomeDone     = "done"     // results committed
	OutcomeRetried  = "retried"  // failed, will run again after a backoff
	OutcomeSnoozed  = "snoozed"  // waiting for a quota; no attempt used
	OutcomeFailed   = "failed"   // failed for good
	OutcomeReturned = "returned" // handed back at shutdown; no attempt used
)

// Delivery outcomes, the values of the outcome label of
// pacer_broker_deliveries_total.
const (
	DeliveryProcessed = "processed" // claimed and run
	DeliverySkipped   = "skipped"   // done, cancelled, leased elsewhere or not due: acked unrun
	DeliveryRequeued  = "requeued"  // the store could not be reached: returned to the queue
)

// Metrics are the worker's and dispatcher's Prometheus metrics. Use
// NewMetrics; a nil *Metrics records nothing.
type Metrics struct {
	tasks      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	requests   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	published  prometheus.Counter
	operational
}

// NewMetrics registers the jobs metrics on reg and starts the series of the
// given kinds and quotas at zero.
func NewMetrics(reg prometheus.Registerer, kinds, quotas []string) *Metrics {
	m := &Metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_tasks_processed_total",
			Help: "Task attempts processed, by kind and outcome (done, retried, snoozed, failed, returned).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pacer_task_duration_seconds",
			Help:    "Time from claiming a task to committing its outcome, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_upstream_requests_total",
			Help: "Requests sent upstream, by quota and status class (2xx, 3xx, 4xx, 5xx, error).",
		}, []string{"quota", "code_class"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_broker_deliveries_total",
			Help: "Broker deliveries handled by workers, by outcome (processed, skipped, requeued).",
		}, []string{"outcome"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pacer_dispatcher_published_total",
			Help: "Task ids the dispatcher handed to the broker, first publishes and republishes.",
		}),
	}
	reg.MustRegister(m.tasks, m.duration, m.requests, m.deliveries, m.published)
	m.operational = newOperational(reg, kinds)
	for _, k := range kinds {
		for _, o := range []string{OutcomeDone, OutcomeRetried, OutcomeSnoozed, OutcomeFailed, OutcomeReturned} {
			m.tasks.WithLabelValues(k, o)
		}
		m.duration.WithLabelValues(k)
	}
	for _, q := range quotas {
		for _, c := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
			m.requests.WithLabelValues(q, c)
		}
	}
	for _, o := range []string{DeliveryProcessed, DeliverySkipped, DeliveryRequeued} {
		m.deliveries.WithLabelValues(o)
	}
	return m
}

func (m *Metrics) task(kind, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.tasks.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *Metrics) request(quota string, resp *http.Response, err error) {
	if m == nil {
		return
	}
	class := "error"
	if err == nil {
		class = strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	m.requests.WithLabelValues(quota, class).Inc()
}

func (m *Metrics) delivery(outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) publish(n int) {
	if m != nil {
		m.published.Add(float64(n))
	}
}

// JobsCollector reports pacer_jobs{kind,state} from the store at scrape time,
// with one query per scrape.
type JobsCollector struct {
	store   store.Store
	kinds   []string
	timeout time.Duration
	desc    *prometheus.Desc
}

// NewJobsCollector returns a collector of job counts for the given kinds;
// every (kind, state) pair is reported, zeros included. A scrape whose query
// fails or takes longer than timeout (default 5s) reports an invalid metric,
// so the scrape fails visibly.
func NewJobsCollector(s store.Store, kinds []string, timeout time.Duration) *JobsCollector {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &JobsCollector{
		store: s, kinds: kinds, timeout: timeout,
		desc: prometheus.NewDesc("pacer_jobs", "Jobs in the store, by kind and state.", []string{"kind", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *JobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *JobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.store.CountJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, k := range c.kinds {
		for _, s := range store.JobStates {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[store.JobKindState{Kind: k, State: s}]), k, string(s))
		}
	}
}

// CredentialsCollector reports pacer_credentials_retired{credential}: 1 for
// each declared credential the upstream refused and that is out of use, 0
// for the others. It reads the store once per scrape, like JobsCollector.
type CredentialsCollector struct {
	store   store.Store
	names   []string
	timeout time.Duration
	desc    *prometheus.Desc
}

// NewCredentialsCollector returns a collector of the retired state of the
// named credentials (the declared ones: a closed set). A scrape whose query
// fails or takes longer than timeout (default 5s) reports an invalid metric.
func NewCredentialsCollector(s store.Store, names []string, timeout time.Duration) *CredentialsCollector {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &CredentialsCollector{
		store: s, names: names, timeout: timeout,
		desc: prometheus.NewDesc("pacer_credentials_retired", "1 for a credential retired because the upstream refused it (401, or 403 not about rate), else 0.", []string{"credential"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *CredentialsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *CredentialsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	retired, err := c.store.ListRetiredCredentials(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	out := make(map[string]bool, len(retired))
	for _, r := range retired {
		out[r.Name] = true
	}
	for _, n := range c.names {
		v := 0.0
		if out[n] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, n)
	}
}
