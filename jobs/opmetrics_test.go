package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pacerhq/pacer/broker/inproc"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/sqlite"
)

func lintRegistry(t *testing.T, reg prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// value returns the value of the one series of name whose labels are
// labels ("k=v,..."), or fails.
func value(t *testing.T, reg prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			if strings.Join(ls, ",") != labels {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, labels)
	return 0
}

// A worker's slots show while it consumes; a redelivered message is
// counted; busy slots return to 0.
func TestWorkerSlotsAndRedeliveries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := jobs.NewMetrics(reg, []string{"tweet_lookup"}, []string{"main"})
	r := newRig(t, rigConfig{worker: func(wc *jobs.WorkerConfig) { wc.Metrics = m }})
	if got := value(t, reg, "pacer_worker_slots", ""); got != 0 {
		t.Fatalf("slots before Start = %v, want 0", got)
	}
	// A message for a task the store does not have, given back once: the
	// worker receives it marked redelivered and skips it.
	if err := r.broker.Publish(t.Context(), 987654); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := r.broker.Consume(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := (<-ch).Requeue(); err != nil {
		t.Fatal(err)
	}
	cancel()
	r.start(t)
	if got := value(t, reg, "pacer_worker_slots", ""); got != 4 {
		t.Errorf("slots while consuming = %v, want the concurrency, 4", got)
	}
	j := r.waitFinished(t, r.submit(t, 250).ID)
	// The items counted are the rows the store has.
	rows, err := r.store.CountResults(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []store.ResultStatus{store.ResultOK, store.ResultNotFound} {
		if got := value(t, reg, "pacer_items_processed_total", "kind=tweet_lookup,status="+string(st)); got != float64(rows[st]) || rows[store.ResultOK]+rows[store.ResultNotFound] != 250 {
			t.Errorf("items processed{status=%s} = %v; the store has %v of 250", st, got, rows)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for value(t, reg, "pacer_broker_deliveries_total", "outcome=skipped") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the redelivered message was not skipped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(t, reg, "pacer_broker_redeliveries_total", ""); got != 1 {
		t.Errorf("redeliveries = %v, want 1", got)
	}
	stop, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStop()
	if err := r.worker.Stop(stop); err != nil {
		t.Fatal(err)
	}
	if s, b := value(t, reg, "pacer_worker_slots", ""), value(t, reg, "pacer_worker_busy_slots", ""); s != 0 || b != 0 {
		t.Errorf("after Stop: slots %v busy %v, want 0 and 0", s, b)
	}
	lintRegistry(t, reg)
}

// A store that fails is counted by operation class; the store's answers
// (not found, conflict) and cancellations are not.
func TestStoreErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := jobs.NewMetrics(reg, nil, nil)
	for _, op := range []string{jobs.StoreOpClaim, jobs.StoreOpFinish, jobs.StoreOpDispatch, jobs.StoreOpLedger} {
		if got := value(t, reg, "pacer_store_errors_total", "op="+op); got != 0 {
			t.Errorf("store errors{op=%s} at start = %v, want 0", op, got)
		}
	}

	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "pacer.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := inproc.New()
	defer b.Close()
	d, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: s, Broker: b, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DispatchOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close() // from now on every query fails
	if _, err := d.DispatchOnce(t.Context()); err == nil {
		t.Fatal("DispatchOnce on a closed store succeeded")
	}
	if got := value(t, reg, "pacer_store_errors_total", "op=dispatch"); got != 1 {
		t.Errorf("store errors{op=dispatch} = %v, want 1", got)
	}

	fl := &failingLedger{}
	ledger := jobs.CountLedger(fl, m)
	now := time.Now()
	for _, e := range []error{nil, store.ErrConflict, fmt.Errorf("x: %w", store.ErrNotFound), context.Canceled} {
		fl.err = e
		_, _, _ = ledger.SpendQuota(t.Context(), "q", 1, time.Second, 1, now)
	}
	if got := value(t, reg, "pacer_store_errors_total", "op=ledger"); got != 0 {
		t.Errorf("store errors{op=ledger} after answers and a cancellation = %v, want 0", got)
	}
	fl.err = errors.New("connection refused")
	_, _, _ = ledger.SpendQuota(t.Context(), "q", 1, time.Second, 1, now)
	_, _, _, _, _ = ledger.TakeWindow(t.Context(), "q", 1, time.Second, 0, 1, now)
	_ = ledger.ObserveWindow(t.Context(), "q", 1, 1, 1, 0, now, now)
	if err := ledger.BlockQuota(t.Context(), "q", now); err != fl.err {
		t.Errorf("BlockQuota returned %v, not the ledger's error", err)
	}
	if got := value(t, reg, "pacer_store_errors_total", "op=ledger"); got != 4 {
		t.Errorf("store errors{op=ledger} after four failures = %v, want 4", got)
	}
	lintRegistry(t, reg)
}

// failingLedger returns err from every method.
type failingLedger struct{ err error }

func (f *failingLedger) SpendQuota(context.Context, string, int, time.Duration, int, time.Time) (bool, time.Time, error) {
	return false, time.Time{}, f.err
}

func (f *failingLedger) TakeWindow(context.Context, string, int, time.Duration, time.Duration, int, time.Time) (bool, int64, int, time.Time, error) {
	return false, 0, 0, time.Time{}, f.err
}

func (f *failingLedger) ObserveWindow(context.Context, string, int64, int, int, int, time.Time, time.Time) error {
	return f.err
}

func (f *failingLedger) BlockQuota(context.Context, string, time.Time) error { return f.err }

var _ ratelimit.Ledger = (*failingLedger)(nil)

// pacer_store_up follows the store; the credential info names each quota's
// credential.
func TestStoreUpAndCredentialQuotas(t *testing.T) {
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "pacer.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(jobs.NewStoreCollector(s, time.Second))
	jobs.RegisterCredentialQuotas(reg, jobs.Credentials{
		"b": {Name: "b", Quotas: []ratelimit.Quota{{Key: "b-15m", Limit: 900, Window: 15 * time.Minute}, {Key: "b-24h", Limit: 10000, Window: 24 * time.Hour}}},
		"a": {Name: "a"},
	})
	want := `# HELP pacer_credential_quota_info Always 1: which declared credential each quota belongs to.
# TYPE pacer_credential_quota_info gauge
pacer_credential_quota_info{credential="b",quota="b-15m"} 1
pacer_credential_quota_info{credential="b",quota="b-24h"} 1
# HELP pacer_store_up 1 if the store answered a ping at scrape time, else 0.
# TYPE pacer_store_up gauge
pacer_store_up 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	s.Close()
	if got := value(t, reg, "pacer_store_up", ""); got != 0 {
		t.Errorf("pacer_store_up with the store closed = %v, want 0", got)
	}
	lintRegistry(t, reg)
}
