package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
)

// LongWindow is the shortest quota window that Submit treats as a budget: a
// job that needs more of it than is left is refused, since waiting for such
// a window to reset is not waiting but postponing (a monthly cap).
const LongWindow = 24 * time.Hour

// quotaLeft is what one quota has left now and how it refills.
type quotaLeft struct {
	quota   ratelimit.Quota
	left    int       // requests left in the window open now
	refill  time.Time // when the open window closes; zero if none is open
	limit   int       // requests per window after that
	blocked time.Time // zero, or when a block ends
}

// servedBy is how many requests q lets through from now until now+d: what
// is left of the open window at once (after any block), then a window's
// limit at each refill.
func (q quotaLeft) servedBy(now time.Time, d time.Duration) int {
	start := now
	if q.blocked.After(start) {
		start = q.blocked
	}
	end := now.Add(d)
	if end.Before(start) {
		return 0
	}
	n, refill := q.left, q.refill
	if refill.IsZero() || !refill.After(start) {
		// No window is open by the time requests may go (a block ends at
		// the upstream's reset): the first request opens a fresh one, and
		// the next refill is a window later.
		if start.After(now) || refill.IsZero() && q.left == 0 {
			n = q.limit
		}
		refill = start.Add(q.quota.Window)
	}
	if !end.Before(refill) {
		n += q.limit * (1 + int(end.Sub(refill)/q.quota.Window))
	}
	return n
}

// servedBy is how many requests a set of credentials lets through by now+d:
// each credential as fast as its slowest quota allows, all together.
func servedBy(left [][]quotaLeft, now time.Time, d time.Duration) int {
	total := 0
	for _, quotas := range left {
		n := -1
		for _, q := range quotas {
			if s := q.servedBy(now, d); n < 0 || s < n {
				n = s
			}
		}
		if n < 0 {
			return int(^uint(0) >> 1) // a credential without quotas: no limit
		}
		total += n
	}
	return total
}

// left reads what each quota of creds has left from the ledger.
func (s *Service) left(ctx context.Context, creds []Credential, now time.Time) ([][]quotaLeft, error) {
	out := make([][]quotaLeft, len(creds))
	for i, c := range creds {
		for _, q := range c.Quotas {
			span := time.Duration(0)
			if q.Sliding {
				span = q.Window
			}
			st, err := s.cfg.Store.QuotaState(ctx, q.Key, span, now)
			if err != nil {
				return nil, fmt.Errorf("read quota %s: %w", q.Key, err)
			}
			ql := quotaLeft{quota: q, limit: q.Limit, left: q.Limit}
			if st.Limit > 0 {
				ql.limit = min(ql.limit, st.Limit)
			}
			switch {
			case q.Sliding:
				ql.left = max(q.Limit-st.SlidingTaken, 0)
			case st.ClosesAt != nil:
				ql.left = max(ql.limit-st.Taken, 0)
				ql.refill = *st.ClosesAt
				ql.limit = q.Limit // a new window starts from the declared limit
			}
			if st.BlockedUntil != nil {
				ql.blocked = *st.BlockedUntil
			}
			out[i] = append(out[i], ql)
		}
	}
	return out, nil
}

// estimate is how long requests take on creds, to the second, and the
// budgets (long-window quotas) that cannot hold them. A budget binds only
// when every credential has one.
func estimate(left [][]quotaLeft, requests int, now time.Time) (time.Duration, []string) {
	if len(left) == 0 || requests <= 0 {
		return 0, nil
	}
	budgetLeft, budgeted := 0, true
	var budgets []string
	for _, quotas := range left {
		credLong := false
		for _, q := range quotas {
			if q.quota.Window >= LongWindow && !credLong {
				credLong = true
				budgetLeft += q.left
				budgets = append(budgets, fmt.Sprintf("%s has %s of %s left until %s", q.quota.Key,
					thousands(int64(q.left)), thousands(int64(q.quota.Limit)), refillText(q)))
			}
		}
		budgeted = budgeted && credLong
	}
	if budgeted && requests > budgetLeft {
		return 0, budgets
	}
	if servedBy(left, now, 0) >= requests {
		return 0, nil
	}
	// The least whole number of seconds by which enough is served.
	lo, hi := time.Duration(0), time.Second
	for servedBy(left, now, hi) < requests {
		lo, hi = hi, hi*2
		if hi > 100*365*24*time.Hour {
			return hi, nil // a century: as good as never
		}
	}
	for hi-lo > time.Second {
		mid := (lo + hi) / 2 / time.Second * time.Second
		if servedBy(left, now, mid) >= requests {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

func refillText(q quotaLeft) string {
	if q.refill.IsZero() {
		return "its window opens"
	}
	return q.refill.UTC().Format("2006-01-02 15:04 UTC")
}

// admit refuses a job that needs more requests than its credentials'
// budgets have left once the unfinished jobs on them have had theirs, with
// the numbers, and returns the time its requests will take otherwise, after
// those jobs' (first come, first served).
func (s *Service) admit(ctx context.Context, credential string, requests int) (time.Duration, error) {
	creds, ok := s.cfg.Credentials.resolve(credential, s.cfg.Pools)
	if !ok {
		return 0, nil
	}
	now := s.cfg.NowFunc()
	left, err := s.left(ctx, creds, now)
	if err != nil {
		return 0, err
	}
	owed, owing, err := s.owed(ctx, creds)
	if err != nil {
		return 0, err
	}
	eta, over := estimate(left, owed+requests, now)
	if over != nil {
		ahead := ""
		switch {
		case owing == 1:
			ahead = fmt.Sprintf(" after the %s that 1 unfinished job still needs", plural(owed, "request"))
		case owing > 1:
			ahead = fmt.Sprintf(" after the %s that %s unfinished jobs still need", plural(owed, "request"), thousands(int64(owing)))
		}
		return 0, Invalid("ids", "the job needs %s%s, more than its budget allows: %s", plural(requests, "request"), ahead, strings.Join(over, "; "))
	}
	return eta, nil
}

// plural is "1 request" or "2,500 requests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(int64(n)) + " " + noun + "s"
}

// owed counts the requests that unfinished jobs (queued, running or paused)
// still need on any of creds, one per task left as admission counts a new
// job's, and how many jobs those are. A job on a pool that shares only some
// of creds counts in full: that errs towards refusing, never towards a
// budget broken halfway through a job. A job being created (its own
// transaction not yet committed) is not among them.
func (s *Service) owed(ctx context.Context, creds []Credential) (requests, jobs int, err error) {
	names := make(map[string]bool, len(creds))
	for _, c := range creds {
		names[c.Name] = true
	}
	const page = 500
	for _, state := range []store.JobState{store.JobQueued, store.JobRunning, store.JobPaused} {
		for before := int64(0); ; {
			list, err := s.cfg.Store.ListJobs(ctx, store.JobFilter{State: state, BeforeID: before, Limit: page})
			if err != nil {
				return 0, 0, fmt.Errorf("unfinished jobs: %w", err)
			}
			for _, j := range list {
				theirs, ok := s.cfg.Credentials.resolve(j.Credential, s.cfg.Pools)
				if !ok || !slices.ContainsFunc(theirs, func(c Credential) bool { return names[c.Name] }) {
					continue
				}
				if n := j.TasksTotal - j.TasksDone - j.TasksFailed; n > 0 {
					requests += int(n)
					jobs++
				}
			}
			if len(list) < page {
				break
			}
			before = list[len(list)-1].ID
		}
	}
	return requests, jobs, nil
}

// ETA estimates how long j has left from its quotas: its remaining requests
// (one per task left) at the pace its credentials' quotas allow from now.
// The second result is false when the job has no quota to go by.
func (s *Service) ETA(ctx context.Context, j store.Job) (time.Duration, bool, error) {
	creds, ok := s.cfg.Credentials.resolve(j.Credential, s.cfg.Pools)
	if !ok || j.State.Finished() {
		return 0, false, nil
	}
	hasQuota := false
	for _, c := range creds {
		hasQuota = hasQuota || len(c.Quotas) > 0
	}
	if !hasQuota {
		return 0, false, nil
	}
	now := s.cfg.NowFunc()
	left, err := s.left(ctx, creds, now)
	if err != nil {
		return 0, false, err
	}
	eta, _ := estimate(left, int(j.TasksTotal-j.TasksDone-j.TasksFailed), now)
	return eta, true, nil
}
