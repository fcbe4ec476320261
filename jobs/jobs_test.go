package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/inproc"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
	"github.com/pacerhq/pacer/store/postgres/pgtest"
	"github.com/pacerhq/pacer/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

const firstID = 1460323737035677698

func ids(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strconv.FormatUint(firstID+uint64(i), 10))
		b.WriteByte('\n')
	}
	return b.String()
}

// rig is the embedded pipeline: SQLite, the in-process broker, a
// dispatcher, a worker and a sandbox upstream.
type rig struct {
	store   store.Store
	broker  broker.Broker
	sandbox *sandbox.Server
	service *jobs.Service
	disp    *jobs.Dispatcher
	worker  *jobs.Worker
	kinds   *jobs.Registry
	creds   jobs.Credentials
}

type rigConfig struct {
	learn bool // declare no quota: pacer learns the upstream's
	// pool makes "main" a pool of credentials "a" and "b" (tokens good-token
	// and good-token-2), each with quotas named a and b like quotas.
	pool    bool
	sandbox sandbox.Config
	quotas  []ratelimit.Quota
	token   string
	worker  func(*jobs.WorkerConfig)
	// postgres puts the store in PostgreSQL (a schema of the test's own)
	// instead of SQLite: for the tests of many rows, since under -race the
	// pure-Go SQLite engine is instrumented too and runs many times slower.
	postgres bool
}

func newRig(t *testing.T, rc rigConfig) *rig {
	t.Helper()
	ctx := t.Context()
	var s store.Store
	var err error
	if rc.postgres {
		s, err = postgres.Open(ctx, postgres.Config{URL: pgtest.Schema(t)})
	} else {
		s, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "pacer.db")})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rc.sandbox.Tokens = []string{"good-token", "good-token-2"}
	sb, err := sandbox.New(rc.sandbox)
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(sb)
	t.Cleanup(upstream.Close)
	lookup, err := tweets.NewLookup(tweets.Config{BaseURL: upstream.URL})
	if err != nil {
		t.Fatal(err)
	}
	kinds := &jobs.Registry{}
	kinds.Register(lookup)
	if rc.token == "" {
		rc.token = "good-token"
	}
	if rc.quotas == nil && !rc.learn {
		// Tests of other things declare a quota too large to matter, so
		// that no learning slows them.
		rc.quotas = []ratelimit.Quota{{Key: "main", Limit: 1_000_000, Window: time.Second}}
	}
	creds := jobs.Credentials{"main": {Name: "main", Token: rc.token, Quotas: rc.quotas}}
	var pools jobs.Pools
	if rc.pool {
		rename := func(key string) []ratelimit.Quota {
			var qs []ratelimit.Quota
			for _, q := range rc.quotas {
				q.Key = key
				qs = append(qs, q)
			}
			return qs
		}
		creds = jobs.Credentials{
			"a": {Name: "a", Token: "good-token", Quotas: rename("a")},
			"b": {Name: "b", Token: "good-token-2", Quotas: rename("b")},
		}
		pools = jobs.Pools{"main": {"a", "b"}}
	}
	b := inproc.New()
	t.Cleanup(func() { b.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	disp, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: s, Broker: b, Interval: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := ratelimit.NewLimiter(ratelimit.Config{Ledger: s, Margin: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wc := jobs.WorkerConfig{
		Store: s, Broker: b, Kinds: kinds, Credentials: creds, Pools: pools, Limiter: limiter,
		Concurrency: 4, TaskTimeout: 5 * time.Second, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Logger: log,
	}
	if rc.worker != nil {
		rc.worker(&wc)
	}
	w, err := jobs.NewWorker(wc)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds, Credentials: creds, Pools: pools, Nudge: disp.Nudge})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{store: s, broker: b, sandbox: sb, service: svc, disp: disp, worker: w, kinds: kinds, creds: creds}
}

func (r *rig) start(t *testing.T) {
	t.Helper()
	if err := r.worker.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.disp.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.worker.Stop(ctx)
		r.disp.Stop(ctx)
	})
}

func (r *rig) submit(t *testing.T, n int) store.Job {
	t.Helper()
	j, err := r.service.Submit(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(n))})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (r *rig) waitFinished(t *testing.T, id int64) store.Job {
	t.Helper()
	// Generous: 300,000 rows under -race on a loaded machine, where the
	// suite's other packages run at the same time. Not a speed check (pacer
	// bench rows is): only a bound on a hung job.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		j, err := r.store.GetJob(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Finished() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d did not finish: %+v", id, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJobRunsEveryItemOnceWithinQuota(t *testing.T) {
	r := newRig(t, rigConfig{
		sandbox: sandbox.Config{Limit: 4, Window: 400 * time.Millisecond},
		quotas:  []ratelimit.Quota{{Key: "main", Limit: 4, Window: 400 * time.Millisecond}},
	})
	r.start(t)
	j := r.submit(t, 1234)
	if j.TasksTotal != 13 || j.ItemsTotal != 1234 || j.State != store.JobQueued {
		t.Fatalf("submitted job %+v: want 13 tasks, 1234 items, queued", j)
	}
	j = r.waitFinished(t, j.ID)
	if j.State != store.JobSucceeded || j.ItemsDone != 1234 || j.Requests != 13 || j.TasksDone != 13 {
		t.Fatalf("finished job %+v", j)
	}
	if !strings.Contains(j.Summary, "1,234 of 1,234 items") {
		t.Errorf("summary %q", j.Summary)
	}
	counts, err := r.store.CountResults(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.ResultOK]+counts[store.ResultNotFound] != 1234 || counts[store.ResultNotFound] == 0 {
		t.Fatalf("result counts %v", counts)
	}
	s := r.sandbox.Stats()
	if s.OverQuota != 0 || s.Served != 13 || s.IDsRepeated != 0 {
		t.Fatalf("sandbox %+v: want 13 served, none over quota or repeated", s)
	}
}

func TestRetriesUpstreamErrors(t *testing.T) {
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 30, MalformedPercent: 10, DropPercent: 10}, Seed: 7},
		worker: func(c *jobs.WorkerConfig) { c.MaxAttempts = 30 }})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 2000).ID)
	if j.State != store.JobSucceeded || j.ItemsDone != 2000 || j.ItemsFailed != 0 {
		t.Fatalf("job %+v", j)
	}
	s := r.sandbox.Stats()
	if s.Faulted == 0 || j.Requests != int64(s.Requests) {
		t.Fatalf("sandbox %+v, job requests %d: want faults, and every request counted", s, j.Requests)
	}
	if s.Served != 20 || s.IDsRepeated != 0 {
		t.Fatalf("sandbox %+v: each task served exactly once", s)
	}
}

func TestPermanentErrorFailsJob(t *testing.T) {
	r := newRig(t, rigConfig{token: "revoked-token"})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 250).ID)
	if j.State != store.JobFailed || j.ItemsFailed != 250 || j.TasksFailed != 3 {
		t.Fatalf("job %+v: want failed with 250 items failed", j)
	}
	if !strings.Contains(j.Summary, "0 of 250 items, 250 failed") {
		t.Errorf("summary %q", j.Summary)
	}
	errored, err := r.store.ListErroredTasks(t.Context(), j.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	said401 := false
	for _, task := range errored {
		said401 = said401 || strings.Contains(task.LastError, "401 Unauthorized")
		if strings.Contains(task.LastError, "?ids=") {
			t.Errorf("task error carries the request's query: %q", task.LastError)
		}
	}
	if !said401 {
		t.Errorf("no task error names the 401: %+v", errored)
	}
	if strings.Contains(j.Summary, "revoked-token") || strings.Contains(j.LastError, "revoked-token") {
		t.Fatalf("the token leaked into the job: %q / %q", j.Summary, j.LastError)
	}
	// The first 401 retires the credential; tasks after it fail without a
	// request.
	if s := r.sandbox.Stats(); s.Unauthorized < 1 || s.Unauthorized > 3 || s.Requests != s.Unauthorized {
		t.Fatalf("sandbox %+v: a 401 must not be retried", s)
	}
	if retired, err := r.store.ListRetiredCredentials(t.Context()); err != nil || len(retired) != 1 || retired[0].Name != "main" {
		t.Fatalf("retired %+v, %v: want main", retired, err)
	}
}

func TestExhaustedAttemptsFailTask(t *testing.T) {
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 100}},
		worker: func(c *jobs.WorkerConfig) { c.MaxAttempts = 3 }})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 100).ID)
	if j.State != store.JobFailed || j.TasksFailed != 1 || j.Requests != 3 {
		t.Fatalf("job %+v: want failed after 3 requests", j)
	}
	tasks, err := r.store.ListErroredTasks(t.Context(), j.ID, 10)
	if err != nil || len(tasks) != 1 || tasks[0].Attempts != 3 || !strings.Contains(tasks[0].LastError, "503") {
		t.Fatalf("errored tasks %+v, %v", tasks, err)
	}
}

// A redelivered message for a task that is done is acknowledged without
// calling the upstream again (invariant 2).
func TestRedeliveryOfDoneTaskIsSkipped(t *testing.T) {
	r := newRig(t, rigConfig{})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 300).ID)
	before := r.sandbox.Stats().Requests
	var taskIDs []int64
	for id := int64(1); id <= j.TasksTotal; id++ {
		taskIDs = append(taskIDs, id)
	}
	if err := r.broker.Publish(t.Context(), taskIDs...); err != nil {
		t.Fatal(err)
	}
	// Wait until the worker has seen them: a job submitted after them
	// finishes after them, since the queue is FIFO and the worker drains it.
	r.waitFinished(t, r.submit(t, 1).ID)
	if got := r.sandbox.Stats().Requests - before; got != 1 {
		t.Fatalf("%d upstream requests after redelivering done tasks, want 1 (the new job's)", got)
	}
}

// The dispatcher republishes a task whose message was lost (invariant 1).
func TestDispatcherRepublishesLostMessages(t *testing.T) {
	r := newRig(t, rigConfig{})
	ctx := t.Context()
	lost := &dropBroker{}
	j := r.submit(t, 100)
	now := time.Now()
	disp, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: r.store, Broker: lost, RepublishAfter: time.Minute, NowFunc: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := disp.DispatchOnce(ctx); err != nil || n != 1 {
		t.Fatalf("first dispatch = %d, %v; want 1", n, err)
	}
	if n, _ := disp.DispatchOnce(ctx); n != 0 {
		t.Fatalf("a task in flight was published again at once (%d)", n)
	}
	now = now.Add(2 * time.Minute)
	if n, err := disp.DispatchOnce(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch after RepublishAfter = %d, %v; want the lost task again", n, err)
	}
	if lost.published.Load() != 2 {
		t.Fatalf("published %d times, want 2", lost.published.Load())
	}
	// A publish that fails leaves the task dispatchable at once.
	lost.fail = true
	now = now.Add(2 * time.Minute)
	if _, err := disp.DispatchOnce(ctx); err == nil {
		t.Fatal("a failed publish reported no error")
	}
	lost.fail = false
	if n, err := disp.DispatchOnce(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch after a failed publish = %d, %v; want 1", n, err)
	}
	// A dispatcher on the real queue, later still, publishes it once more,
	// and a worker finishes the job.
	later := now.Add(2 * time.Minute)
	real, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: r.store, Broker: r.broker, RepublishAfter: time.Minute, NowFunc: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := real.DispatchOnce(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch to the real queue = %d, %v; want 1", n, err)
	}
	if err := r.worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.worker.Stop(context.Background())
	if j = r.waitFinished(t, j.ID); j.State != store.JobSucceeded {
		t.Fatalf("job %+v", j)
	}
}

// dropBroker loses every message it is given.
type dropBroker struct {
	published atomic.Int64
	fail      bool
}

func (b *dropBroker) Publish(_ context.Context, ids ...int64) error {
	if b.fail {
		return errors.New("broker down")
	}
	b.published.Add(int64(len(ids)))
	return nil
}
func (b *dropBroker) Consume(context.Context, int) (<-chan broker.Delivery, error) {
	return nil, errors.New("not for consuming")
}
func (b *dropBroker) Close() error { return nil }

// Waiting for a quota is not failing: the task is snoozed, uses no attempt,
// and the delivery is not held.
func TestQuotaWaitSnoozesWithoutUsingAttempts(t *testing.T) {
	r := newRig(t, rigConfig{
		sandbox: sandbox.Config{Limit: 2, Window: time.Second},
		quotas:  []ratelimit.Quota{{Key: "main", Limit: 2, Window: time.Second}},
		worker: func(c *jobs.WorkerConfig) {
			c.MaxAttempts = 1 // a throttled attempt that counted would fail the job
			l, _ := ratelimit.NewLimiter(ratelimit.Config{Ledger: c.Store, Margin: 200 * time.Millisecond, MaxWait: -1})
			c.Limiter = l
		},
	})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 600).ID)
	if j.State != store.JobSucceeded || j.Requests != 6 {
		t.Fatalf("job %+v: want success in 6 requests", j)
	}
	if s := r.sandbox.Stats(); s.OverQuota != 0 {
		t.Fatalf("sandbox %+v", s)
	}
}

func TestSubmitValidation(t *testing.T) {
	r := newRig(t, rigConfig{})
	tests := []struct {
		name  string
		sub   jobs.Submission
		field string
	}{
		{"unknown kind", jobs.Submission{Kind: "nope", Credential: "main", Items: strings.NewReader("1\n")}, "kind"},
		{"no kind", jobs.Submission{Credential: "main", Items: strings.NewReader("1\n")}, "kind"},
		{"no credential", jobs.Submission{Kind: "tweet_lookup", Items: strings.NewReader("1\n")}, "credential"},
		{"unknown credential", jobs.Submission{Kind: "tweet_lookup", Credential: "other", Items: strings.NewReader("1\n")}, "credential"},
		{"no ids", jobs.Submission{Kind: "tweet_lookup", Credential: "main"}, "ids"},
		{"only comments", jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader("# x\n\n")}, "ids"},
		// The bad id comes after 300 good ones: the tasks already planned
		// must be rolled back with it.
		{"bad id late", jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(300) + "12x\n")}, "ids"},
		{"bad params", jobs.Submission{Kind: "tweet_lookup", Credential: "main", Params: []byte(`{"colour":1}`), Items: strings.NewReader("1\n")}, "params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.service.Submit(t.Context(), tt.sub)
			var ve *jobs.ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, tt.field) {
				t.Fatalf("Submit error = %v, want a validation error of %s", err, tt.field)
			}
		})
	}
	list, err := r.store.ListJobs(t.Context(), store.JobFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("bad submissions left jobs %v (%v)", list, err)
	}
	if n, err := r.disp.DispatchOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("bad submissions left %d tasks to dispatch (%v)", n, err)
	}
}

// Stop lets a running task finish and leaves nothing half done.
func TestWorkerStopFinishesRunningTasks(t *testing.T) {
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Faults: sandbox.Faults{Latency: 300 * time.Millisecond}}})
	if err := r.worker.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.disp.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	j := r.submit(t, 1000)
	deadline := time.Now().Add(10 * time.Second)
	for r.sandbox.Stats().Requests == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.worker.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	requests := r.sandbox.Stats().Requests
	got, err := r.store.GetJob(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests != int64(requests) || got.TasksDone != int64(requests) {
		t.Fatalf("after Stop: job %+v, sandbox saw %d requests: every request sent must be committed", got, requests)
	}
	counts, _ := r.store.CountTasks(t.Context(), j.ID)
	if counts[store.TaskPending] != 10-int64(requests) {
		t.Fatalf("task counts %v after %d requests", counts, requests)
	}
	r.disp.Stop(ctx)
}

// A hard stop (grace period over) cancels the attempt and returns the task
// without using an attempt.
func TestWorkerHardStopReturnsTask(t *testing.T) {
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Faults: sandbox.Faults{Latency: 3 * time.Second}},
		worker: func(c *jobs.WorkerConfig) { c.Concurrency = 1 }})
	if err := r.worker.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.disp.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.disp.Stop(context.Background())
	j := r.submit(t, 100)
	deadline := time.Now().Add(10 * time.Second)
	for r.sandbox.Stats().Requests == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	r.worker.Stop(ctx)
	task, err := r.store.GetTask(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if task.State != store.TaskPending || task.Attempts != 0 || task.LeaseOwner != "" {
		t.Fatalf("task after hard stop %+v: want pending, no attempt used, no lease", task)
	}
	_ = j
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		want := min(time.Second<<(attempt-1), time.Minute)
		for range 50 {
			d := jobs.Backoff(attempt, time.Second, time.Minute)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func TestFinish(t *testing.T) {
	tests := []struct {
		job   store.Job
		state store.JobState
		text  string
	}{
		{store.Job{ItemsTotal: 100000, ItemsDone: 100000, Requests: 1000}, store.JobSucceeded, "100,000 of 100,000 items in 1,000 requests"},
		{store.Job{ItemsTotal: 100000, ItemsDone: 99871, ItemsFailed: 129, TasksFailed: 2, LastError: "upstream 503"}, store.JobSucceeded, "99,871 of 100,000 items, 129 failed: upstream 503"},
		{store.Job{ItemsTotal: 1000, ItemsDone: 800, ItemsFailed: 200, TasksFailed: 2}, store.JobFailed, "800 of 1,000 items, 200 failed"},
		{store.Job{ItemsTotal: 10, ItemsFailed: 10, TasksFailed: 1}, store.JobFailed, "0 of 10 items, 10 failed"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.job.ItemsDone, "/", tt.job.ItemsTotal), func(t *testing.T) {
			state, text := jobs.Finish(tt.job)
			if state != tt.state || text != tt.text {
				t.Fatalf("Finish = %s, %q; want %s, %q", state, text, tt.state, tt.text)
			}
		})
	}
}

// After a restart with the in-process queue, whose messages died with the
// process, the dispatcher republishes every task at once instead of waiting
// RepublishAfter.
func TestRepublishOnStart(t *testing.T) {
	r := newRig(t, rigConfig{})
	j := r.submit(t, 700)
	lost := &dropBroker{}
	before, _ := jobs.NewDispatcher(jobs.DispatcherConfig{Store: r.store, Broker: lost, RepublishAfter: time.Hour})
	if n, err := before.DispatchOnce(t.Context()); err != nil || n != 7 {
		t.Fatalf("dispatch before the restart = %d, %v", n, err)
	}
	after, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: r.store, Broker: r.broker, RepublishAfter: time.Hour, RepublishOnStart: true, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := after.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer after.Stop(context.Background())
	if err := r.worker.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.worker.Stop(context.Background())
	if j = r.waitFinished(t, j.ID); j.State != store.JobSucceeded || j.Requests != 7 {
		t.Fatalf("job %+v: want success in 7 requests, each task published once after the restart", j)
	}
}

// A pool of two credentials spreads a job over both and takes half the
// windows one credential needs. The windows are 2 s long: with 500 ms ones,
// a worker that stalled past a window's end on a loaded machine (the suite's
// other packages run meanwhile) legitimately split the job 8/4.
func TestPoolSpreadsRequests(t *testing.T) {
	window := 2 * time.Second
	r := newRig(t, rigConfig{
		pool:    true,
		sandbox: sandbox.Config{Limit: 3, Window: window},
		quotas:  []ratelimit.Quota{{Limit: 3, Window: window}},
	})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 1200).ID)
	if j.State != store.JobSucceeded || j.Requests != 12 {
		t.Fatalf("job %+v", j)
	}
	s := r.sandbox.Stats()
	a, b := s.Tokens["good-token"], s.Tokens["good-token-2"]
	if s.OverQuota != 0 || a.Served != 6 || b.Served != 6 {
		t.Fatalf("sandbox %+v: want 6 requests on each credential, none over quota", s)
	}
	// 12 requests at 3 a window: one credential needs 4 windows; two, 2 each.
	if len(a.Windows) != 2 || len(b.Windows) != 2 {
		t.Fatalf("windows a %v, b %v: want 2 each", a.Windows, b.Windows)
	}
}

// A credential that starts answering 401 is retired, in the store for every
// process, and the job finishes on the other.
func TestPoolRetiresRefusedCredential(t *testing.T) {
	r := newRig(t, rigConfig{pool: true, quotas: []ratelimit.Quota{{Limit: 100, Window: time.Minute}}})
	r.sandbox.Revoke("good-token")
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 1000).ID)
	if j.State != store.JobSucceeded || j.ItemsDone != 1000 || j.TasksFailed != 0 {
		t.Fatalf("job %+v: want success on credential b", j)
	}
	retired, err := r.store.ListRetiredCredentials(t.Context())
	if err != nil || len(retired) != 1 || retired[0].Name != "a" || !strings.Contains(retired[0].Reason, "401") {
		t.Fatalf("retired %+v, %v: want a, for its 401", retired, err)
	}
	if s := r.sandbox.Stats(); s.Tokens["good-token-2"].Served != 10 || s.Unauthorized > 4 {
		t.Fatalf("sandbox %+v: want b to serve all 10, and a refused at most once per worker slot", s)
	}
	// A job on a pool whose every credential is retired fails at once.
	r.sandbox.Revoke("good-token-2")
	j = r.waitFinished(t, r.submit(t, 100).ID)
	if j.State != store.JobFailed || !strings.Contains(j.LastError, "401") {
		t.Fatalf("job on a pool whose last credential was revoked: %+v", j)
	}
	// The next job fails at once, without a request: no credential is left.
	before := r.sandbox.Stats().Requests
	j = r.waitFinished(t, r.submit(t, 100).ID)
	if j.State != store.JobFailed || !strings.Contains(j.LastError, "every credential of main is retired") || r.sandbox.Stats().Requests != before {
		t.Fatalf("job on a dead pool: %+v", j)
	}
}

// A job that needs more than a long-window budget has left is refused at
// submission with the numbers; one that merely has to wait is accepted, and
// its ETA comes from its quotas.
func TestAdmissionAndQuotaETA(t *testing.T) {
	r := newRig(t, rigConfig{quotas: []ratelimit.Quota{
		{Key: "main-15m", Limit: 10, Window: 15 * time.Minute},
		{Key: "main-month", Limit: 25, Window: 30 * 24 * time.Hour},
	}})
	_, err := r.service.Submit(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(2600))})
	var ve *jobs.ValidationError
	if !errors.As(err, &ve) || ve.Field != "ids" || !strings.Contains(ve.Reason, "needs 26 requests") || !strings.Contains(ve.Reason, "main-month has 25 of 25 left") {
		t.Fatalf("Submit over budget = %v, want a refusal with the numbers", err)
	}
	if list, _ := r.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatalf("a refused job left %d jobs behind", len(list))
	}
	j := r.submit(t, 2500) // 25 requests: two and a half 15-minute windows
	eta, known, err := r.service.ETA(t.Context(), j)
	if err != nil || !known || eta != 30*time.Minute {
		t.Fatalf("ETA = %s, %v, %v; want 30m: 10 now, 10 in 15m, 5 in 30m", eta, known, err)
	}
	// The unfinished job's 25 requests come first: one more request is over
	// the budget, with the numbers, and leaves nothing behind.
	_, err = r.service.Submit(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(100))})
	if !errors.As(err, &ve) || ve.Field != "ids" || !strings.Contains(ve.Reason, "needs 1 request after the 25 requests that 1 unfinished job still needs") || !strings.Contains(ve.Reason, "main-month has 25 of 25 left") {
		t.Fatalf("Submit behind an unfinished job = %v, want a refusal counting that job's requests", err)
	}
	if list, _ := r.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 1 {
		t.Fatalf("a refused job left %d jobs, want only the first", len(list))
	}
	// Paused, it still owes them; cancelled, it owes nothing.
	if _, err := r.service.Pause(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err = r.service.Estimate(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(100))}); !errors.As(err, &ve) {
		t.Fatalf("Estimate behind a paused job = %v, want a refusal", err)
	}
	if _, err := r.service.Cancel(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if est, err := r.service.Estimate(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(100))}); err != nil || est.ETA != 0 {
		t.Fatalf("Estimate after the cancel = %+v, %v; want it admitted at once", est, err)
	}
}

// An upstream that keeps a quota but sends no rate-limit headers: pacer
// backs off on its 429s and probes upward, and the job finishes with every
// item once and no attempt spent on a 429.
func TestLearnsUndeclaredQuota(t *testing.T) {
	r := newRig(t, rigConfig{
		learn:   true,
		sandbox: sandbox.Config{Limit: 3, Window: time.Second, HideHeaders: true},
		worker:  func(c *jobs.WorkerConfig) { c.MaxAttempts = 1 },
	})
	r.start(t)
	j := r.waitFinished(t, r.submit(t, 1500).ID)
	if j.State != store.JobSucceeded || j.ItemsDone != 1500 {
		t.Fatalf("job %+v", j)
	}
	s := r.sandbox.Stats()
	if s.Served != 15 || s.IDsRepeated != 0 {
		t.Fatalf("sandbox %+v: want each of 15 requests served once", s)
	}
	// Learning costs some 429s, but far from one per request.
	if s.OverQuota > 10 {
		t.Fatalf("sandbox %+v: %d 429s for 15 requests; backing off should take far fewer", s, s.OverQuota)
	}
	t.Logf("learned in %d 429s", s.OverQuota)
}

// Re-run what failed: a new job with the same kind, credential and params
// covers exactly the items of the failed tasks.
func TestRerunFailed(t *testing.T) {
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 50}, Seed: 3},
		worker: func(c *jobs.WorkerConfig) { c.MaxAttempts = 1 }})
	r.start(t)
	ctx := t.Context()
	old := r.waitFinished(t, r.submit(t, 2000).ID)
	if old.ItemsFailed == 0 || old.ItemsDone == 0 {
		t.Fatalf("job %+v: want some items failed and some done", old)
	}
	if _, err := r.service.Rerun(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Rerun of no job: %v", err)
	}
	if err := r.sandbox.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	j, err := r.service.Rerun(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.ItemsTotal != old.ItemsFailed || j.Kind != old.Kind || j.Credential != old.Credential || string(j.Params) != string(old.Params) {
		t.Fatalf("rerun job %+v of %+v: want the failed items only, same kind, credential and params", j, old)
	}
	j = r.waitFinished(t, j.ID)
	if j.State != store.JobSucceeded || j.ItemsDone != old.ItemsFailed {
		t.Fatalf("rerun job %+v", j)
	}
	// Together the two jobs hold every id once.
	a, _ := r.store.CountResults(ctx, old.ID)
	b, _ := r.store.CountResults(ctx, j.ID)
	if a[store.ResultOK]+a[store.ResultNotFound]+b[store.ResultOK]+b[store.ResultNotFound] != 2000 {
		t.Fatalf("results %v + %v, want 2000 in all", a, b)
	}
	// Nothing left to re-run.
	var ve *jobs.ValidationError
	if _, err := r.service.Rerun(ctx, j.ID); !errors.As(err, &ve) || ve.Field != "id" {
		t.Fatalf("Rerun of a job with nothing failed: %v, want a validation error of id", err)
	}
}
