package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pacerhq/pacer/store"
)

// Submission is a job as a user submits it, through the form, the API or
// the CLI.
type Submission struct {
	Kind       string
	Credential string          // a credential's or a pool's name
	Params     json.RawMessage // kind-specific; empty for none
	// Items streams the job's items, one per line; nil for none. Submit
	// reads it to the end (or to the first bad item) and never holds it whole.
	Items io.Reader
	// NotifyWebhook and NotifyEmail, when set, hear of the job's ending:
	// a signed POST, an email. ServiceConfig.Notify says which are allowed.
	NotifyWebhook string
	NotifyEmail   string

	run int64 // the schedule run this job fires (Scheduler); 0 for none
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store       store.Store // required
	Kinds       *Registry   // required
	Credentials Credentials // the credentials jobs may name
	Pools       Pools       // the pools jobs may name instead
	// Notify says what jobs may name to hear of their ending; the zero
	// value refuses every webhook and email address.
	Notify NotifyPolicy
	// Nudge is called after a job's tasks are committed, so that a
	// dispatcher in the same process publishes them at once instead of at
	// its next tick. Optional.
	Nudge func()
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
}

// Service accepts, controls and describes jobs. It is safe for concurrent
// use.
type Service struct {
	cfg ServiceConfig
}

// NewService returns a Service for cfg.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil || cfg.Kinds == nil {
		return nil, errors.New("jobs service config: Store and Kinds are required")
	}
	if err := cfg.Pools.Validate(cfg.Credentials); err != nil {
		return nil, fmt.Errorf("jobs service config: pools.%w", err)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Nudge == nil {
		cfg.Nudge = func() {}
	}
	return &Service{cfg: cfg}, nil
}

// Kinds returns the names of the kinds a job may have.
func (s *Service) Kinds() []string { return s.cfg.Kinds.Names() }

// CredentialNames returns the names of the credentials and pools a job may
// name, sorted.
func (s *Service) CredentialNames() []string {
	names := s.cfg.Credentials.Names()
	for p := range s.cfg.Pools {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// Submit validates sub, plans it into tasks and commits the job and all its
// tasks in one transaction. Bad input is a *ValidationError naming the field;
// then nothing is written (DESIGN.md, invariant 5).
func (s *Service) Submit(ctx context.Context, sub Submission) (store.Job, error) {
	kind, params, stop, err := s.prepare(ctx, &sub)
	if err != nil {
		return store.Job{}, err
	}
	defer stop()

	// The kind pushes tasks, the store pulls them: a planner goroutine feeds
	// the transaction through a small channel, so the items stream through
	// and are never all in memory.
	planCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	specs := make(chan TaskSpec, 64)
	planErr := make(chan error, 1)
	go func() {
		defer close(specs)
		planErr <- kind.Plan(planCtx, params, sub.Items, func(t TaskSpec) error {
			select {
			case specs <- t:
				return nil
			case <-planCtx.Done():
				return planCtx.Err()
			}
		})
	}()
	planned := 0
	next := func() (store.NewTask, error) {
		t, ok := <-specs
		if !ok {
			if err := <-planErr; err != nil {
				return store.NewTask{}, err
			}
			if planned == 0 {
				// A job with no work is refused, not created done.
				return store.NewTask{}, Invalid("ids", "no items to collect")
			}
			// Admission: one request per task; a job that would break a
			// budget is refused here, rolling back what was planned.
			if _, err := s.admit(ctx, sub.Credential, planned); err != nil {
				return store.NewTask{}, err
			}
			return store.NewTask{}, io.EOF
		}
		planned++
		return store.NewTask{Payload: t.Payload, Items: t.Items}, nil
	}
	job, err := s.cfg.Store.CreateJob(ctx, store.NewJob{Kind: kind.Name(), Params: params, Credential: sub.Credential, Run: sub.run, NotifyWebhook: sub.NotifyWebhook, NotifyEmail: sub.NotifyEmail}, s.cfg.NowFunc(), next)
	cancel()
	for range specs { // let the planner finish before returning
	}
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return store.Job{}, err
		}
		return store.Job{}, fmt.Errorf("create %s job: %w", kind.Name(), err)
	}
	s.cfg.Nudge()
	return job, nil
}

// prepare validates sub's kind, credential and params, and points
// sub.Items at the source job's results when the params name one. Call stop
// when done with sub.Items.
func (s *Service) prepare(ctx context.Context, sub *Submission) (kind Kind, params []byte, stop func(), err error) {
	stop = func() {}
	kind, ok := s.cfg.Kinds.Lookup(sub.Kind)
	if !ok {
		if sub.Kind == "" {
			return nil, nil, stop, Invalid("kind", "missing; one of %s", strings.Join(s.Kinds(), ", "))
		}
		return nil, nil, stop, Invalid("kind", "unknown kind %q; one of %s", sub.Kind, strings.Join(s.Kinds(), ", "))
	}
	if sub.Credential == "" {
		return nil, nil, stop, Invalid("credential", "missing; one of %s", strings.Join(s.CredentialNames(), ", "))
	}
	if _, ok := s.cfg.Credentials.resolve(sub.Credential, s.cfg.Pools); !ok {
		return nil, nil, stop, Invalid("credential", "unknown credential or pool %q; declared: %s", sub.Credential, strings.Join(s.CredentialNames(), ", "))
	}
	if sub.NotifyWebhook, sub.NotifyEmail, err = s.cfg.Notify.check(sub.NotifyWebhook, sub.NotifyEmail); err != nil {
		return nil, nil, stop, err
	}
	params, err = kind.Prepare(sub.Params)
	if err != nil {
		return nil, nil, stop, err
	}
	if rs, ok := kind.(ResultSourcer); ok {
		if source, ok := rs.SourceJob(params); ok {
			if sub.Items != nil {
				return nil, nil, stop, Invalid("ids", "give ids or params.source_job, not both")
			}
			items, stopItems, err := s.resultKeys(ctx, source)
			if err != nil {
				return nil, nil, stop, err
			}
			sub.Items = items
			return kind, params, stopItems, nil
		}
	}
	return kind, params, stop, nil
}

// Get returns one job; store.ErrNotFound if there is none.
func (s *Service) Get(ctx context.Context, id int64) (store.Job, error) {
	return s.cfg.Store.GetJob(ctx, id)
}

// Cancel stops a job's pending tasks at once.
func (s *Service) Cancel(ctx context.Context, id int64) (store.Job, error) {
	return s.cfg.Store.CancelJob(ctx, id, s.cfg.NowFunc())
}

// Pause holds a job's pending tasks until Resume.
func (s *Service) Pause(ctx context.Context, id int64) (store.Job, error) {
	return s.cfg.Store.PauseJob(ctx, id, s.cfg.NowFunc())
}

// Resume releases a paused job's tasks.
func (s *Service) Resume(ctx context.Context, id int64) (store.Job, error) {
	j, err := s.cfg.Store.ResumeJob(ctx, id, s.cfg.NowFunc())
	if err == nil {
		s.cfg.Nudge()
	}
	return j, err
}

// RestoreCredential puts a credential the upstream refused back in use, in
// every process (a worker notices within seconds): for after its token was
// replaced. store.ErrNotFound if it was not retired.
func (s *Service) RestoreCredential(ctx context.Context, name string) error {
	return s.cfg.Store.RestoreCredential(ctx, name)
}

// Finish decides a finished job's state and summary: it failed when nothing
// was collected or more than a tenth of its items failed; otherwise it
// succeeded, and the summary says how many items failed, if any.
func Finish(j store.Job) (store.JobState, string) {
	state := store.JobSucceeded
	if j.ItemsFailed > 0 && (j.ItemsDone == 0 || j.ItemsFailed*10 > j.ItemsTotal) {
		state = store.JobFailed
	}
	summary := fmt.Sprintf("%s of %s items in %s requests", thousands(j.ItemsDone), thousands(j.ItemsTotal), thousands(j.Requests))
	if j.ItemsFailed > 0 || j.TasksFailed > 0 {
		summary = fmt.Sprintf("%s of %s items, %s failed", thousands(j.ItemsDone), thousands(j.ItemsTotal), thousands(j.ItemsFailed))
		if j.LastError != "" {
			summary += ": " + j.LastError
		}
	}
	return state, summary
}

// Progress is the share of a job's items that are done or failed, 0 to 1.
func Progress(j store.Job) float64 {
	if j.State == store.JobSucceeded {
		return 1
	}
	if j.ItemsTotal <= 0 {
		return 0
	}
	return math.Min(1, float64(j.ItemsDone+j.ItemsFailed)/float64(j.ItemsTotal))
}

// thousands renders n with comma separators: 100000 → "100,000".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// resultKeys streams the keys of finished job id's ok results, one per line,
// a page at a time. stop ends the stream early; call it when done.
func (s *Service) resultKeys(ctx context.Context, id int64) (io.Reader, func(), error) {
	src, err := s.cfg.Store.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, Invalid("params.source_job", "there is no job %d", id)
	}
	if err != nil {
		return nil, nil, err
	}
	if !src.State.Finished() {
		return nil, nil, Invalid("params.source_job", "job %d is %s; its results are taken once it has finished", id, src.State)
	}
	pr, pw := io.Pipe()
	go func() {
		after := ""
		for {
			page, err := s.cfg.Store.ListResults(ctx, id, store.ResultFilter{Status: store.ResultOK, AfterKey: after, Limit: 1000})
			if err != nil {
				pw.CloseWithError(fmt.Errorf("read results of job %d: %w", id, err))
				return
			}
			var b strings.Builder
			for _, r := range page {
				b.WriteString(r.Key)
				b.WriteByte('\n')
			}
			if _, err := io.WriteString(pw, b.String()); err != nil {
				return // the reader stopped
			}
			if len(page) < 1000 {
				pw.Close()
				return
			}
			after = page[len(page)-1].Key
		}
	}()
	return pr, func() { pr.CloseWithError(errors.New("submission done")) }, nil
}
