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
	wait          *prometheus.HistogramVec
	throttled     *prometheus.CounterVec
	rejections    *prometheus.CounterVec
	limit         *prometheus.GaugeVec
	remaining     *prometheus.GaugeVec
	reset         *prometheus.GaugeVec
	window        *prometheus.GaugeVec
	throttledTime *prometheus.CounterVec
	since         *prometheus.Desc

	mu      sync.Mutex
	periods map[string]*blockedPeriod // by quota key
	nowFunc func() time.Time          // for the throttled-since gauge; time.Now
}

// blockedPeriod is an unbroken stretch of time during which a quota had no
// room: it opens when a request is throttled, refused for rate by the
// upstream or told that nothing remains, and closes when the upstream next
// says there is room. Without any word at all it closes periodSlack after
// its last block ended: nobody was waiting on the quota any more.
type blockedPeriod struct {
	since, until time.Time // the open period's start and the end of its last block
	open         bool
	counted      time.Time // the throttled seconds are counted up to here
}

// periodSlack is how long after a block ends a new block still continues the
// same period: tasks that waited for the reset come back a little after it
// (jitter, dispatch, delivery), and if the quota still has no room the
// exhaustion has not ended.
const periodSlack = time.Minute

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
	m.throttledTime = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pacer_ratelimit_throttled_seconds_total",
		Help: "Seconds during which the quota had no room for this process (the union of the waits its throttles, refusals and exhausted answers announced, counted when each is seen); rate() is the fraction of time throttled.",
	}, []string{"quota"})
	m.since = prometheus.NewDesc("pacer_ratelimit_throttled_since_timestamp_seconds",
		"When the quota's current unbroken period without room began (until the upstream says there is room again), in Unix seconds; 0 while it has room.",
		[]string{"quota"}, nil)
	m.periods = make(map[string]*blockedPeriod, len(quotas))
	m.nowFunc = time.Now
	reg.MustRegister(m.wait, m.throttled, m.rejections, m.limit, m.remaining, m.reset, m.window, m.throttledTime, sinceCollector{m})
	for _, q := range quotas {
		m.wait.WithLabelValues(q.Key)
		m.throttled.WithLabelValues(q.Key)
		m.rejections.WithLabelValues(q.Key)
		m.limit.WithLabelValues(q.Key).Set(float64(q.Limit))
		m.window.WithLabelValues(q.Key).Set(q.Window.Seconds())
		m.throttledTime.WithLabelValues(q.Key)
		m.periods[q.Key] = &blockedPeriod{}
	}
	return m
}

// blocked records that key has no room from now until until: the part of
// [now, until) not already counted is added to the throttled seconds, and a
// period opens unless one is open and continues.
func (m *Metrics) blocked(key string, now, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.periods[key]
	if p == nil {
		// A quota not declared at NewMetrics (learned from the upstream):
		// its series start now.
		p = &blockedPeriod{}
		m.periods[key] = p
	}
	if !p.open || now.After(p.until.Add(periodSlack)) {
		p.since, p.open = now, true
	}
	from := maxTime(p.counted, now)
	if until.After(from) {
		m.throttledTime.WithLabelValues(key).Add(until.Sub(from).Seconds())
		p.counted = until
	}
	p.until = maxTime(p.until, until, now)
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// roomy records that the upstream said key has room: its period ends.
func (m *Metrics) roomy(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.periods[key]; p != nil {
		p.open, p.until = false, time.Time{}
	}
}

// sinceCollector reports pacer_ratelimit_throttled_since_timestamp_seconds
// at scrape time, since a period may end by the clock, not by an event.
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
		if p.open && now.Before(p.until.Add(periodSlack)) {
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
		m.blocked(th.Key, l.now(), th.Until)
	}
}

// observe records what the upstream said at now about key's quota, and
// opens or closes its period without room.
func (m *Metrics) observe(key string, o Observation, now time.Time) {
	if m == nil {
		return
	}
	switch {
	case o.Throttled:
		m.blocked(key, now, o.Until())
	case o.Remaining == 0:
		m.blocked(key, now, o.Reset)
	default:
		m.roomy(key)
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
