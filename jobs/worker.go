package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Store       store.Store        // required
	Broker      broker.Broker      // required
	Kinds       *Registry          // required
	Credentials Credentials        // the credentials jobs name
	Pools       Pools              // the pools jobs name
	Limiter     *ratelimit.Limiter // required when a credential has a quota
	// Concurrency is how many tasks run at once; it is also the broker
	// prefetch. Default 4.
	Concurrency int
	// TaskTimeout bounds one attempt. Default 1m.
	TaskTimeout time.Duration
	// Lease is how long a claim keeps other workers off a task; a worker
	// that dies holding one delays the task by at most this much. It must
	// exceed TaskTimeout so that a live attempt never loses its lease.
	// Default TaskTimeout + 30s.
	Lease time.Duration
	// MaxAttempts is how many attempts a task gets before it fails for
	// good; throttled attempts do not count. Default 5.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the exponential backoff between
	// attempts, with jitter. Defaults 1s and 5m.
	BackoffMin, BackoffMax time.Duration
	// HTTPTransport carries upstream requests. Default http.DefaultTransport.
	HTTPTransport http.RoundTripper
	// Owner names this worker in task leases. Default host-pid-random.
	Owner   string
	Logger  *slog.Logger // default slog.Default()
	Metrics *Metrics     // optional
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
}

func (c *WorkerConfig) validate() error {
	if c.Store == nil || c.Broker == nil || c.Kinds == nil {
		return errors.New("worker config: Store, Broker and Kinds are required")
	}
	for _, cr := range c.Credentials {
		if len(cr.Quotas) > 0 && c.Limiter == nil {
			return fmt.Errorf("worker config: credential %s has a quota but no Limiter is set", cr.Name)
		}
	}
	if err := c.Pools.Validate(c.Credentials); err != nil {
		return fmt.Errorf("worker config: pools.%w", err)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.TaskTimeout == 0 {
		c.TaskTimeout = time.Minute
	}
	if c.Lease == 0 {
		c.Lease = c.TaskTimeout + 30*time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
	switch {
	case c.Concurrency < 0:
		return fmt.Errorf("worker config: Concurrency %d is negative", c.Concurrency)
	case c.TaskTimeout < 0 || c.Lease <= c.TaskTimeout:
		return fmt.Errorf("worker config: Lease %s must exceed TaskTimeout %s", c.Lease, c.TaskTimeout)
	case c.MaxAttempts < 1:
		return fmt.Errorf("worker config: MaxAttempts %d is below 1", c.MaxAttempts)
	case c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("worker config: backoff %s..%s is not a range", c.BackoffMin, c.BackoffMax)
	}
	if c.HTTPTransport == nil {
		c.HTTPTransport = http.DefaultTransport
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	return nil
}

// Worker consumes task deliveries and runs them. Start it once; Stop it
// once (more calls are harmless). It is safe for concurrent use.
type Worker struct {
	cfg     WorkerConfig
	log     *slog.Logger
	retired *retiredSet // credentials the upstream refused

	mu      sync.Mutex
	started bool
	stopped bool
	quit    chan struct{}      // closed by Stop: take no new deliveries
	hard    context.CancelFunc // cancels running attempts
	consume context.CancelFunc // ends the broker consumer
	wg      sync.WaitGroup
	active  atomic.Int64
}

// NewWorker returns a Worker for cfg.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("owner", cfg.Owner)
	return &Worker{
		cfg: cfg, log: log, quit: make(chan struct{}),
		retired: &retiredSet{store: cfg.Store, refresh: 5 * time.Second, now: cfg.NowFunc, log: log},
	}, nil
}

// Start begins consuming with Concurrency handlers. ctx bounds the whole
// life of the worker: cancelling it is a hard stop. Use Stop for a graceful
// one.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopped {
		return nil
	}
	consumeCtx, consume := context.WithCancel(ctx)
	deliveries, err := w.cfg.Broker.Consume(consumeCtx, w.cfg.Concurrency)
	if err != nil {
		consume()
		return fmt.Errorf("start worker: %w", err)
	}
	hardCtx, hard := context.WithCancel(ctx)
	w.started, w.hard, w.consume = true, hard, consume
	for slot := range w.cfg.Concurrency {
		// Each slot leases under a name of its own: the store lets a lease's
		// holder claim its task again (a redelivery after a reconnect), and
		// that must not let a second slot of this process run a task the
		// first is still running.
		owner := fmt.Sprintf("%s/%d", w.cfg.Owner, slot)
		w.wg.Go(func() { w.loop(hardCtx, owner, deliveries) })
	}
	w.cfg.Metrics.setSlots(w.cfg.Concurrency)
	w.log.InfoContext(ctx, "worker started", "concurrency", w.cfg.Concurrency)
	return nil
}

// Stop stops taking deliveries and lets running attempts finish until ctx
// ends; then it cancels them, and each saves its task for another run
// without using up an attempt. Deliveries taken but not started go back to
// the broker. Stop returns once every handler has returned.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return nil
	}
	w.stopped = true
	close(w.quit)
	started := w.started
	w.mu.Unlock()
	if !started {
		return nil
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		w.log.Warn("grace period over, cancelling running tasks", "active", w.active.Load())
		w.hard()
		<-done
	}
	w.hard()
	w.consume()
	w.cfg.Metrics.setSlots(0)
	w.log.Info("worker stopped")
	return nil
}

func (w *Worker) loop(ctx context.Context, owner string, deliveries <-chan broker.Delivery) {
	for {
		select {
		case <-w.quit:
			return
		case d, ok := <-deliveries:
			if !ok {
				return
			}
			select {
			case <-w.quit:
				_ = d.Requeue()
				return
			default:
			}
			w.active.Add(1)
			w.cfg.Metrics.busySlot(1)
			w.handle(ctx, owner, d)
			w.cfg.Metrics.busySlot(-1)
			w.active.Add(-1)
		}
	}
}

// handle runs one delivery: claim, attempt, commit, ack.
func (w *Worker) handle(ctx context.Context, owner string, d broker.Delivery) {
	id := d.TaskID()
	log := w.log.With("task_id", id)
	if d.Redelivered() {
		w.cfg.Metrics.redelivered()
	}
	now := w.cfg.NowFunc()
	task, job, err := w.cfg.Store.ClaimTask(ctx, id, owner, now, now.Add(w.cfg.Lease))
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		// Done, cancelled, paused, leased elsewhere or not yet due: the
		// store has it, and the dispatcher republishes it when it is due.
		log.DebugContext(ctx, "delivery skipped", "err", err)
		w.cfg.Metrics.delivery(DeliverySkipped)
		_ = d.Ack()
		return
	case err != nil:
		log.WarnContext(ctx, "claim failed, returning delivery", "err", err)
		w.cfg.Metrics.storeError(StoreOpClaim, err)
		w.cfg.Metrics.delivery(DeliveryRequeued)
		select { // do not spin on a store that is down
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		_ = d.Requeue()
		return
	}
	w.cfg.Metrics.delivery(DeliveryProcessed)
	log = log.With("job_id", job.ID, "kind", job.Kind, "attempt", task.Attempts)
	outcome, requests, runErr := w.attempt(ctx, task, job)
	hardStopped := ctx.Err() != nil && errors.Is(runErr, context.Canceled)
	if err := w.save(ctx, log, owner, task, job, outcome, requests, runErr, hardStopped, now); err != nil {
		// Not committed: the lease keeps the task from others until it
		// expires, then the dispatcher republishes it.
		log.ErrorContext(ctx, "save task outcome", "err", err)
		w.cfg.Metrics.storeError(StoreOpFinish, err)
		_ = d.Requeue()
		return
	}
	if err := d.Ack(); err != nil {
		log.DebugContext(ctx, "ack after commit failed; the redelivery will be skipped", "err", err)
	}
}

// attempt runs the task's kind, turning a panic into an error.
func (w *Worker) attempt(ctx context.Context, task store.Task, job store.Job) (out Outcome, requests int, err error) {
	kind, ok := w.cfg.Kinds.Lookup(job.Kind)
	if !ok {
		return Outcome{}, 0, Permanent(fmt.Errorf("kind %q is not registered in this worker", job.Kind))
	}
	creds, ok := w.cfg.Credentials.resolve(job.Credential, w.cfg.Pools)
	if !ok {
		return Outcome{}, 0, Permanent(fmt.Errorf("credential or pool %q is not configured in this worker", job.Credential))
	}
	var sent atomic.Int64
	client := &http.Client{Transport: &upstreamTransport{
		base: w.cfg.HTTPTransport, limiter: w.cfg.Limiter, name: job.Credential, creds: creds,
		retired: w.retired, sent: &sent, metrics: w.cfg.Metrics, log: w.log, now: w.cfg.NowFunc,
	}}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.TaskTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("task panicked", "task_id", task.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("task panicked: %v", r)
		}
		requests = int(sent.Load())
	}()
	out, err = kind.Do(ctx, Attempt{
		JobID: job.ID, TaskID: task.ID, Number: task.Attempts,
		Params: job.Params, Payload: task.Payload, HTTP: client,
	})
	return out, 0, err
}

// save commits the attempt's outcome. It uses a context that survives a
// hard stop, briefly, so that a cancelled attempt still saves its task.
func (w *Worker) save(ctx context.Context, log *slog.Logger, owner string, task store.Task, job store.Job, out Outcome, requests int, runErr error, hardStopped bool, started time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := w.cfg.NowFunc()
	elapsed := now.Sub(started)
	if runErr == nil {
		results := make([]store.Result, len(out.Rows))
		for i, r := range out.Rows {
			results[i] = store.Result{Key: r.Key, Status: store.ResultStatus(r.Status), Data: r.Data, Error: r.Reason}
		}
		follow := make([]store.NewTask, len(out.Next))
		for i, t := range out.Next {
			follow[i] = store.NewTask{Payload: t.Payload, Items: t.Items}
		}
		var instances []store.Instance
		if len(out.Instances) > 0 {
			instances = make([]store.Instance, len(out.Instances))
			for i, in := range out.Instances {
				instances[i] = store.Instance{Scope: in.Scope, Key: in.Key, Annotator: in.Annotator}
			}
		}
		j, err := w.cfg.Store.CompleteTask(ctx, store.Completion{
			TaskID: task.ID, Owner: owner, Results: results, FollowUps: follow,
			Requests: requests, Now: now, Finish: Finish, Instances: instances,
		})
		if err != nil {
			return err
		}
		w.cfg.Metrics.task(job.Kind, OutcomeDone, elapsed)
		w.cfg.Metrics.committed(job.Kind, results)
		log.DebugContext(ctx, "task done", "rows", len(results), "instances", len(instances), "requests", requests)
		w.logFinished(ctx, j)
		return nil
	}

	var throttled *ratelimit.ThrottledError
	var snooze *SnoozeError
	until, waitQuota := time.Time{}, ""
	switch {
	case errors.As(runErr, &throttled):
		until, waitQuota = throttled.Until, throttled.Key
	case errors.As(runErr, &snooze):
		until = snooze.Until
	}
	if !until.IsZero() {
		// Waiting is not failing: no attempt is used, and a little jitter
		// keeps the tasks that wait on one reset from arriving as one herd.
		runAt := until.Add(rand.N(250 * time.Millisecond))
		err := w.cfg.Store.RetryTask(ctx, store.Retry{TaskID: task.ID, Owner: owner, RunAt: runAt, Requests: requests, Refund: true, WaitQuota: waitQuota, Now: now})
		if err != nil {
			return err
		}
		w.cfg.Metrics.task(job.Kind, OutcomeSnoozed, elapsed)
		log.DebugContext(ctx, "task waits for quota", "until", until)
		return nil
	}
	if hardStopped {
		// Stop's grace period ran out: the task goes back whole, and the
		// attempt it did not finish is not counted.
		err := w.cfg.Store.RetryTask(ctx, store.Retry{TaskID: task.ID, Owner: owner, RunAt: now, Requests: requests, Refund: true, Now: now})
		if err != nil {
			return err
		}
		w.cfg.Metrics.task(job.Kind, OutcomeReturned, elapsed)
		log.InfoContext(ctx, "task returned at shutdown")
		return nil
	}

	msg := errorText(runErr)
	if IsPermanent(runErr) || task.Attempts >= w.cfg.MaxAttempts {
		j, err := w.cfg.Store.FailTask(ctx, store.Failure{TaskID: task.ID, Owner: owner, Error: msg, Requests: requests, Now: now, Finish: Finish})
		if err != nil {
			return err
		}
		w.cfg.Metrics.task(job.Kind, OutcomeFailed, elapsed)
		log.WarnContext(ctx, "task failed", "err", msg)
		w.logFinished(ctx, j)
		return nil
	}
	wait := Backoff(task.Attempts, w.cfg.BackoffMin, w.cfg.BackoffMax)
	err := w.cfg.Store.RetryTask(ctx, store.Retry{TaskID: task.ID, Owner: owner, RunAt: now.Add(wait), Error: msg, Requests: requests, Now: now})
	if err != nil {
		return err
	}
	w.cfg.Metrics.task(job.Kind, OutcomeRetried, elapsed)
	log.WarnContext(ctx, "task will retry", "wait", wait, "err", msg)
	return nil
}

func (w *Worker) logFinished(ctx context.Context, j store.Job) {
	if j.State.Finished() {
		w.log.InfoContext(ctx, "job finished", "job_id", j.ID, "state", j.State, "summary", j.Summary)
	}
}

// Backoff is the wait before attempt+1 after attempt failed: exponential
// from lo, capped at hi, with jitter over its upper half so that tasks failing
// together do not retry together.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// errorText is what the store and the page show of an error: bounded, and
// with a request URL cut to its scheme, host and path. The query goes: it
// is long (a hundred ids) and some APIs carry keys in it; userinfo goes too.
func errorText(err error) string {
	s := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			// Wrappers formatted the URL into their text already: replace
			// it there, on a copy.
			short := *ue
			u.User, u.RawQuery, u.Fragment = nil, "", ""
			short.URL = u.String()
			s = strings.ReplaceAll(s, ue.Error(), short.Error())
		}
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
