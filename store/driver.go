package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// This file holds the rules of the [Store] contract that need no database:
// argument checks, the lease and finish checks made inside a transaction, and
// the quota ledger's arithmetic. They are shared rules for drivers, so that
// both enforce exactly the same contract, with the same error texts; callers
// above the store have no use for them.

// ValidateNewJob checks what CreateJob requires of j: a kind and params that
// are valid JSON. It returns an error naming the field that is wrong.
func ValidateNewJob(j NewJob) error {
	if j.Kind == "" {
		return errors.New("kind is required")
	}
	if !json.Valid(j.Params) {
		return errors.New("params are not valid JSON")
	}
	return nil
}

// ValidateNewTask checks t, planned or a follow-up: Items may not be negative
// and a Payload, if any, must be valid JSON.
func ValidateNewTask(t NewTask) error {
	if t.Items < 0 {
		return fmt.Errorf("items %d is negative", t.Items)
	}
	if len(t.Payload) > 0 && !json.Valid(t.Payload) {
		return errors.New("payload is not valid JSON")
	}
	return nil
}

// ValidateClaim checks the arguments of ClaimTask: an owner is required and
// leaseUntil must be after now.
func ValidateClaim(owner string, now, leaseUntil time.Time) error {
	if owner == "" {
		return errors.New("owner is required")
	}
	if !leaseUntil.After(now) {
		return fmt.Errorf("lease until %v is not after now", leaseUntil)
	}
	return nil
}

// ValidateCompletion checks c and returns its results with duplicate keys
// removed, the last one winning and keeping its place: one statement may not
// upsert a key twice, and the contract counts a repeated key once. c.Results
// is returned as is when no key repeats. Each follow-up must pass
// [ValidateNewTask], and each result needs a key, a known status and, if it
// has Data, valid JSON. Each instance needs a scope, a key and an annotator.
func ValidateCompletion(c Completion) ([]Result, error) {
	if c.Owner == "" {
		return nil, errors.New("owner is required")
	}
	if c.Finish == nil {
		return nil, errors.New("finish func is required")
	}
	if c.Requests < 0 {
		return nil, fmt.Errorf("requests %d is negative", c.Requests)
	}
	for i, f := range c.FollowUps {
		if err := ValidateNewTask(f); err != nil {
			return nil, fmt.Errorf("follow-up %d: %w", i, err)
		}
	}
	for i, in := range c.Instances {
		if in.Scope == "" || in.Key == "" || in.Annotator == "" {
			return nil, fmt.Errorf("instance %d: scope, key and annotator are required", i)
		}
	}
	last := make(map[string]int, len(c.Results))
	for i, r := range c.Results {
		if r.Key == "" {
			return nil, fmt.Errorf("result %d: key is required", i)
		}
		if r.Status != ResultOK && r.Status != ResultNotFound {
			return nil, fmt.Errorf("result %q: unknown status %q", r.Key, r.Status)
		}
		if len(r.Data) > 0 && !json.Valid(r.Data) {
			return nil, fmt.Errorf("result %q: data is not valid JSON", r.Key)
		}
		last[r.Key] = i
	}
	if len(last) == len(c.Results) {
		return c.Results, nil
	}
	out := make([]Result, 0, len(last))
	for i, r := range c.Results {
		if last[r.Key] == i {
			out = append(out, r)
		}
	}
	return out, nil
}

// ValidateRetry checks r: an owner is required and Requests may not be
// negative.
func ValidateRetry(r Retry) error {
	if r.Owner == "" {
		return errors.New("owner is required")
	}
	if r.Requests < 0 {
		return fmt.Errorf("requests %d is negative", r.Requests)
	}
	return nil
}

// ValidateFailure checks f: an owner and a finish func are required and
// Requests may not be negative.
func ValidateFailure(f Failure) error {
	if f.Owner == "" {
		return errors.New("owner is required")
	}
	if f.Finish == nil {
		return errors.New("finish func is required")
	}
	if f.Requests < 0 {
		return fmt.Errorf("requests %d is negative", f.Requests)
	}
	return nil
}

// CheckLease reports whether owner holds the lease of t, as read inside the
// transaction that ends it: t must be pending (or cancelled while it ran) and
// leased to owner. The lease's expiry does not matter; see [Completion]. It
// returns an error wrapping [ErrConflict] when owner does not hold it.
func CheckLease(t Task, owner string) error {
	if t.LeaseOwner != owner || (t.State != TaskPending && t.State != TaskCancelled) {
		return fmt.Errorf("task is %s and leased to %q: %w", t.State, t.LeaseOwner, ErrConflict)
	}
	return nil
}

// Verdict decides whether j, with its counters updated for a task that just
// ended, finishes now, and how. It returns an empty state when it does not:
// when finish is nil (the task is only retried), j has already finished
// (cancelled while the task ran), or some of its tasks have not ended.
// Otherwise it returns what finish returns, and an error if that state is
// neither [JobSucceeded] nor [JobFailed].
func Verdict(j Job, finish FinishFunc) (state JobState, summary string, err error) {
	if finish == nil || j.State.Finished() || j.TasksDone+j.TasksFailed < j.TasksTotal {
		return "", "", nil
	}
	state, summary = finish(j)
	if state != JobSucceeded && state != JobFailed {
		return "", "", fmt.Errorf("finish func returned state %q, want succeeded or failed", state)
	}
	return state, summary, nil
}

// ValidateSpend checks the arguments of SpendQuota: a key is required; limit,
// span and n must be positive; and n may not exceed limit, since such a spend
// could never fit.
func ValidateSpend(key string, limit int, span time.Duration, n int) error {
	switch {
	case key == "":
		return errors.New("key is required")
	case limit <= 0:
		return fmt.Errorf("limit %d is not positive", limit)
	case span <= 0:
		return fmt.Errorf("span %v is not positive", span)
	case n <= 0:
		return fmt.Errorf("n %d is not positive", n)
	case n > limit:
		return fmt.Errorf("%d requests can never fit a limit of %d", n, limit)
	}
	return nil
}

// Spend is one row of the quota ledger: N requests spent at At.
type Spend struct {
	At time.Time `db:"at"`
	N  int       `db:"n"`
}

// DecideSpend decides a spend of n at now, given the spends still inside the
// window (At > now-span), oldest first; the arguments must pass
// [ValidateSpend]. When the spend does not fit, retryAt is the earliest
// t >= now at which the spends inside (t-span, t] plus n fit: spends leave the
// window one by one, the oldest at its At+span. retryAt is in UTC, rounded up
// to the microsecond, the store's resolution, so that a call at retryAt
// succeeds and one a microsecond earlier does not. When the spend fits,
// retryAt is the zero time.
func DecideSpend(spends []Spend, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time) {
	used := 0
	for _, s := range spends {
		used += s.N
	}
	if used+n <= limit {
		return true, time.Time{}
	}
	for _, s := range spends {
		used -= s.N
		if used+n <= limit {
			return false, ceilMicro(s.At.Add(span)).UTC()
		}
	}
	// Unreachable while n <= limit: once every spend has left, n fits.
	return false, ceilMicro(now.Add(span)).UTC()
}

// ceilMicro rounds t up to the next microsecond.
func ceilMicro(t time.Time) time.Time {
	if tr := t.Truncate(time.Microsecond); !tr.Equal(t) {
		return tr.Add(time.Microsecond)
	}
	return t
}

// ValidateTake checks the arguments of TakeWindow: a key is required; limit,
// window and n must be positive; margin may not be negative; and n may not
// exceed limit, since such a take could never fit.
func ValidateTake(key string, limit int, window, margin time.Duration, n int) error {
	switch {
	case key == "":
		return errors.New("key is required")
	case limit <= 0:
		return fmt.Errorf("limit %d is not positive", limit)
	case window <= 0:
		return fmt.Errorf("window %v is not positive", window)
	case margin < 0:
		return fmt.Errorf("margin %v is negative", margin)
	case n <= 0:
		return fmt.Errorf("n %d is not positive", n)
	case n > limit:
		return fmt.Errorf("%d requests can never fit a limit of %d", n, limit)
	}
	return nil
}

// ValidateObserve checks the arguments of ObserveWindow: a key is required;
// generation and ordinal must be positive, as TakeWindow returns them; limit
// may not be negative (0 is "not said"); and remaining may not be below -1
// ("not said").
func ValidateObserve(key string, generation int64, ordinal, limit, remaining int) error {
	switch {
	case key == "":
		return errors.New("key is required")
	case generation <= 0:
		return fmt.Errorf("generation %d is not positive", generation)
	case ordinal <= 0:
		return fmt.Errorf("ordinal %d is not positive", ordinal)
	case limit < 0:
		return fmt.Errorf("limit %d is negative", limit)
	case remaining < -1:
		return fmt.Errorf("remaining %d is below -1", remaining)
	}
	return nil
}

// ValidateBlock checks the arguments of BlockQuota (a key is required) and
// returns until as the store keeps it: in UTC, rounded up to the microsecond,
// so that the block refuses a call a microsecond before until and admits one
// at it. A zero until blocks nothing; the caller need not write it.
func ValidateBlock(key string, until time.Time) (time.Time, error) {
	if key == "" {
		return time.Time{}, errors.New("key is required")
	}
	if until.IsZero() {
		return time.Time{}, nil
	}
	return ceilMicro(until).UTC(), nil
}

// Window is the state of one quota key's fixed window and block, the row
// that TakeWindow, ObserveWindow and BlockQuota keep per key. Its methods are
// the arithmetic of those calls, shared by both drivers; a driver reads the
// row under the key's lock, applies one method and writes the row back if it
// changed. Times are in UTC, to the microsecond. The zero value is a key that
// has never opened a window and is not blocked.
type Window struct {
	// Generation numbers the key's windows: 0 before the first opens, then
	// one more each time one opens.
	Generation int64
	// ClosesAt is when the current window closes; zero before the first.
	ClosesAt time.Time
	// Taken counts the requests taken in the current window, including
	// those carried over from the previous one; Late counts those of them
	// taken within margin of ClosesAt, which count again in the next window.
	Taken, Late int
	// Limit is the upstream's limit for the current window, which replaces
	// the declared one; 0 if none was observed.
	Limit int
	// Cap is the most requests the current window may hold, as observed in
	// the answer to the request of ordinal CapOrdinal; there is no cap while
	// CapOrdinal is 0.
	Cap, CapOrdinal int
	// BlockedUntil refuses every take and spend before it; zero for none.
	BlockedUntil time.Time
}

// Take decides a take of n requests at now, as TakeWindow does, and records
// it in w when it is granted; the arguments must pass [ValidateTake] and now
// must be truncated to the microsecond. It changes w only when it grants the
// take or opens a new window (Generation grows).
//
// While the key is blocked, the take is refused with retryAt the block's end,
// or the window's close if the window will still be open then and too full.
// A take at or after the close opens a new window that closes window later
// (rounded up to the microsecond, so that a take at retryAt finds it open),
// and that starts with the previous window's late requests. A take that does
// not fit is refused with retryAt the window's close. The limit that applies
// is the observed one if any, else limit, lowered by the cap if any. On
// success ordinal is the new Taken; on refusal it is 0. retryAt is zero on
// success.
func (w *Window) Take(limit int, window, margin time.Duration, n int, now time.Time) (ok bool, ordinal int, retryAt time.Time) {
	if now.Before(w.BlockedUntil) {
		retryAt = w.BlockedUntil
		if w.ClosesAt.After(retryAt) && !w.fits(limit, n) {
			retryAt = w.ClosesAt
		}
		return false, 0, retryAt
	}
	if w.ClosesAt.IsZero() || !now.Before(w.ClosesAt) {
		*w = Window{
			Generation:   w.Generation + 1,
			ClosesAt:     ceilMicro(now.Add(window)).UTC(),
			Taken:        w.Late,
			BlockedUntil: w.BlockedUntil,
		}
	}
	if !w.fits(limit, n) {
		return false, 0, w.ClosesAt
	}
	w.Taken += n
	if !now.Before(w.ClosesAt.Add(-margin)) {
		w.Late += n
	}
	return true, w.Taken, time.Time{}
}

// fits reports whether n more requests fit the current window: the upstream's
// observed limit replaces the declared one, and a cap lowers either.
func (w *Window) fits(limit, n int) bool {
	if w.Limit > 0 {
		limit = w.Limit
	}
	if w.CapOrdinal > 0 {
		limit = min(limit, w.Cap)
	}
	return w.Taken+n <= limit
}

// Observe applies what the upstream answered to the request taken as
// (generation, ordinal), as ObserveWindow does, and reports whether w
// changed; the arguments must pass [ValidateObserve]. An observation of
// another generation than the current one changes nothing. A reset after now
// moves the close (rounded up to the microsecond); a reset at or before now
// is stale and ignored. A positive limit replaces the declared one until the
// window closes. A remaining of 0 or more caps the window at ordinal +
// remaining, unless an observation of a higher ordinal already set the cap.
func (w *Window) Observe(generation int64, ordinal, limit, remaining int, reset, now time.Time) (changed bool) {
	if generation != w.Generation || w.Generation == 0 {
		return false
	}
	if !reset.IsZero() && reset.After(now) {
		if c := ceilMicro(reset).UTC(); !c.Equal(w.ClosesAt) {
			w.ClosesAt, changed = c, true
		}
	}
	if limit > 0 && limit != w.Limit {
		w.Limit, changed = limit, true
	}
	if remaining >= 0 && ordinal >= w.CapOrdinal {
		if c := ordinal + remaining; c != w.Cap || ordinal != w.CapOrdinal {
			w.Cap, w.CapOrdinal, changed = c, ordinal, true
		}
	}
	return changed
}

// DecideBlockedSpend adjusts a SpendQuota decision for a block of the key
// until blockedUntil: before it, the spend is refused, and retryAt is the
// later of the block's end and the time at which the spend fits the window
// (now, if it fits already). ok and retryAt are what [DecideSpend] returned.
func DecideBlockedSpend(ok bool, retryAt, blockedUntil, now time.Time) (bool, time.Time) {
	if !now.Before(blockedUntil) {
		return ok, retryAt
	}
	if ok || retryAt.Before(blockedUntil) {
		return false, blockedUntil
	}
	return false, retryAt
}

// ValidateQuotaState checks the arguments of QuotaState: a key is required
// and span may not be negative (0 counts no spends).
func ValidateQuotaState(key string, span time.Duration) error {
	switch {
	case key == "":
		return errors.New("key is required")
	case span < 0:
		return fmt.Errorf("span %v is negative", span)
	}
	return nil
}

// State returns what w means at now, as QuotaState reports it: the open
// window's count, effective limit and close, and the block, if any. A window
// whose close is at or before now is not open, and a block that ended at or
// before now is over; both then read as zero (nil). The limit is the observed
// one, lowered by the cap if any, or the cap alone when no limit was
// observed. Key and SlidingTaken are left for the driver to fill in. w is not
// changed; now must be truncated to the microsecond.
func (w Window) State(now time.Time) QuotaState {
	var s QuotaState
	if !w.ClosesAt.IsZero() && now.Before(w.ClosesAt) {
		closesAt := w.ClosesAt
		s.Taken, s.ClosesAt = w.Taken, &closesAt
		s.Limit = w.Limit
		if w.CapOrdinal > 0 && (s.Limit == 0 || w.Cap < s.Limit) {
			s.Limit = w.Cap
		}
	}
	if now.Before(w.BlockedUntil) {
		blockedUntil := w.BlockedUntil
		s.BlockedUntil = &blockedUntil
	}
	return s
}

// TaskCountsFromJob derives CountTasks from a job's counters, which change in
// the same transactions as its tasks' states: tasks_done and tasks_failed
// count the done and failed tasks, and every other task is pending, leased
// or not. A cancelled job's tasks may also be cancelled, which no counter
// records, so for one ok is false and the caller counts the rows. States
// with no task are left out, as CountTasks leaves them out. It saves a scan
// of every task of the job on each view of a job's page (10,000 tasks for
// a million tweets; a million for a million http_get items).
func TaskCountsFromJob(j Job) (counts map[TaskState]int64, ok bool) {
	if j.State == JobCancelled {
		return nil, false
	}
	counts = make(map[TaskState]int64, 3)
	for state, n := range map[TaskState]int64{
		TaskDone:    j.TasksDone,
		TaskFailed:  j.TasksFailed,
		TaskPending: j.TasksTotal - j.TasksDone - j.TasksFailed,
	} {
		if n > 0 {
			counts[state] = n
		}
	}
	return counts, true
}
