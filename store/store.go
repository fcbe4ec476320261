// Package store owns pacer's persistent state: jobs, tasks, results and the
// quota ledger. It declares the [Store] contract, its row types and its
// sentinel errors; the drivers live in the subpackages postgres (distributed
// mode) and sqlite (embedded mode), and storetest is the conformance suite both
// must pass.
//
// The store is the truth (DESIGN.md, invariant 1): the broker only carries task
// ids, and every decision about whether a task may run, whether it is done and
// how far a job has come is made here, inside a transaction.
//
// store imports no other pacer package.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Drivers translate their own errors into these; nothing
// above the store sees database/sql or driver errors.
var (
	// ErrNotFound means the job or task does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the row exists but is not in a state that allows the
	// operation (a claim of a task that is done, leased or not yet due; a
	// pause of a finished job; a completion by a worker that lost its lease).
	ErrConflict = errors.New("conflict")
)

// JobState is the lifecycle state of a job:
// queued → running → succeeded | failed | cancelled, and paused from/to running
// (or queued).
type JobState string

// Job states.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobPaused    JobState = "paused"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Finished reports whether s is a terminal state.
func (s JobState) Finished() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// JobStates lists every job state, in lifecycle order.
var JobStates = []JobState{JobQueued, JobRunning, JobPaused, JobSucceeded, JobFailed, JobCancelled}

// TaskState is the lifecycle state of a task. A pending task waits for its
// run_at and a worker; done, failed and cancelled are terminal.
type TaskState string

// Task states.
const (
	TaskPending   TaskState = "pending"
	TaskDone      TaskState = "done"
	TaskFailed    TaskState = "failed"
	TaskCancelled TaskState = "cancelled"
)

// ResultStatus is the status of one result row.
type ResultStatus string

// Result statuses.
const (
	// ResultOK means the upstream returned the item.
	ResultOK ResultStatus = "ok"
	// ResultNotFound means the upstream reported the item missing (deleted,
	// suspended, protected); Result.Error holds the upstream's reason.
	ResultNotFound ResultStatus = "not_found"
)

// Job is one submitted job with its counters.
type Job struct {
	ID         int64    `db:"id"`
	Kind       string   `db:"kind"`
	Params     []byte   `db:"params"`     // validated params as JSON
	Credential string   `db:"credential"` // a credential's name, never its token
	State      JobState `db:"state"`

	ItemsTotal  int64 `db:"items_total"`
	ItemsDone   int64 `db:"items_done"`   // items with a result row (ok or not_found)
	ItemsFailed int64 `db:"items_failed"` // items of tasks that failed for good
	TasksTotal  int64 `db:"tasks_total"`
	TasksDone   int64 `db:"tasks_done"`
	TasksFailed int64 `db:"tasks_failed"`
	Requests    int64 `db:"requests"` // upstream requests made, successful or not

	Summary   string `db:"summary"`    // set when the job finishes
	LastError string `db:"last_error"` // the most recent task error, if any

	CreatedAt  time.Time  `db:"created_at"`
	UpdatedAt  time.Time  `db:"updated_at"`
	StartedAt  *time.Time `db:"started_at"`  // first claim of one of its tasks
	FinishedAt *time.Time `db:"finished_at"` // entry into a terminal state

	// WaitQuota and WaitUntil say that the job's latest snoozed task waits
	// for quota WaitQuota until WaitUntil ("rate-limited until 14:05:00
	// (quota x-user-lookup)"). A WaitUntil in the past means the job is not
	// waiting; both are cleared when the job finishes.
	WaitQuota string     `db:"wait_quota"`
	WaitUntil *time.Time `db:"wait_until"`

	// NotifyWebhook and NotifyEmail are where word of the job's ending goes
	// ("" for nowhere): see [Notification].
	NotifyWebhook string `db:"notify_webhook"`
	NotifyEmail   string `db:"notify_email"`
}

// NewJob is what CreateJob inserts.
type NewJob struct {
	Kind       string
	Params     []byte // JSON; must be valid JSON
	Credential string
	// Run, when not zero, is the pending schedule run (see FireDue) that
	// this job fires: CreateJob marks the run fired with the job's id in
	// its own transaction, and fails with ErrConflict, writing nothing, if
	// the run is not pending (fired elsewhere, failed or deleted).
	Run int64
	// NotifyWebhook and NotifyEmail, if set, receive word of the job's
	// ending. The store checks neither; jobs.Service validates them.
	NotifyWebhook string
	NotifyEmail   string
}

// NewTask is one task to insert: at planning or as a follow-up of a task.
type NewTask struct {
	Payload []byte // kind-specific JSON
	Items   int    // how many items the task covers (0 if unknown, as for a page)
}

// Task is one unit of upstream work.
type Task struct {
	ID          int64      `db:"id"`
	JobID       int64      `db:"job_id"`
	Payload     []byte     `db:"payload"`
	Items       int        `db:"items"`
	State       TaskState  `db:"state"`
	Attempts    int        `db:"attempts"` // claims that counted as an attempt
	RunAt       time.Time  `db:"run_at"`   // not to be claimed before this time
	LastError   string     `db:"last_error"`
	LeaseOwner  string     `db:"lease_owner"`  // "" when not leased
	LeaseUntil  *time.Time `db:"lease_until"`  // nil when not leased
	PublishedAt *time.Time `db:"published_at"` // last hand-over to the broker; nil when not in flight
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

// Result is one result row, keyed by (JobID, Key): writing the same key again
// overwrites the row, never duplicates it.
type Result struct {
	JobID     int64        `db:"job_id"`
	Key       string       `db:"item_key"`
	Status    ResultStatus `db:"status"`
	Data      []byte       `db:"data"`  // JSON; nil for none
	Error     string       `db:"error"` // the upstream's reason for not_found
	TaskID    int64        `db:"task_id"`
	FetchedAt time.Time    `db:"fetched_at"`
}

// JobFilter selects jobs for ListJobs. The zero value lists the newest 50 jobs
// of every kind and state.
type JobFilter struct {
	State    JobState // "" for any
	Kind     string   // "" for any
	BeforeID int64    // 0 for the newest; else only jobs with ID < BeforeID
	Limit    int      // 0 means 50
}

// ResultFilter selects results for ListResults, in key order (keyset paging).
// The zero value lists the first 100 results of any status.
type ResultFilter struct {
	Status   ResultStatus // "" for any
	AfterKey string       // "" to start at the first key
	Limit    int          // 0 means 100
}

// FinishFunc decides, from a job whose tasks have all ended, its final state
// (JobSucceeded or JobFailed) and its summary. The store calls it inside the
// transaction that ends the last task, so the decision is atomic with it.
type FinishFunc func(Job) (JobState, string)

// Completion is what a worker commits when a task succeeds: its results, its
// follow-up tasks and its request count, in one transaction with the task's
// done mark and the job's counters (DESIGN.md, invariant 2).
//
// In Completion, Retry and Failure, Owner holds the lease if the task is
// leased to it: a lease that has expired but that no one else has claimed
// since still counts, so work that finished late is not thrown away.
type Completion struct {
	TaskID    int64
	Owner     string     // must hold the task's lease, else ErrConflict
	Results   []Result   // JobID and TaskID are filled in by the store
	FollowUps []NewTask  // tasks discovered by this one (a next page)
	Requests  int        // upstream requests this attempt made
	Now       time.Time  // FetchedAt of the results and the job's updated_at
	Finish    FinishFunc // required
	// Instances are annotation instances to create; one already present
	// (same scope, key and annotator, from any job) is skipped. JobID and
	// CreatedAt are filled in by the store.
	Instances []Instance
}

// Instance is one annotation instance: an item that one annotator is to
// annotate, within a scope (a project). It is keyed by (Scope, Key,
// Annotator), so creating it again, from a retry or from another job over the
// same items, creates nothing.
type Instance struct {
	Scope     string    `db:"scope"`
	Key       string    `db:"item_key"`
	Annotator string    `db:"annotator"`
	JobID     int64     `db:"job_id"` // the job that created it
	CreatedAt time.Time `db:"created_at"`
}

// Retry puts a leased task back to pending for a later run, releasing its lease.
type Retry struct {
	TaskID   int64
	Owner    string    // must hold the task's lease, else ErrConflict
	RunAt    time.Time // when it may run again
	Error    string    // recorded as the task's and the job's last error; "" keeps them
	Requests int       // upstream requests this attempt made
	// Refund gives back the attempt the claim counted: a snooze on a quota or
	// a shutdown is not a failure.
	Refund bool
	// WaitQuota, when set, names the quota the task waits for until RunAt,
	// and the job records it (Job.WaitQuota, Job.WaitUntil) unless it already
	// waits for a later time that has not passed.
	WaitQuota string
	Now       time.Time
}

// Failure marks a leased task failed for good.
type Failure struct {
	TaskID   int64
	Owner    string // must hold the task's lease, else ErrConflict
	Error    string
	Requests int
	Now      time.Time
	Finish   FinishFunc // required
}

// Store is the persistence contract. Both drivers pass storetest.
// Implementations are safe for concurrent use.
//
// Times are kept to the microsecond (finer parts are truncated) and returned
// in UTC. Arguments that break the documented rules (an empty kind or owner,
// invalid JSON, a negative count, a nil FinishFunc) are refused with an error
// that is neither ErrNotFound nor ErrConflict, before anything is written.
type Store interface {
	// Migrate applies the embedded migrations. It is safe to call from
	// several processes at once.
	Migrate(ctx context.Context) error
	// Ping checks that the store answers and its migrations are applied.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error

	// CreateJob inserts a job in state queued and its tasks, which it pulls
	// from next until next returns io.EOF, all in one transaction, numbering
	// the tasks in order and setting the job's items_total and tasks_total.
	// Tasks are due at now. If next returns another error, nothing is written
	// and that error is returned unwrapped. Kind is required.
	CreateJob(ctx context.Context, job NewJob, now time.Time, next func() (NewTask, error)) (Job, error)
	// GetJob returns one job, or ErrNotFound.
	GetJob(ctx context.Context, id int64) (Job, error)
	// ListJobs returns jobs newest first.
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	// CountJobs returns how many jobs are in each (kind, state). Keys missing
	// from the map have no jobs.
	CountJobs(ctx context.Context) (map[JobKindState]int64, error)
	// CancelJob moves a job that has not finished to cancelled and its pending
	// tasks to cancelled, in one transaction. ErrConflict if it had finished.
	//
	// Whatever moves a job into a terminal state (CancelJob, CompleteTask,
	// FailTask) inserts, in the same transaction, one pending [Notification]
	// per channel the job names ([NotificationTargets]), due at once.
	CancelJob(ctx context.Context, id int64, now time.Time) (Job, error)
	// PauseJob moves a queued or running job to paused: its tasks are neither
	// dispatched nor claimed. ErrConflict from any other state.
	PauseJob(ctx context.Context, id int64, now time.Time) (Job, error)
	// ResumeJob moves a paused job back to running (queued if it never ran)
	// and makes its pending tasks dispatchable again. ErrConflict unless paused.
	ResumeJob(ctx context.Context, id int64, now time.Time) (Job, error)

	// DispatchDue picks up to limit pending tasks of queued or running jobs
	// that are due (run_at <= now), not leased (or whose lease expired) and
	// not in flight (published_at is nil or older than now-republishAfter),
	// stamps them published_at = now and returns their ids, oldest run_at
	// first. Concurrent callers never get the same id from one round. A limit
	// of zero or less returns no ids.
	DispatchDue(ctx context.Context, now time.Time, republishAfter time.Duration, limit int) ([]int64, error)
	// Undispatch clears published_at of tasks whose publish failed, so the
	// next DispatchDue picks them up again.
	Undispatch(ctx context.Context, ids []int64) error
	// ClaimTask leases a task to owner until leaseUntil and counts an
	// attempt, clearing published_at. It returns the task and its job.
	// ErrNotFound if the task does not exist; ErrConflict if the task is not
	// pending, is not due, is leased by someone else (lease not expired), or
	// its job is not queued or running. The first claim of a queued job moves
	// it to running and sets started_at. The owner that holds an unexpired
	// lease may claim again (a redelivery to the same owner), which counts
	// another attempt; so an owner should name one worker slot, not a process.
	ClaimTask(ctx context.Context, id int64, owner string, now, leaseUntil time.Time) (Task, Job, error)
	// CompleteTask commits a task's results, follow-ups and done mark with its
	// job's counters; if this ended the job's last task, it finishes the job
	// with c.Finish. It returns the job as updated. ErrConflict if owner does
	// not hold the lease.
	//
	// If the job was cancelled while the task ran (CancelJob leaves a held
	// lease in place), the results and counters still commit, the follow-ups
	// are inserted as cancelled, and the job stays cancelled. A job paused
	// while its last task ran is finished like a running one.
	//
	// Annotation instances (c.Instances) are inserted in the same
	// transaction; those already present are skipped. They change no
	// counter: a kind that creates them plans its tasks' Items as the
	// instances they cover, so progress counts rows.
	//
	// Counters: tasks_done grows by 1 and requests by c.Requests; items_done
	// grows by the task's Items, or, for a task planned with Items 0 (a page),
	// by len(c.Results), in which case items_total grows by as much. Each
	// follow-up grows tasks_total by 1 and items_total by its Items. Results
	// are upserted on (job, key); when c.Results repeats a key, the last one
	// wins and counts once.
	CompleteTask(ctx context.Context, c Completion) (Job, error)
	// RetryTask puts a leased task back to pending at r.RunAt. ErrNotFound
	// if the task does not exist; ErrConflict if r.Owner does not hold the
	// lease. A task whose job was cancelled while it ran loses its lease and
	// stays cancelled.
	RetryTask(ctx context.Context, r Retry) error
	// FailTask marks a leased task failed, adds its items to items_failed and
	// finishes the job with f.Finish if this ended its last task (unless the
	// job was cancelled meanwhile). ErrConflict if f.Owner does not hold the
	// lease.
	FailTask(ctx context.Context, f Failure) (Job, error)
	// GetTask returns one task, or ErrNotFound.
	GetTask(ctx context.Context, id int64) (Task, error)
	// CountTasks returns how many of a job's tasks are in each state.
	CountTasks(ctx context.Context, jobID int64) (map[TaskState]int64, error)
	// ListErroredTasks returns up to limit of a job's tasks that have a last
	// error (failed, or pending with an error from an earlier attempt),
	// most recently updated first. A limit of zero or less returns none.
	ListErroredTasks(ctx context.Context, jobID int64, limit int) ([]Task, error)

	// ListTasks returns up to limit of a job's tasks whose state is one of
	// states (any state when empty), in id order, after id afterID: keyset
	// paging that streams a job of a million tasks. A limit of zero or less
	// returns no tasks.
	ListTasks(ctx context.Context, jobID int64, states []TaskState, afterID int64, limit int) ([]Task, error)

	// ListResults returns a job's results in key order: byte order, the
	// same in every driver.
	ListResults(ctx context.Context, jobID int64, f ResultFilter) ([]Result, error)
	// CountResults returns how many of a job's results have each status.
	CountResults(ctx context.Context, jobID int64) (map[ResultStatus]int64, error)

	// CountInstances returns how many annotation instances scope holds, and
	// how many of them job jobID created (0 for none or an unknown job).
	CountInstances(ctx context.Context, scope string, jobID int64) (total, created int64, err error)
	// ListInstances returns up to limit of the annotation instances job jobID
	// created, in (key, annotator) byte order, after the pair (afterKey,
	// afterAnnotator): keyset paging for an export. ("", "") starts at the
	// first. A limit of zero or less returns none. The pair identifies an
	// instance only if the job created instances of a single scope, as the
	// annotate kind does; otherwise paging may skip rows.
	ListInstances(ctx context.Context, jobID int64, afterKey, afterAnnotator string, limit int) ([]Instance, error)

	// SpendQuota records n requests at now against quota key if, with them,
	// no span of length span ending at now would hold more than limit
	// requests; it is the cross-process ledger behind ratelimit. When it
	// refuses, retryAt is the earliest time at which the same call could
	// succeed, to the microsecond: a call at retryAt succeeds and one a
	// microsecond earlier does not, if nothing else spends meanwhile. Calls
	// for one key are serialized across every process that shares the store.
	// Entries older than span are pruned. limit, span and n must be positive;
	// n greater than limit can never succeed and is an error.
	SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error)

	// TakeWindow spends n requests of a fixed-window quota: limit requests per
	// window, the way X counts them. A window opens at the first take after
	// the previous one closed (or where ObserveWindow aligned it) and closes
	// window later. A take refuses, with retryAt the window's close, when the
	// window has fewer than n requests left, and with retryAt the block's end
	// while BlockQuota blocks the key (the window's close if that is later
	// and the window will still be too full then).
	//
	// Requests taken in the last margin before a window closes may reach the
	// upstream after it reset, and count in its next window: they also count
	// in the next window here, so that one never admits more than the
	// upstream does.
	//
	// On success, generation identifies the window and ordinal is the count
	// of requests taken in it including these n; pass both to ObserveWindow
	// with what the upstream answered. Calls for one key are serialized
	// across every process that shares the store. limit, window and n must be
	// positive, margin must not be negative, and n greater than limit is an
	// error.
	TakeWindow(ctx context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (ok bool, generation int64, ordinal int, retryAt time.Time, err error)
	// ObserveWindow corrects the window of key with what the upstream said
	// in answer to the request taken as (generation, ordinal): its window
	// closes at reset (the local time; zero if the upstream did not say),
	// holds limit requests (0 if not said) and has remaining left (-1 if not
	// said). The upstream wins where it disagrees: a reset moves the window's
	// close, a limit replaces the declared one until the window closes, and
	// remaining caps the window at ordinal + remaining requests. Among
	// observations of one window only the one of the highest ordinal counts
	// for remaining, since answers arrive out of order. An observation of a
	// generation that is no longer the current one is ignored.
	ObserveWindow(ctx context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error
	// BlockQuota refuses every take and spend of key until until (a 429 with
	// its reset, say), in every process. A block never shortens an earlier,
	// later one.
	BlockQuota(ctx context.Context, key string, until time.Time) error
	// QuotaState reads key's ledger at now without changing it, for ETAs and
	// admission checks. span is the sliding window to count SpendQuota entries
	// over (0: don't count). A key never used returns a zero state with Key set,
	// and no error. key is required and span may not be negative.
	//
	// It takes no lock: a TakeWindow, SpendQuota or BlockQuota running
	// meanwhile may change the key right after, so the state is advice, and
	// only TakeWindow and SpendQuota decide.
	QuotaState(ctx context.Context, key string, span time.Duration, now time.Time) (QuotaState, error)

	// RetireCredential records that credential name is out of use, for
	// reason, in every process. Retiring a retired credential keeps the
	// first record. name must not be empty.
	RetireCredential(ctx context.Context, name, reason string, now time.Time) error
	// ListRetiredCredentials returns every retired credential, by name.
	ListRetiredCredentials(ctx context.Context) ([]RetiredCredential, error)
	// RestoreCredential puts a retired credential back in use. ErrNotFound
	// if it was not retired.
	RestoreCredential(ctx context.Context, name string) error

	// ClaimNotifications leases up to limit pending notifications that are
	// due (run_at <= now) and not leased (or whose lease expired) to owner
	// until leaseUntil, counting an attempt on each, oldest run_at first.
	// Concurrent callers, in any process, never get the same row while its
	// lease holds. A limit of zero or less returns none.
	ClaimNotifications(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Notification, error)
	// SettleNotification ends a delivery attempt: sent, failed for good, or
	// pending again at s.RunAt, releasing the lease. ErrNotFound if there is
	// no such notification; ErrConflict if s.Owner does not hold its lease.
	SettleNotification(ctx context.Context, s Settlement) error
	// ListNotifications returns a job's notifications in id order (none for
	// an unknown job).
	ListNotifications(ctx context.Context, jobID int64) ([]Notification, error)

	// Schedules (schedule.go has their types and rules).

	// CreateSchedule inserts s (its ID, LastError and times are ignored) and
	// returns it as stored. ErrConflict if a schedule of that name exists; s
	// must pass [ValidateSchedule].
	CreateSchedule(ctx context.Context, s Schedule, now time.Time) (Schedule, error)
	// UpdateSchedule replaces the name, job template, timing, policies,
	// paused flag and next due time of schedule s.ID with those of s, and
	// clears its last error. ErrNotFound if there is no such schedule;
	// ErrConflict if the name is another schedule's.
	UpdateSchedule(ctx context.Context, s Schedule, now time.Time) (Schedule, error)
	// GetSchedule returns one schedule, or ErrNotFound.
	GetSchedule(ctx context.Context, id int64) (Schedule, error)
	// ListSchedules returns every schedule, by name.
	ListSchedules(ctx context.Context) ([]Schedule, error)
	// DeleteSchedule deletes a schedule and its runs (the jobs they created
	// stay). A run claimed but not yet fired is then never fired.
	// ErrNotFound if there is no such schedule.
	DeleteSchedule(ctx context.Context, id int64) error
	// ListScheduleRuns returns a schedule's runs, newest due time first.
	ListScheduleRuns(ctx context.Context, scheduleID int64, f RunFilter) ([]ScheduleRun, error)
	// FireDue decides, in one transaction, what becomes of each schedule
	// that is due or has a run waiting, holding the schedules it works on
	// (another FireDue meanwhile, in any process, skips them). It records a
	// run per due time, unique per schedule and due time, so that a due time
	// is decided once across every process; advances next_due with f.Next by
	// the schedule's overlap and missed-run policies ([DecideDue]); and
	// returns the runs the caller must fire now, leased to f.Owner until
	// f.LeaseUntil. A pending run whose lease ran out (its owner died before
	// firing it) is returned again. The caller fires a run with CreateJob
	// and NewJob.Run, which marks the run fired in the job's own
	// transaction, so a run creates one job at most; it gives a run up with
	// FailRun.
	FireDue(ctx context.Context, f FireDue) (FireResult, error)
	// FailRun marks a pending run failed for reason (its submission was
	// refused), so that it is never fired. owner must hold the run's lease,
	// as FireDue gave it: one that ran out still counts until another
	// scheduler takes the run over, so a late owner cannot fail a run that
	// someone else is firing. ErrConflict if it is not pending (it fired
	// meanwhile) or owner does not hold it; ErrNotFound if there is no such
	// run.
	FailRun(ctx context.Context, runID int64, owner, reason string, now time.Time) error
	// ResultMarks returns, for each task of job jobID that stored ok
	// results, its payload and the greatest key among them, comparing keys
	// as decimal numbers compare (shorter first, then byte order), in task
	// id order: the high-water marks of an incremental schedule (per user,
	// for a timeline of several). None for a job without ok results.
	ResultMarks(ctx context.Context, jobID int64) ([]ResultMark, error)
}

// QuotaState is what the ledger knows of one quota key at a time, as
// [Store.QuotaState] reads it. Times are in UTC, to the microsecond. A window
// whose close is at or before that time is not open, and a block that ended at
// or before it is over. The zero value (with Key set) is a key with no open
// window, no block and no recent spends.
type QuotaState struct {
	Key string
	// Taken counts the requests taken in the fixed window open at that time
	// (0 if none is open), including late ones carried over from the
	// previous window. When no window is open, the next one will start with
	// the previous window's late requests; Taken does not count them.
	Taken int
	// Limit is the open window's effective limit: the upstream's reported
	// limit, capped by what it said remains (ordinal + remaining); 0 when no
	// window is open or nothing is known beyond the declared limit (the
	// caller then uses its declared limit). When the upstream reported a
	// remaining but no limit, Limit is that cap alone, and a declared limit
	// below it still applies, as in TakeWindow.
	Limit int
	// ClosesAt is when the open fixed window closes; nil when none is open
	// at that time.
	ClosesAt *time.Time
	// BlockedUntil is when a block (BlockQuota) ends; nil when not blocked
	// at that time.
	BlockedUntil *time.Time
	// SlidingTaken counts the requests recorded by SpendQuota within the
	// last span given: entries at times after now-span, as SpendQuota counts
	// them (so an entry stamped later than now counts too). SpendQuota
	// prunes entries older than its own span, so a longer span here sees no
	// further back than that. 0 when span is 0.
	SlidingTaken int
}

// RetiredCredential is a credential taken out of use because its upstream
// refused it (a 401, or a 403 not about rate).
type RetiredCredential struct {
	Name      string    `db:"name"`
	Reason    string    `db:"reason"` // what the upstream answered, never the token
	RetiredAt time.Time `db:"retired_at"`
}

// JobKindState keys CountJobs.
type JobKindState struct {
	Kind  string
	State JobState
}
