package ratelimit

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Limiter's Prometheus metrics, labelled by quota key. Use
// NewMetrics and hand the result to [Config.Metrics]; a nil *Metrics records
// nothing. Metrics is safe for simultaneous use by multiple goroutines.
type Metrics struct {
	wait       *prometheus.HistogramVec
	throttled  *prometheus.CounterVec
	rejections *prometheus.CounterVec
	limit      *prometheus.GaugeVec
	remaining  *prometheus.GaugeVec
	reset      *prometheus.GaugeVec
	window     *prometheus.GaugeVec
	blocked    *prometheus.CounterVec
	since      *prometheus.Desc

	mu      sync.Mutex
	periods map[string]*blockedPeriod // by quota key
	nowFunc func() time.Time          // for the throttled-since gauge; time.Now
}

// blockedPeriod is an unbroken stretch of time during which a quota had no
// room for this process: from the first throttle to the latest Until of the
// throttles that overlapped it.
type blockedPeriod struct {
	since, until time.Time
}

// NewMetrics registers the quota metrics on reg and starts the series of
// quotas: the wait histogram and the counters at zero, and
// pacer_ratelimit_limit at each quota's declared Limit. It panics, as
// [prometheus.Registerer.MustRegister] does, if they are already registered.
//
// pacer_ratelimit_remaining and pacer_ratelimit_reset_timestamp_seconds
// appear only once the upstream has reported them: a remaining count of 0 at
// startup would claim an exhausted quota, and a reset at the Unix epoch a
// window that closed in 1970.
func NewMetrics(reg prometheus.Registerer, quotas []Quota) *Metrics {
	m := &Metrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pacer_ratelimit_wait_seconds",
			Help: "Time a request waited for its quota before it was admitted (0 when at once), by quota.",
			// Immediate admissions cost one ledger round trip; sleeps in
			// place last up to the Limiter's MaxWait (2s by default).
			Buckets: []float64{0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60},
		}, []string{"quota"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_ratelimit_throttled_total",
			Help: "Requests not admitted because their quota had no room within the Limiter's MaxWait; the work waits for the reset.",
		}, []string{"quota"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_ratelimit_rejections_total",
			Help: "Answers in which the upstream refused a request for its rate (429, or 403/503 saying so), by quota.",
		}, []string{"quota"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pacer_ratelimit_limit",
			Help: "Requests allowed per window: as declared in the configuration, then as the upstream last reported it.",
		}, []string{"quota"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pacer_ratelimit_remaining",
			Help: "Requests left in the current window, as the upstream last reported it.",
		}, []string{"quota"}),
		reset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pacer_ratelimit_reset_timestamp_seconds",
			Help: "When the current window resets, as the upstream last reported it, in Unix seconds.",
		}, []string{"quota"}),
	}
	m.window = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pacer_ratelimit_window_seconds",
		Help: "Length of the quota's window, as declared in the configuration.",
	}, []string{"quota"})
	m.blocked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pacer_ratelimit_throttled_seconds_total",
		Help: "Seconds during which the quota had no room for this process (the union of its throttles' waits, counted when each throttle is decided); rate() is the fraction of time throttled.",
	}, []string{"quota"})
	m.since = prometheus.NewDesc("pacer_ratelimit_throttled_since_timestamp_seconds",
		"When the quota's current unbroken throttled period began, in Unix seconds; 0 while it has room.",
		[]string{"quota"}, nil)
	m.periods = make(map[string]*blockedPeriod, len(quotas))
	m.nowFunc = time.Now
	reg.MustRegister(m.wait, m.throttled, m.rejections, m.limit, m.remaining, m.reset, m.window, m.blocked, sinceCollector{m})
	for _, q := range quotas {
		m.wait.WithLabelValues(q.Key)
		m.throttled.WithLabelValues(q.Key)
		m.rejections.WithLabelValues(q.Key)
		m.limit.WithLabelValues(q.Key).Set(float64(q.Limit))
		m.window.WithLabelValues(q.Key).Set(q.Window.Seconds())
		m.blocked.WithLabelValues(q.Key)
		m.periods[q.Key] = &blockedPeriod{}
	}
	return m
}

// throttle records that key has no room from now until until: the part of
// [now, until) not already counted is added to the throttled seconds, and a
// throttle that begins after the last period ended starts a new period.
func (m *Metrics) throttle(key string, now, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.periods[key]
	if p == nil {
		// A quota not declared at NewMetrics (learned from the upstream):
		// its series start now.
		p = &blockedPeriod{}
		m.periods[key] = p
	}
	if !now.Before(p.until) {
		p.since, p.until = now, now
	}
	if until.After(p.until) {
		m.blocked.WithLabelValues(key).Add(until.Sub(p.until).Seconds())
		p.until = until
	}
}

// sinceCollector reports pacer_ratelimit_throttled_since_timestamp_seconds
// at scrape time, since a period ends by the clock, not by an event.
type sinceCollector struct{ m *Metrics }

// Describe implements prometheus.Collector.
func (c sinceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.since }

// Collect implements prometheus.Collector.
func (c sinceCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := c.m.nowFunc()
	for key, p := range c.m.periods {
		v := 0.0
		if now.Before(p.until) {
			v = float64(p.since.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.m.since, prometheus.GaugeValue, v, key)
	}
}

// record counts one wait for qs that began at start and ended with err: for
// an admitted request (err nil), the time it waited under each of qs; for a
// *ThrottledError, a throttle of the quota it names. A request that spends
// several quotas waited for all of them at once, so each quota's histogram
// says how long the requests spending it waited. Cancellations and ledger
// errors record nothing.
func (l *Limiter) record(qs []Quota, start time.Time, err error) {
	m := l.metrics
	if m == nil {
		return
	}
	var th *ThrottledError
	switch {
	case err == nil:
		waited := l.now().Sub(start).Seconds()
		for _, q := range qs {
			m.wait.WithLabelValues(q.Key).Observe(waited)
		}
	case errors.As(err, &th):
		m.throttled.WithLabelValues(th.Key).Inc()
		m.throttle(th.Key, l.now(), th.Until)
	}
}

// observe records what the upstream said about key's quota.
func (m *Metrics) observe(key string, o Observation) {
	if m == nil {
		return
	}
	if o.Limit > 0 {
		m.limit.WithLabelValues(key).Set(float64(o.Limit))
	}
	if o.Remaining >= 0 {
		m.remaining.WithLabelValues(key).Set(float64(o.Remaining))
	}
	if !o.Reset.IsZero() {
		m.reset.WithLabelValues(key).Set(float64(o.Reset.UnixNano()) / 1e9)
	}
	if o.Throttled {
		m.rejections.WithLabelValues(key).Inc()
	}
}
