package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
)

// Store operation classes, the values of the op label of
// pacer_store_errors_total.
const (
	StoreOpClaim    = "claim"    // a worker claiming a delivered task
	StoreOpFinish   = "finish"   // a worker committing an attempt's outcome
	StoreOpDispatch = "dispatch" // the dispatcher finding due tasks, or putting back unpublished ones
	StoreOpLedger   = "ledger"   // the quota ledger, for the Limiter
)

var storeOps = []string{StoreOpClaim, StoreOpFinish, StoreOpDispatch, StoreOpLedger}

// operational are the worker's and the store's health metrics; they are part
// of Metrics.
type operational struct {
	storeErrors  *prometheus.CounterVec
	redeliveries prometheus.Counter
	slots        prometheus.Gauge
	busy         prometheus.Gauge
	items        *prometheus.CounterVec
}

func newOperational(reg prometheus.Registerer, kinds []string) operational {
	o := operational{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_items_processed_total",
			Help: "Items whose result rows completed tasks committed, by kind and status (ok, not_found).",
		}, []string{"kind", "status"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pacer_store_errors_total",
			Help: "Store operations of pacer's background work that failed (not found and conflict are answers, not errors; shutdown cancellations are not counted), by operation class (claim, finish, dispatch, ledger).",
		}, []string{"op"}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pacer_broker_redeliveries_total",
			Help: "Deliveries the broker marked as redelivered: requeued, or held by a consumer whose channel closed.",
		}),
		slots: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pacer_worker_slots",
			Help: "Tasks this worker process runs at once (its concurrency) while it consumes; 0 before it starts and after it stops.",
		}),
		busy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pacer_worker_busy_slots",
			Help: "Slots of this worker process handling a delivery right now.",
		}),
	}
	reg.MustRegister(o.storeErrors, o.redeliveries, o.slots, o.busy, o.items)
	for _, op := range storeOps {
		o.storeErrors.WithLabelValues(op)
	}
	for _, k := range kinds {
		for _, s := range []store.ResultStatus{store.ResultOK, store.ResultNotFound} {
			o.items.WithLabelValues(k, string(s))
		}
	}
	return o
}

// committed counts the result rows of a completed task.
func (m *Metrics) committed(kind string, results []store.Result) {
	if m == nil {
		return
	}
	var ok, notFound int
	for _, r := range results {
		if r.Status == store.ResultNotFound {
			notFound++
		} else {
			ok++
		}
	}
	m.items.WithLabelValues(kind, string(store.ResultOK)).Add(float64(ok))
	m.items.WithLabelValues(kind, string(store.ResultNotFound)).Add(float64(notFound))
}

// storeError counts err, returned by a store operation of class op, unless
// it is an answer (not found, conflict) or a cancellation.
func (m *Metrics) storeError(op string, err error) {
	if m == nil || !isStoreFailure(err) {
		return
	}
	m.storeErrors.WithLabelValues(op).Inc()
}

// isStoreFailure reports whether err, returned by a store operation, means
// the operation failed: not nil, not one of the store's answers
// (store.ErrNotFound, store.ErrConflict) and not a cancellation.
func isStoreFailure(err error) bool {
	return err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) && !errors.Is(err, context.Canceled)
}

func (m *Metrics) redelivered() {
	if m != nil {
		m.redeliveries.Inc()
	}
}

func (m *Metrics) setSlots(n int) {
	if m != nil {
		m.slots.Set(float64(n))
	}
}

func (m *Metrics) busySlot(delta float64) {
	if m != nil {
		m.busy.Add(delta)
	}
}

// CountLedger returns l with its failures counted in m as store errors of
// class ledger. A nil m returns l itself.
func CountLedger(l ratelimit.Ledger, m *Metrics) ratelimit.Ledger {
	if m == nil {
		return l
	}
	return countingLedger{l: l, m: m}
}

type countingLedger struct {
	l ratelimit.Ledger
	m *Metrics
}

func (c countingLedger) SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (bool, time.Time, error) {
	ok, retryAt, err := c.l.SpendQuota(ctx, key, limit, span, n, now)
	c.m.storeError(StoreOpLedger, err)
	return ok, retryAt, err
}

func (c countingLedger) TakeWindow(ctx context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (bool, int64, int, time.Time, error) {
	ok, gen, ord, retryAt, err := c.l.TakeWindow(ctx, key, limit, window, margin, n, now)
	c.m.storeError(StoreOpLedger, err)
	return ok, gen, ord, retryAt, err
}

func (c countingLedger) ObserveWindow(ctx context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error {
	err := c.l.ObserveWindow(ctx, key, generation, ordinal, limit, remaining, reset, now)
	c.m.storeError(StoreOpLedger, err)
	return err
}

func (c countingLedger) BlockQuota(ctx context.Context, key string, until time.Time) error {
	err := c.l.BlockQuota(ctx, key, until)
	c.m.storeError(StoreOpLedger, err)
	return err
}

// StoreCollector reports pacer_store_up: 1 if the store answered a ping
// within the timeout at scrape time, else 0. It never fails the scrape, so
// that the failure is the figure.
type StoreCollector struct {
	store   store.Store
	timeout time.Duration
	desc    *prometheus.Desc
}

// NewStoreCollector returns a collector that pings s at each scrape, for at
// most timeout (default 5s).
func NewStoreCollector(s store.Store, timeout time.Duration) *StoreCollector {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &StoreCollector{store: s, timeout: timeout,
		desc: prometheus.NewDesc("pacer_store_up", "1 if the store answered a ping at scrape time, else 0.", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	v := 1.0
	if err := c.store.Ping(ctx); err != nil {
		v = 0
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v)
}

// RegisterCredentialQuotas registers pacer_credential_quota_info{credential,
// quota}, always 1, one series per quota of each declared credential: the
// quota metrics are labelled by quota alone, and a query joins this to show
// the credential beside them.
func RegisterCredentialQuotas(reg prometheus.Registerer, creds Credentials) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pacer_credential_quota_info",
		Help: "Always 1: which declared credential each quota belongs to.",
	}, []string{"credential", "quota"})
	reg.MustRegister(g)
	for _, name := range creds.Names() {
		for _, q := range creds[name].Quotas {
			g.WithLabelValues(name, q.Key).Set(1)
		}
	}
}
