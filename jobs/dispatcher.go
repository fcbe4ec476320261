package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/store"
)

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Store  store.Store   // required
	Broker broker.Broker // required
	// Interval is how often the dispatcher looks for due tasks when nobody
	// nudges it. Default 250ms.
	Interval time.Duration
	// RepublishAfter is how long a published task may stay unclaimed before
	// the dispatcher takes its message for lost and publishes it again.
	// Default 10m.
	RepublishAfter time.Duration
	// RepublishOnStart makes the first round publish every due task that is
	// not leased, in flight or not. Set it when the broker keeps nothing
	// across restarts (the in-process queue): the messages of tasks
	// published before a restart are gone, and waiting RepublishAfter for
	// them would stall every job that was running.
	RepublishOnStart bool
	// Batch is how many tasks one store round trip dispatches. Default 500.
	Batch   int
	Logger  *slog.Logger // default slog.Default()
	Metrics *Metrics     // optional
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
}

// Dispatcher publishes tasks that are due and not in flight: new tasks, tasks
// whose backoff or quota wait has passed, tasks whose worker died, and tasks
// whose message was lost (DESIGN.md, invariant 1). Several dispatchers may run
// against one store: the store hands each due task to one of them per round.
// It is safe for concurrent use.
type Dispatcher struct {
	cfg   DispatcherConfig
	nudge chan struct{}

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// NewDispatcher returns a Dispatcher for cfg.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Store == nil || cfg.Broker == nil {
		return nil, errors.New("dispatcher config: Store and Broker are required")
	}
	if cfg.Interval == 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.RepublishAfter == 0 {
		cfg.RepublishAfter = 10 * time.Minute
	}
	if cfg.Batch == 0 {
		cfg.Batch = 500
	}
	if cfg.Interval < 0 || cfg.RepublishAfter < 0 || cfg.Batch < 0 {
		return nil, fmt.Errorf("dispatcher config: Interval, RepublishAfter and Batch must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Dispatcher{cfg: cfg, nudge: make(chan struct{}, 1)}, nil
}

// Nudge makes the dispatcher look for due tasks now rather than at its next
// tick. It never blocks.
func (d *Dispatcher) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Start runs the dispatch loop until Stop or until ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return nil
	}
	ctx, d.stop = context.WithCancel(ctx)
	d.started, d.done = true, make(chan struct{})
	go func() {
		defer close(d.done)
		d.loop(ctx)
	}()
	return nil
}

// Stop ends the loop and waits for a round in progress to finish or for ctx
// to end. Calling it twice, or before Start, is fine.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.started {
		d.mu.Unlock()
		return nil
	}
	d.stop()
	done := d.done
	d.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Dispatcher) loop(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	failures := 0
	republishAfter := d.cfg.RepublishAfter
	if d.cfg.RepublishOnStart {
		republishAfter = 0
	}
	for {
		_, err := d.dispatch(ctx, republishAfter)
		if err == nil {
			republishAfter = d.cfg.RepublishAfter
		}
		if err != nil && ctx.Err() == nil {
			failures++
			if failures == 1 || failures%40 == 0 {
				d.cfg.Logger.WarnContext(ctx, "dispatch failed", "err", err, "failures", failures)
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.nudge:
		}
	}
}

// DispatchOnce publishes every task that is due now, in batches, and returns
// how many it published.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	return d.dispatch(ctx, d.cfg.RepublishAfter)
}

// dispatch runs one round. The round keeps one "now", so that with
// republishAfter 0 the tasks it stamps are not picked again within it.
func (d *Dispatcher) dispatch(ctx context.Context, republishAfter time.Duration) (int, error) {
	total := 0
	now := d.cfg.NowFunc()
	for {
		ids, err := d.cfg.Store.DispatchDue(ctx, now, republishAfter, d.cfg.Batch)
		if err != nil {
			d.cfg.Metrics.storeError(StoreOpDispatch, err)
			return total, fmt.Errorf("find due tasks: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		if err := d.cfg.Broker.Publish(ctx, ids...); err != nil {
			// Put them back at once, so the next round retries them rather
			// than waiting RepublishAfter.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			uerr := d.cfg.Store.Undispatch(uctx, ids)
			cancel()
			d.cfg.Metrics.storeError(StoreOpDispatch, uerr)
			return total, errors.Join(fmt.Errorf("publish %d tasks: %w", len(ids), err), uerr)
		}
		total += len(ids)
		d.cfg.Metrics.publish(len(ids))
		if len(ids) < d.cfg.Batch {
			return total, nil
		}
	}
}
