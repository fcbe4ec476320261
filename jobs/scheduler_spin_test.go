package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// busyStore answers FireDue as a store does while another process holds a
// due schedule's row: nothing to fire, and a next due time already past.
type busyStore struct {
	store.Store // only FireDue is called
	calls       atomic.Int64
}

func (b *busyStore) FireDue(context.Context, store.FireDue) (store.FireResult, error) {
	b.calls.Add(1)
	return store.FireResult{NextDue: time.Now().Add(-time.Second)}, nil
}

// While another process fires a due schedule, the scheduler looks again
// every 20 ms or so, not at once: without a floor on its wait it called
// FireDue back to back, thousands of times a second. The bound only limits
// calls from above, so a slow machine cannot fail it.
func TestSchedulerDoesNotSpinOnABusySchedule(t *testing.T) {
	t.Parallel()
	bs := &busyStore{}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: bs, Kinds: &jobs.Registry{}})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jobs.NewScheduler(jobs.SchedulerConfig{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := sch.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the span over which calls are counted, not a wait for a result
	if err := sch.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	if n, most := bs.calls.Load(), int64(elapsed/(20*time.Millisecond))+2; n > most {
		t.Fatalf("FireDue called %d times in %s; want at most %d (one per 20 ms)", n, elapsed, most)
	}
}
