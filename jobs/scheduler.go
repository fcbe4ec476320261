package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/store"
)

// Incremental is a Kind whose recurring runs carry a high-water mark, so
// that each run of a schedule fetches only what is new (X's since_id for a
// user's tweets). Advance returns params for the next run: params (the
// schedule's, already prepared) moved past marks, the greatest item key
// each task of the previous run stored, and never behind prev, the params
// the previous run had (nil for none). No marks move nothing.
type Incremental interface {
	Advance(params, prev json.RawMessage, marks []Mark) (json.RawMessage, error)
}

// Mark is the greatest item key one task stored (keys compared as decimal
// numbers compare), with the task's payload, which says whose it is.
type Mark struct {
	Payload json.RawMessage
	Key     string
}

// Schedule run outcomes, the values of the outcome label of
// pacer_schedule_runs_total.
const (
	RunOutcomeFired   = "fired"   // a job was created
	RunOutcomeSkipped = "skipped" // a due time passed over: previous run still going, or missed
	RunOutcomeFailed  = "failed"  // the job was refused (over budget, no items, bad template)
)

// ScheduleMetrics counts schedule runs. Use NewScheduleMetrics; a nil
// *ScheduleMetrics records nothing.
type ScheduleMetrics struct {
	runs *prometheus.CounterVec
}

// NewScheduleMetrics registers pacer_schedule_runs_total on reg, with its
// three outcomes at zero.
func NewScheduleMetrics(reg prometheus.Registerer) *ScheduleMetrics {
	m := &ScheduleMetrics{runs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pacer_schedule_runs_total",
		Help: "Schedule due times decided by this process, by outcome (fired, skipped, failed).",
	}, []string{"outcome"})}
	for _, o := range []string{RunOutcomeFired, RunOutcomeSkipped, RunOutcomeFailed} {
		m.runs.WithLabelValues(o)
	}
	reg.MustRegister(m.runs)
	return m
}

func (m *ScheduleMetrics) add(outcome string, n int) {
	if m != nil && n > 0 {
		m.runs.WithLabelValues(outcome).Add(float64(n))
	}
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	Service *Service // required: jobs are submitted through it
	// MinInterval is the shortest interval a schedule may have (and the
	// shortest gap between two due times of a cron). Default 1m.
	MinInterval time.Duration
	// Tick is how often the scheduler looks for due schedules. Default 1s.
	Tick time.Duration
	// Lease is how long a run this scheduler took may wait for its job
	// before another scheduler takes it over. Default 1m.
	Lease time.Duration
	// Owner names this scheduler in the runs it leases. Default
	// host/pid/random.
	Owner   string
	Logger  *slog.Logger     // default slog.Default()
	Metrics *ScheduleMetrics // optional
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
}

// Scheduler keeps schedules and fires their due runs. Any number of
// schedulers may run against one store: the store decides each due time
// once (store.Store.FireDue) and links the job to its run in the job's own
// transaction, so each due run creates exactly one job. It is safe for
// concurrent use; Start and Stop may each be called twice, and Stop before
// Start.
type Scheduler struct {
	cfg   SchedulerConfig
	store store.Store
	nudge chan struct{}
	run   runner
}

// NewScheduler returns a Scheduler for cfg.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Service == nil {
		return nil, errors.New("scheduler config: Service is required")
	}
	if cfg.MinInterval < 0 || cfg.Tick < 0 || cfg.Lease < 0 {
		return nil, errors.New("scheduler config: MinInterval, Tick and Lease must not be negative")
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = time.Minute
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Second
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Scheduler{cfg: cfg, store: cfg.Service.cfg.Store, nudge: make(chan struct{}, 1)}, nil
}

// MinInterval returns the shortest interval a schedule may have.
func (s *Scheduler) MinInterval() time.Duration { return s.cfg.MinInterval }

// Start runs the scheduling loop until Stop or until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	s.run.start(ctx, s.loop)
	return nil
}

// Stop ends the loop and waits for a round in progress to finish, or for
// ctx to end. A run leased but not fired is taken over by another scheduler
// once its lease ends.
func (s *Scheduler) Stop(ctx context.Context) error { return s.run.halt(ctx) }

// loop fires what is due, then waits for the next due time, a Tick at
// most (a schedule made in another process is seen within a Tick), or a
// nudge. Waking at the due time itself, rather than at the next tick,
// starts a run on time; every scheduler wakes then, and the store gives
// the run to one.
// minSchedulerWait is the shortest pause between two rounds of the
// scheduler's loop.
const minSchedulerWait = 20 * time.Millisecond

func (s *Scheduler) loop(ctx context.Context) {
	t := time.NewTimer(s.cfg.Tick)
	defer t.Stop()
	failures := 0
	for {
		wait := s.cfg.Tick
		_, next, err := s.fireRound(ctx)
		if !next.IsZero() {
			// A next due time already past means another process holds
			// that schedule's row while it fires it: look again shortly,
			// not at once, or the loop spins on FireDue until it is done.
			wait = min(wait, max(next.Sub(s.cfg.NowFunc()), minSchedulerWait))
		}
		t.Reset(wait)
		if err != nil && ctx.Err() == nil {
			failures++
			if failures == 1 || failures%60 == 0 {
				s.cfg.Logger.WarnContext(ctx, "schedule round failed", "err", err, "failures", failures)
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// FireOnce fires what is due now and returns how many jobs it created. A
// run whose job is refused (a *ValidationError: over budget, no items) is
// marked failed; one that meets another error stays leased, and is fired
// again when its lease ends.
func (s *Scheduler) FireOnce(ctx context.Context) (int, error) {
	n, _, err := s.fireRound(ctx)
	return n, err
}

// fireRound is one round: the jobs it created and the earliest next due
// time of any schedule (zero for none).
func (s *Scheduler) fireRound(ctx context.Context) (int, time.Time, error) {
	now := s.cfg.NowFunc()
	res, err := s.store.FireDue(ctx, store.FireDue{Now: now, Owner: s.cfg.Owner, LeaseUntil: now.Add(s.cfg.Lease), Next: NextDue})
	if err != nil {
		return 0, time.Time{}, err
	}
	s.cfg.Metrics.add(RunOutcomeSkipped, res.Skipped+res.Missed)
	if res.Paused > 0 {
		s.cfg.Logger.ErrorContext(ctx, "schedules paused: no further due time", "schedules", res.Paused)
	}
	fired := 0
	var errs []error
	for _, f := range res.Fire {
		ok, err := s.fire(ctx, f)
		if ok {
			fired++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return fired, res.NextDue, errors.Join(errs...)
}

// fire creates the job of one leased run.
func (s *Scheduler) fire(ctx context.Context, f store.Firing) (bool, error) {
	log := s.cfg.Logger.With("schedule_id", f.Schedule.ID, "schedule", f.Schedule.Name, "due_at", f.Run.DueAt)
	params, err := s.runParams(ctx, f)
	var job store.Job
	if err == nil {
		var items *strings.Reader
		sub := Submission{Kind: f.Schedule.Kind, Credential: f.Schedule.Credential, Params: params, run: f.Run.ID,
			NotifyWebhook: f.Schedule.NotifyWebhook, NotifyEmail: f.Schedule.NotifyEmail}
		if f.Schedule.Items != "" {
			items = strings.NewReader(f.Schedule.Items)
			sub.Items = items
		}
		job, err = s.cfg.Service.Submit(ctx, sub)
	}
	var ve *ValidationError
	switch {
	case err == nil:
		s.cfg.Metrics.add(RunOutcomeFired, 1)
		log.InfoContext(ctx, "schedule fired", "job_id", job.ID)
		return true, nil
	case errors.Is(err, store.ErrConflict):
		return false, nil // fired by another scheduler meanwhile, or deleted
	case errors.As(err, &ve):
		s.cfg.Metrics.add(RunOutcomeFailed, 1)
		log.WarnContext(ctx, "schedule run refused", "err", err)
		if ferr := s.store.FailRun(ctx, f.Run.ID, f.Run.LeaseOwner, ve.Error(), s.cfg.NowFunc()); ferr != nil && !errors.Is(ferr, store.ErrConflict) {
			return false, fmt.Errorf("schedule %d: record refused run: %w", f.Schedule.ID, ferr)
		}
		return false, nil
	}
	return false, fmt.Errorf("schedule %d: fire run %d: %w", f.Schedule.ID, f.Run.ID, err)
}

// runParams returns the params of a run: the schedule's, advanced past the
// high-water mark of the previous run for an incremental kind. The mark
// moves only past a run whose job succeeded with nothing failed: after a
// failed run the next one fetches again from where that one started.
func (s *Scheduler) runParams(ctx context.Context, f store.Firing) (json.RawMessage, error) {
	params := json.RawMessage(f.Schedule.Params)
	kind, ok := s.cfg.Service.cfg.Kinds.Lookup(f.Schedule.Kind)
	if !ok {
		return params, nil // Submit refuses it
	}
	inc, ok := kind.(Incremental)
	if !ok {
		return params, nil
	}
	params, err := kind.Prepare(params)
	if err != nil {
		return nil, err
	}
	prev, err := s.store.ListScheduleRuns(ctx, f.Schedule.ID, store.RunFilter{State: store.RunFired, Before: f.Run.DueAt, Limit: 1})
	if err != nil || len(prev) == 0 || prev[0].JobID == nil {
		return params, err
	}
	job, err := s.store.GetJob(ctx, *prev[0].JobID)
	if err != nil {
		return nil, fmt.Errorf("previous run's job %d: %w", *prev[0].JobID, err)
	}
	var marks []Mark
	if job.State == store.JobSucceeded && job.ItemsFailed == 0 && job.TasksFailed == 0 {
		found, err := s.store.ResultMarks(ctx, job.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range found {
			marks = append(marks, Mark{Payload: m.Payload, Key: m.Key})
		}
	}
	return inc.Advance(params, json.RawMessage(job.Params), marks)
}

// Check validates spec as Create would, without storing it, and returns the
// schedule it describes. Errors are *ValidationError naming the field.
func (s *Scheduler) Check(ctx context.Context, spec ScheduleSpec) (store.Schedule, error) {
	name, err := checkName(spec.Name)
	if err != nil {
		return store.Schedule{}, err
	}
	sc, err := timing(spec, s.cfg.MinInterval)
	if err != nil {
		return store.Schedule{}, err
	}
	sc.Name, sc.Paused = name, spec.Paused
	if len(spec.Items) > store.MaxScheduleItems {
		return store.Schedule{}, Invalid("ids", "%d bytes, more than a schedule's %d", len(spec.Items), store.MaxScheduleItems)
	}
	kind, params, err := s.cfg.Service.checkTemplate(ctx, spec.Kind, spec.Credential, spec.Params, spec.Items)
	if err != nil {
		return store.Schedule{}, err
	}
	sc.Kind, sc.Credential, sc.Params, sc.Items = kind, strings.TrimSpace(spec.Credential), params, spec.Items
	if sc.NotifyWebhook, sc.NotifyEmail, err = s.cfg.Service.cfg.Notify.check(spec.NotifyWebhook, spec.NotifyEmail); err != nil {
		return store.Schedule{}, err
	}
	return sc, nil
}

// Create validates spec and stores the schedule, due first at the next
// multiple of its interval (or its cron's next tick). A name in use is a
// *ValidationError for "name".
func (s *Scheduler) Create(ctx context.Context, spec ScheduleSpec) (store.Schedule, error) {
	sc, err := s.Check(ctx, spec)
	if err != nil {
		return store.Schedule{}, err
	}
	now := s.cfg.NowFunc()
	if sc.NextDue, err = firstDue(sc, now); err != nil {
		return store.Schedule{}, Invalid("cron", "no due time after now: %v", err)
	}
	out, err := s.store.CreateSchedule(ctx, sc, now)
	if errors.Is(err, store.ErrConflict) {
		return store.Schedule{}, Invalid("name", "a schedule named %q exists", sc.Name)
	}
	if err == nil {
		s.Nudge()
	}
	return out, err
}

// Update replaces schedule id with spec. Its next due time is kept unless
// the timing changed or it is resumed; then it is computed anew from now.
func (s *Scheduler) Update(ctx context.Context, id int64, spec ScheduleSpec) (store.Schedule, error) {
	old, err := s.store.GetSchedule(ctx, id)
	if err != nil {
		return store.Schedule{}, err
	}
	sc, err := s.Check(ctx, spec)
	if err != nil {
		return store.Schedule{}, err
	}
	sc.ID, sc.NextDue = id, old.NextDue
	now := s.cfg.NowFunc()
	if sc.Every != old.Every || sc.Cron != old.Cron || sc.TimeZone != old.TimeZone || (old.Paused && !sc.Paused) {
		if sc.NextDue, err = firstDue(sc, now); err != nil {
			return store.Schedule{}, Invalid("cron", "no due time after now: %v", err)
		}
	}
	out, err := s.store.UpdateSchedule(ctx, sc, now)
	if errors.Is(err, store.ErrConflict) {
		return store.Schedule{}, Invalid("name", "a schedule named %q exists", sc.Name)
	}
	if err == nil {
		s.Nudge()
	}
	return out, err
}

// Pause stops schedule id from falling due until Resume.
func (s *Scheduler) Pause(ctx context.Context, id int64) (store.Schedule, error) {
	return s.setPaused(ctx, id, true)
}

// Resume lets a paused schedule fall due again, from its next due time
// after now: the due times that passed while it was paused are not missed
// runs, and none is caught up.
func (s *Scheduler) Resume(ctx context.Context, id int64) (store.Schedule, error) {
	return s.setPaused(ctx, id, false)
}

func (s *Scheduler) setPaused(ctx context.Context, id int64, paused bool) (store.Schedule, error) {
	sc, err := s.store.GetSchedule(ctx, id)
	if err != nil || sc.Paused == paused {
		return sc, err
	}
	now := s.cfg.NowFunc()
	if !paused {
		if sc.NextDue, err = firstDue(sc, now); err != nil {
			return store.Schedule{}, Invalid("cron", "no due time after now: %v", err)
		}
	}
	sc.Paused = paused
	out, err := s.store.UpdateSchedule(ctx, sc, now)
	if err == nil {
		s.Nudge()
	}
	return out, err
}

// Delete deletes schedule id and its runs; the jobs they created stay.
// store.ErrNotFound if there is none.
func (s *Scheduler) Delete(ctx context.Context, id int64) error {
	return s.store.DeleteSchedule(ctx, id)
}

// Get returns schedule id; store.ErrNotFound if there is none.
func (s *Scheduler) Get(ctx context.Context, id int64) (store.Schedule, error) {
	return s.store.GetSchedule(ctx, id)
}

// List returns every schedule, by name.
func (s *Scheduler) List(ctx context.Context) ([]store.Schedule, error) {
	return s.store.ListSchedules(ctx)
}

// Runs returns up to limit of schedule id's runs, newest first.
func (s *Scheduler) Runs(ctx context.Context, id int64, limit int) ([]store.ScheduleRun, error) {
	return s.store.ListScheduleRuns(ctx, id, store.RunFilter{Limit: limit})
}

// Spec returns the spec schedule sc was made from, for an edit form.
func Spec(sc store.Schedule) ScheduleSpec { return specOf(sc) }

// Nudge makes the scheduler look for due schedules now rather than at its
// next tick. It never blocks.
func (s *Scheduler) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}
