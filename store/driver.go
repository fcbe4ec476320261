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
// has Data, valid JSON.
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
