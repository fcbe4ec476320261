package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

// sendFunc is a NotifySender made of a function.
type sendFunc func(ctx context.Context, target string, m notify.Message) error

func (f sendFunc) Send(ctx context.Context, target string, m notify.Message) error {
	return f(ctx, target, m)
}

// TestNotifierSendsWithinLease checks that each send starts with a whole
// lease, not what is left of it after the sends before: two notifications
// are due, notifier A sends them one after the other, each within the
// lease but both together not, and notifier B (another process) looks
// during the second. Each is sent once.
func TestNotifierSendsWithinLease(t *testing.T) {
	ctx := t.Context()
	s, err := postgres.Open(ctx, postgres.Config{URL: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		clock = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
		sent  = map[string]int{} // delivery id → sends
	)
	nowFunc := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	for range 2 {
		j, err := s.CreateJob(ctx, store.NewJob{Kind: "k", Params: []byte(`{}`), Credential: "c",
			NotifyWebhook: "http://127.0.0.1:1/hook"}, clock, from1())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelJob(ctx, j.ID, clock); err != nil {
			t.Fatal(err)
		}
	}
	record := func(m notify.Message) {
		mu.Lock()
		defer mu.Unlock()
		sent[m.DeliveryID]++
	}
	newN := func(owner string, send sendFunc) *jobs.Notifier {
		n, err := jobs.NewNotifier(jobs.NotifierConfig{Store: s, Webhook: send, Owner: owner, Lease: time.Minute,
			NowFunc: nowFunc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	b := newN("b", func(_ context.Context, _ string, m notify.Message) error { record(m); return nil })
	calls := 0
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
	}
	a := newN("a", func(ctx context.Context, _ string, m notify.Message) error {
		// Each send takes 40 s, within the lease; B looks 30 s into the
		// second one.
		record(m)
		calls++
		advance(30 * time.Second)
		if calls == 2 {
			if _, err := b.DeliverOnce(ctx); err != nil {
				t.Errorf("B: %v", err)
			}
		}
		advance(10 * time.Second)
		return nil
	})
	if _, err := a.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 {
		t.Fatalf("sent %v, want both notifications", sent)
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("delivery %s sent %d times, want once", id, n)
		}
	}
}
