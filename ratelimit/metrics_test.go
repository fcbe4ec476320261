package ratelimit

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitHistogram returns the sample count and sum of
// pacer_ratelimit_wait_seconds{quota=key} in reg.
func waitHistogram(t testing.TB, reg prometheus.Gatherer, key string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pacer_ratelimit_wait_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "quota" && lp.GetValue() == key {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	t.Fatalf("no pacer_ratelimit_wait_seconds series for quota %s", key)
	return 0, 0
}

func lint(t testing.TB, reg prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

// Every declared quota's counters and histogram start at zero and its limit
// at the declared one; remaining and reset wait for the upstream to say.
func TestMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, []Quota{
		{Key: "x-15m", Limit: 900, Window: 15 * time.Minute},
		{Key: "x-1s", Limit: 1, Window: time.Second, Sliding: true},
	})
	tests := []struct {
		metric string
		series int
	}{
		{"pacer_ratelimit_wait_seconds", 2},
		{"pacer_ratelimit_throttled_total", 2},
		{"pacer_ratelimit_rejections_total", 2},
		{"pacer_ratelimit_limit", 2},
		{"pacer_ratelimit_remaining", 0},
		{"pacer_ratelimit_reset_timestamp_seconds", 0},
		{"pacer_ratelimit_window_seconds", 2},
		{"pacer_ratelimit_throttled_seconds_total", 2},
		{"pacer_ratelimit_throttled_since_timestamp_seconds", 2},
	}
	for _, tc := range tests {
		if got := testutil.CollectAndCount(reg, tc.metric); got != tc.series {
			t.Errorf("%s: %d series at startup, want %d", tc.metric, got, tc.series)
		}
	}
	for key, want := range map[string]float64{"x-15m": 900, "x-1s": 1} {
		if got := testutil.ToFloat64(m.limit.WithLabelValues(key)); got != want {
			t.Errorf("pacer_ratelimit_limit{quota=%q} = %v, want %v", key, got, want)
		}
		if got := testutil.ToFloat64(m.throttled.WithLabelValues(key)); got != 0 {
			t.Errorf("pacer_ratelimit_throttled_total{quota=%q} = %v, want 0", key, got)
		}
		if count, _ := waitHistogram(t, reg, key); count != 0 {
			t.Errorf("pacer_ratelimit_wait_seconds{quota=%q} count = %d, want 0", key, count)
		}
	}
	lint(t, reg)
}

// Wait records the time before admission under each quota it spent, 0 when
// at once, and counts a refusal beyond MaxWait as a throttle, not a wait.
func TestLimiterMetricsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		q := Quota{Key: "x", Limit: 1, Window: time.Second}
		other := Quota{Key: "y", Limit: 100, Window: time.Hour}
		m := NewMetrics(reg, []Quota{q, other})
		ledger := &memLedger{}
		lim, err := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: 5 * time.Second, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lim.Wait(t.Context(), q, other); err != nil {
			t.Fatal(err)
		}
		if count, sum := waitHistogram(t, reg, "x"); count != 1 || sum != 0 {
			t.Fatalf("after an immediate Wait: count %d sum %v, want 1 and 0", count, sum)
		}
		// The window (1s, widened by the 1s margin) is spent: the next
		// request sleeps 2s, and both of its quotas say so.
		if _, err := lim.Wait(t.Context(), q, other); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"x", "y"} {
			if count, sum := waitHistogram(t, reg, key); count != 2 || sum != 2 {
				t.Errorf("quota %s after a 2s Wait: count %d sum %v, want 2 and 2", key, count, sum)
			}
		}

		// Beyond MaxWait: a throttle of the quota that refused, no wait.
		impatient, _ := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: -1, Metrics: m})
		var th *ThrottledError
		if _, err := impatient.Wait(t.Context(), q, other); !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
		if got := testutil.ToFloat64(m.throttled.WithLabelValues("x")); got != 1 {
			t.Errorf("pacer_ratelimit_throttled_total{quota=x} = %v, want 1", got)
		}
		if got := testutil.ToFloat64(m.throttled.WithLabelValues("y")); got != 0 {
			t.Errorf("pacer_ratelimit_throttled_total{quota=y} = %v, want 0", got)
		}
		if count, _ := waitHistogram(t, reg, "x"); count != 2 {
			t.Errorf("a throttled Wait was recorded as a wait: count %d, want 2", count)
		}
		lint(t, reg)
	})
}

// Observe records what the upstream said about the request's first quota:
// only what it said, and a refusal for rate as a rejection.
func TestLimiterMetricsObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		q := Quota{Key: "x", Limit: 100, Window: 15 * time.Minute}
		other := Quota{Key: "y", Limit: 5, Window: time.Hour}
		m := NewMetrics(reg, []Quota{q, other})
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: -1, Metrics: m})
		gauges := func() (limit, remaining, reset float64) {
			return testutil.ToFloat64(m.limit.WithLabelValues("x")),
				testutil.ToFloat64(m.remaining.WithLabelValues("x")),
				testutil.ToFloat64(m.reset.WithLabelValues("x"))
		}

		g, err := lim.Wait(t.Context(), q, other)
		if err != nil {
			t.Fatal(err)
		}
		reset := time.Now().Add(5 * time.Minute)
		if err := lim.Observe(t.Context(), g, Observation{Limit: 150, Remaining: 7, Reset: reset}); err != nil {
			t.Fatal(err)
		}
		if l, r, rs := gauges(); l != 150 || r != 7 || rs != float64(reset.Unix()) {
			t.Errorf("limit, remaining, reset = %v, %v, %v; want 150, 7, %v", l, r, rs, reset.Unix())
		}
		if got := testutil.CollectAndCount(m.remaining); got != 1 {
			t.Errorf("pacer_ratelimit_remaining: %d series, want only the first quota's", got)
		}

		// A 429 that names only Retry-After: a rejection; the gauges keep
		// the last values the upstream did report.
		g, err = lim.Wait(t.Context(), q, other)
		if err != nil {
			t.Fatal(err)
		}
		err = lim.Observe(t.Context(), g, Observation{Remaining: -1, RetryAfter: time.Now().Add(time.Minute), Throttled: true})
		var th *ThrottledError
		if !errors.As(err, &th) {
			t.Fatalf("Observe(429) = %v, want *ThrottledError", err)
		}
		if got := testutil.ToFloat64(m.rejections.WithLabelValues("x")); got != 1 {
			t.Errorf("pacer_ratelimit_rejections_total{quota=x} = %v, want 1", got)
		}
		if l, r, rs := gauges(); l != 150 || r != 7 || rs != float64(reset.Unix()) {
			t.Errorf("after a bare 429: limit, remaining, reset = %v, %v, %v; want them unchanged", l, r, rs)
		}

		// A response without rate-limit headers says nothing.
		before := testutil.CollectAndCount(reg)
		if err := lim.Observe(t.Context(), g, Observation{Remaining: -1}); err != nil {
			t.Fatal(err)
		}
		if after := testutil.CollectAndCount(reg); after != before {
			t.Errorf("a silent response changed the series: %d, then %d", before, after)
		}
		lint(t, reg)
	})
}

// A Limiter without Metrics, and a nil *Metrics, record nothing and work.
func TestLimiterWithoutMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: -1})
		q := Quota{Key: "x", Limit: 1, Window: time.Minute}
		g, err := lim.Wait(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if err := lim.Observe(t.Context(), g, Observation{Limit: 1, Remaining: 0, Reset: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var th *ThrottledError
		if _, err := lim.Wait(t.Context(), q); !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
	})
}

// WaitAny records like Wait: the wait under the quotas of the option it
// took, including its sleeps between rounds, and only its final throttle.
func TestLimiterMetricsWaitAny(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		a := Quota{Key: "a", Limit: 1, Window: time.Second}
		b := Quota{Key: "b", Limit: 1, Window: 3 * time.Second}
		m := NewMetrics(reg, []Quota{a, b})
		ledger := &memLedger{}
		lim, _ := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: 5 * time.Second, Metrics: m})
		options := [][]Quota{{a}, {b}}
		for range 2 { // one of each, at once
			if _, _, err := lim.WaitAny(t.Context(), options); err != nil {
				t.Fatal(err)
			}
		}
		// Both spent: a frees first, after 2s.
		i, _, err := lim.WaitAny(t.Context(), options)
		if err != nil || i != 0 {
			t.Fatalf("WaitAny = %d, %v; want option 0", i, err)
		}
		if count, sum := waitHistogram(t, reg, "a"); count != 2 || sum != 2 {
			t.Errorf("quota a: count %d sum %v, want 2 and 2", count, sum)
		}
		if count, sum := waitHistogram(t, reg, "b"); count != 1 || sum != 0 {
			t.Errorf("quota b: count %d sum %v, want 1 and 0", count, sum)
		}
		impatient, _ := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: -1, Metrics: m})
		var th *ThrottledError
		if _, _, err := impatient.WaitAny(t.Context(), options); !errors.As(err, &th) {
			t.Fatalf("WaitAny = %v, want *ThrottledError", err)
		}
		got := testutil.ToFloat64(m.throttled.WithLabelValues("a")) + testutil.ToFloat64(m.throttled.WithLabelValues("b"))
		if got != 1 || testutil.ToFloat64(m.throttled.WithLabelValues(th.Key)) != 1 {
			t.Errorf("throttles: %v in all, want 1, for %s", got, th.Key)
		}
	})
}

// Throttled seconds count the union of overlapping blocks once. A period
// without room lasts from its first block until the upstream says there is
// room, across blocks that follow each other within periodSlack, and ends
// by itself a periodSlack after its last block if nobody asks again.
func TestMetricsThrottledTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := NewMetrics(reg, []Quota{{Key: "x", Limit: 1, Window: time.Minute}})
		since := func() float64 {
			t.Helper()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == "pacer_ratelimit_throttled_since_timestamp_seconds" {
					return mf.GetMetric()[0].GetGauge().GetValue()
				}
			}
			t.Fatal("no pacer_ratelimit_throttled_since_timestamp_seconds")
			return 0
		}
		unix := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
		seconds := func() float64 { return testutil.ToFloat64(m.throttledTime.WithLabelValues("x")) }
		if got := testutil.ToFloat64(m.window.WithLabelValues("x")); got != 60 {
			t.Errorf("pacer_ratelimit_window_seconds = %v, want 60", got)
		}
		if seconds() != 0 || since() != 0 {
			t.Fatalf("before any block: %v seconds, since %v; want 0 and 0", seconds(), since())
		}
		start := time.Now()
		m.blocked("x", start, start.Add(10*time.Second))
		time.Sleep(4 * time.Second)
		// Overlaps the first: only the 5s beyond it count.
		m.blocked("x", time.Now(), time.Now().Add(11*time.Second))
		if got := seconds(); got != 15 {
			t.Errorf("after two overlapping blocks: %v seconds, want 15", got)
		}
		if got := since(); got != unix(start) {
			t.Errorf("since %v, want the first block's %v", got, unix(start))
		}
		// The block ended 1s ago; the tasks come back and the upstream
		// refuses them again: the same period goes on.
		time.Sleep(12 * time.Second)
		m.observe("x", Observation{Remaining: 0, Reset: time.Now().Add(30 * time.Second), Throttled: true, Limit: -1}, time.Now())
		if got := since(); got != unix(start) {
			t.Errorf("after a refusal right after the block: since %v, want still %v", got, unix(start))
		}
		// The upstream says there is room: the period ends.
		m.observe("x", Observation{Remaining: 5, Limit: -1}, time.Now())
		if got := since(); got != 0 {
			t.Errorf("after an answer with room: since %v, want 0", got)
		}
		later := time.Now()
		m.observe("x", Observation{Remaining: 0, Reset: later.Add(2 * time.Second), Limit: -1}, later)
		if got := since(); got != unix(later) {
			t.Errorf("a new period: since %v, want %v", got, unix(later))
		}
		// Nobody asks again: the period ends a periodSlack after its block.
		time.Sleep(2*time.Second + periodSlack)
		if got := since(); got != 0 {
			t.Errorf("%s after the block with no word: since %v, want 0", periodSlack, got)
		}
		// 15, then the refusal's 30; the last block lies within the
		// refusal's announced wait, counted already.
		if got := seconds(); got != 45 {
			t.Errorf("throttled seconds %v, want 15 + 30", got)
		}
		lint(t, reg)
	})
}
