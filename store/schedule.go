package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A schedule is a job template plus when to run it. Its due times come from
// an interval or a cron expression, which the store cannot compute (it knows
// no cron): the caller passes a [NextFunc], as it passes a [FinishFunc] for a
// job's end.

// OverlapPolicy says what becomes of a run that falls due while the
// schedule's previous run is still going.
type OverlapPolicy string

// Overlap policies.
const (
	// OverlapSkip records the due time as skipped.
	OverlapSkip OverlapPolicy = "skip"
	// OverlapQueue keeps one run waiting, fired when the previous run ends;
	// further due times meanwhile are skipped.
	OverlapQueue OverlapPolicy = "queue"
)

// MissedPolicy says what becomes of due times that passed while no
// scheduler ran (downtime): never a burst of every missed run.
type MissedPolicy string

// Missed-run policies.
const (
	// MissedCatchUpOnce fires one run for all the missed due times.
	MissedCatchUpOnce MissedPolicy = "catch_up_once"
	// MissedSkip fires none until the next due time.
	MissedSkip MissedPolicy = "skip"
)

// MaxScheduleItems caps a schedule's Items, in bytes: a schedule's items are
// kept in its row and read whole at each run, unlike a job's, which stream.
const MaxScheduleItems = 1 << 20

// Schedule is a job template and when to run it.
type Schedule struct {
	ID   int64  `db:"id"`
	Name string `db:"name"` // unique

	// The job template, as a submission has it.
	Kind       string `db:"kind"`
	Credential string `db:"credential"` // a credential's or a pool's name
	Params     []byte `db:"params"`     // JSON
	Items      string `db:"items"`      // one item a line; at most MaxScheduleItems bytes

	// Every is the interval between due times; zero when Cron is set.
	Every time.Duration `db:"every_ns"`
	// Cron is a cron expression read in TimeZone; "" when Every is set.
	Cron string `db:"cron"`
	// TimeZone names the IANA zone Cron is read in ("UTC" by default).
	TimeZone string `db:"time_zone"`

	Overlap OverlapPolicy `db:"overlap"`
	Missed  MissedPolicy  `db:"missed"`
	Paused  bool          `db:"paused"`
	// NotifyWebhook and NotifyEmail are passed to each run's job ("" for
	// none).
	NotifyWebhook string `db:"notify_webhook"`
	NotifyEmail   string `db:"notify_email"`
	// NextDue is the next time the schedule falls due.
	NextDue time.Time `db:"next_due"`
	// LastError says why the scheduler paused the schedule (its cron has no
	// further due time), "" if it did not.
	LastError string `db:"last_error"`

	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// RunState is the state of one schedule run.
type RunState string

// Run states: queued → pending → fired | failed; skipped is final at once.
const (
	// RunQueued waits for the schedule's previous run to end (OverlapQueue).
	RunQueued RunState = "queued"
	// RunPending is leased to a scheduler that is creating its job.
	RunPending RunState = "pending"
	// RunFired created its job (ScheduleRun.JobID).
	RunFired RunState = "fired"
	// RunSkipped fell due while the previous run was still going.
	RunSkipped RunState = "skipped"
	// RunFailed could not create its job (ScheduleRun.Error says why).
	RunFailed RunState = "failed"
)

// ScheduleRun is one due time of a schedule and what became of it. It is
// keyed by (ScheduleID, DueAt).
type ScheduleRun struct {
	ID         int64      `db:"id"`
	ScheduleID int64      `db:"schedule_id"`
	DueAt      time.Time  `db:"due_at"`
	State      RunState   `db:"state"`
	JobID      *int64     `db:"job_id"` // set once fired
	Error      string     `db:"error"`  // why it failed
	LeaseOwner string     `db:"lease_owner"`
	LeaseUntil *time.Time `db:"lease_until"`
	CreatedAt  time.Time  `db:"created_at"`
	UpdatedAt  time.Time  `db:"updated_at"`
}

// ResultMark is the greatest ok result key that one task stored: see
// [Store.ResultMarks].
type ResultMark struct {
	TaskID  int64  `db:"task_id"`
	Payload []byte `db:"payload"` // the task's payload; nil for none
	Key     string `db:"item_key"`
}

// RunFilter selects runs for ListScheduleRuns. The zero value lists the 50
// newest runs of any state.
type RunFilter struct {
	State  RunState  // "" for any
	Before time.Time // zero for the newest; else only runs due before it
	Limit  int       // 0 means 50
}

// NextFunc returns the first due time of s strictly after t. An error means
// s has no due time after t (a cron expression that no longer matches).
type NextFunc func(s Schedule, t time.Time) (time.Time, error)

// FireDue is what [Store.FireDue] works with.
type FireDue struct {
	Now        time.Time
	Owner      string    // names the scheduler; required
	LeaseUntil time.Time // after Now
	Next       NextFunc  // required
	// Limit caps the schedules decided in one call; 0 means 100.
	Limit int
}

// Firing is a run to fire, with its schedule as it was when it was leased.
type Firing struct {
	Run      ScheduleRun
	Schedule Schedule
}

// FireResult is what one FireDue decided.
type FireResult struct {
	Fire    []Firing // runs to fire now, oldest due time first
	Skipped int      // due times recorded as skipped (overlap)
	Missed  int      // schedules whose missed due times were passed over (MissedSkip)
	Paused  int      // schedules paused because Next found no further due time
	// NextDue is the earliest next due time of any schedule not paused,
	// after the decisions; zero if there is none. A scheduler may sleep
	// until then.
	NextDue time.Time
}

// Decision is what becomes of a schedule's due time: see [DecideDue].
type Decision struct {
	// Insert is the state of the run to record at DueAt: RunPending (fire
	// it), RunQueued, RunSkipped, or "" to record none (missed and skipped).
	Insert RunState
	DueAt  time.Time
	// NextDue is the schedule's next due time after the decision.
	NextDue time.Time
	// Missed is true when the due time had been passed over by a later one.
	Missed bool
}

// DecideDue decides what becomes of schedule s's due time s.NextDue, at now
// (s.NextDue <= now): busy says that a previous run is still going (pending,
// or fired with a job not finished); queued that a run already waits for it.
//
// The due time is missed when the one after it has passed too (the
// schedulers were down). A missed due time under MissedSkip records nothing;
// anything else records one run at s.NextDue: skipped if busy and the
// overlap policy is skip (or a run already waits), queued if busy, else
// pending. In every case NextDue becomes the first due time after now, so
// that however long the downtime, one decision covers it: never a burst.
// It is the one rule both drivers apply.
func DecideDue(s Schedule, busy, queued bool, now time.Time, next NextFunc) (Decision, error) {
	after, err := next(s, s.NextDue)
	if err != nil {
		return Decision{}, err
	}
	nextDue := after
	if !after.After(now) {
		if nextDue, err = next(s, now); err != nil {
			return Decision{}, err
		}
	}
	d := Decision{DueAt: s.NextDue, NextDue: nextDue, Missed: !after.After(now)}
	switch {
	case busy && (s.Overlap == OverlapSkip || queued):
		d.Insert = RunSkipped
	case busy:
		d.Insert = RunQueued
	case d.Missed && s.Missed == MissedSkip:
	default:
		d.Insert = RunPending
	}
	return d, nil
}

// ValidateSchedule checks what the store requires of s: a name, a kind,
// valid JSON params, items within MaxScheduleItems, exactly one of Every
// (positive) and Cron, a time zone name, known policies and a next due time.
// Whether the cron parses and the zone exists is for the caller to check.
func ValidateSchedule(s Schedule) error {
	switch {
	case s.Name == "":
		return errors.New("name is required")
	case s.Kind == "":
		return errors.New("kind is required")
	case !json.Valid(s.Params):
		return errors.New("params are not valid JSON")
	case len(s.Items) > MaxScheduleItems:
		return fmt.Errorf("items are %d bytes, more than %d", len(s.Items), MaxScheduleItems)
	case s.Every < 0:
		return fmt.Errorf("every %s is negative", s.Every)
	case (s.Every > 0) == (s.Cron != ""):
		return errors.New("exactly one of every and cron is required")
	case s.TimeZone == "":
		return errors.New("time zone is required")
	case s.Overlap != OverlapSkip && s.Overlap != OverlapQueue:
		return fmt.Errorf("overlap %q is not skip or queue", s.Overlap)
	case s.Missed != MissedCatchUpOnce && s.Missed != MissedSkip:
		return fmt.Errorf("missed %q is not catch_up_once or skip", s.Missed)
	case s.NextDue.IsZero():
		return errors.New("next due time is required")
	}
	return nil
}

// ValidateFireDue checks f and returns it with its defaults.
func ValidateFireDue(f FireDue) (FireDue, error) {
	switch {
	case f.Owner == "":
		return f, errors.New("owner is required")
	case f.Next == nil:
		return f, errors.New("next func is required")
	case !f.LeaseUntil.After(f.Now):
		return f, fmt.Errorf("lease until %v is not after now", f.LeaseUntil)
	case f.Limit < 0:
		return f, fmt.Errorf("limit %d is negative", f.Limit)
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	return f, nil
}

// FireOps are the steps of FireDue on one schedule, which a driver carries
// out inside its FireDue transaction while it holds the schedule; [FireOne]
// puts them in order, so that both drivers follow one algorithm.
type FireOps interface {
	// Relet leases the schedule's pending runs whose lease ran out to the
	// caller and returns them.
	Relet(ctx context.Context, scheduleID int64) ([]ScheduleRun, error)
	// Status reports whether a run of the schedule is still going (a
	// pending run, or a fired run whose job has not finished) and whether
	// one is queued.
	Status(ctx context.Context, scheduleID int64) (busy, queued bool, err error)
	// Promote moves the schedule's queued run to pending, leased to the
	// caller, and returns it.
	Promote(ctx context.Context, scheduleID int64) (ScheduleRun, error)
	// Insert records a run at dueAt in state (leased to the caller if
	// pending); ok is false, and nothing is written, if the schedule has a
	// run at dueAt already.
	Insert(ctx context.Context, scheduleID int64, dueAt time.Time, state RunState) (r ScheduleRun, ok bool, err error)
	// Advance sets the schedule's next due time.
	Advance(ctx context.Context, scheduleID int64, next time.Time) error
	// Halt pauses the schedule with reason as its last error.
	Halt(ctx context.Context, scheduleID int64, reason string) error
}

// FireOne runs FireDue's algorithm on schedule s (not paused), adding to
// res: relet runs whose owner died, promote a queued run once the schedule
// is no longer busy, and, if s is due, record its [DecideDue] decision.
func FireOne(ctx context.Context, ops FireOps, s Schedule, f FireDue, res *FireResult) error {
	relet, err := ops.Relet(ctx, s.ID)
	if err != nil {
		return err
	}
	for _, r := range relet {
		res.Fire = append(res.Fire, Firing{Run: r, Schedule: s})
	}
	busy, queued, err := ops.Status(ctx, s.ID)
	if err != nil {
		return err
	}
	if queued && !busy {
		r, err := ops.Promote(ctx, s.ID)
		if err != nil {
			return err
		}
		res.Fire = append(res.Fire, Firing{Run: r, Schedule: s})
		busy, queued = true, false
	}
	if s.NextDue.After(f.Now) {
		return nil
	}
	d, err := DecideDue(s, busy, queued, f.Now, f.Next)
	if err != nil {
		res.Paused++
		return ops.Halt(ctx, s.ID, "no due time after "+s.NextDue.UTC().Format(time.RFC3339)+": "+err.Error())
	}
	if d.Insert != "" {
		r, ok, err := ops.Insert(ctx, s.ID, d.DueAt, d.Insert)
		if err != nil {
			return err
		}
		switch {
		case ok && d.Insert == RunPending:
			res.Fire = append(res.Fire, Firing{Run: r, Schedule: s})
		case ok && d.Insert == RunSkipped:
			res.Skipped++
		}
	} else if d.Missed {
		res.Missed++
	}
	return ops.Advance(ctx, s.ID, d.NextDue)
}
