package jobs

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pacerhq/pacer/store"
)

// ScheduleUsage is what the schedules need of their quotas: each quota's
// requests per window, shared out among the schedules that spend it, and
// warnings where they need more together than a quota allows.
type ScheduleUsage struct {
	Quotas   []QuotaUsage `json:"quotas"`
	Warnings []string     `json:"warnings,omitempty"`
}

// QuotaUsage is one quota's share-out among the schedules.
type QuotaUsage struct {
	Quota  string          `json:"quota"`
	Limit  int             `json:"limit"`  // requests per window
	Window string          `json:"window"` // as a Go duration
	Needed int             `json:"needed"` // requests the schedules need per window, together
	Shares []ScheduleShare `json:"shares"`
}

// Over reports whether the schedules together need more than the quota
// allows in one window.
func (q QuotaUsage) Over() bool { return q.Needed > q.Limit }

// ScheduleShare is what one schedule needs of one quota per window.
type ScheduleShare struct {
	ScheduleID int64   `json:"schedule_id"`
	Schedule   string  `json:"schedule"`
	Requests   int     `json:"requests"` // per window, at most
	Share      float64 `json:"share"`    // Requests over the quota's limit (may exceed 1)
}

// RunCost estimates the requests one run of sc makes: what its latest
// finished run made, or, before any, one per task its template plans (a
// paginated kind plans one task per user, and makes a request per page, so
// its first estimate is low until a run has finished).
func (s *Scheduler) RunCost(ctx context.Context, sc store.Schedule) (int, error) {
	runs, err := s.store.ListScheduleRuns(ctx, sc.ID, store.RunFilter{State: store.RunFired, Limit: 5})
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		j, err := s.store.GetJob(ctx, *r.JobID)
		if err != nil {
			return 0, err
		}
		if j.State.Finished() && j.Requests > 0 {
			return int(j.Requests), nil
		}
	}
	kind, ok := s.cfg.Service.cfg.Kinds.Lookup(sc.Kind)
	if !ok {
		return 0, nil
	}
	n := 0
	err = kind.Plan(ctx, sc.Params, strings.NewReader(sc.Items), func(TaskSpec) error { n++; return nil })
	return n, err
}

// runsPerWindow is how many runs of sc may fall in one window of length w,
// at most: one at least, since a run spends its requests in the window it
// starts in. For a cron it is the most of its next due times that one
// window starting at any of them holds ("0 9,10 * * *" needs two runs a
// day, not one an hour); when those due times span less than a window, it
// is their rate over the window.
func runsPerWindow(sc store.Schedule, w time.Duration) int {
	if sc.Every > 0 {
		return max(1, int(math.Ceil(float64(w)/float64(sc.Every))))
	}
	due := []time.Time{sc.NextDue}
	for range cronSamples {
		next, err := NextDue(sc, due[len(due)-1])
		if err != nil {
			break
		}
		due = append(due, next)
	}
	span := due[len(due)-1].Sub(due[0])
	if span <= 0 {
		return 1
	}
	if span < w {
		return max(1, int(math.Ceil(float64(w)*float64(len(due)-1)/float64(span))))
	}
	most, j := 1, 0
	for i := range due {
		for j < len(due) && due[j].Sub(due[i]) < w {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// Usage shares each quota out among the schedules that are not paused: a
// schedule needs its run cost times the runs that may fall in one window
// of the quota, spread evenly over the credentials of a pool.
func (s *Scheduler) Usage(ctx context.Context) (ScheduleUsage, error) {
	list, err := s.store.ListSchedules(ctx)
	if err != nil {
		return ScheduleUsage{}, err
	}
	byKey := map[string]*QuotaUsage{}
	for _, sc := range list {
		if sc.Paused {
			continue
		}
		creds, ok := s.cfg.Service.cfg.Credentials.resolve(sc.Credential, s.cfg.Service.cfg.Pools)
		if !ok || len(creds) == 0 {
			continue
		}
		cost, err := s.RunCost(ctx, sc)
		if err != nil {
			return ScheduleUsage{}, fmt.Errorf("schedule %d: %w", sc.ID, err)
		}
		perCred := (cost + len(creds) - 1) / len(creds)
		for _, c := range creds {
			for _, q := range c.Quotas {
				u := byKey[q.Key]
				if u == nil {
					u = &QuotaUsage{Quota: q.Key, Limit: q.Limit, Window: q.Window.String()}
					byKey[q.Key] = u
				}
				n := perCred * runsPerWindow(sc, q.Window)
				u.Needed += n
				u.Shares = append(u.Shares, ScheduleShare{ScheduleID: sc.ID, Schedule: sc.Name, Requests: n, Share: float64(n) / float64(q.Limit)})
			}
		}
	}
	var out ScheduleUsage
	for _, u := range byKey {
		out.Quotas = append(out.Quotas, *u)
	}
	sort.Slice(out.Quotas, func(i, j int) bool { return out.Quotas[i].Quota < out.Quotas[j].Quota })
	for _, u := range out.Quotas {
		if u.Over() {
			out.Warnings = append(out.Warnings, fmt.Sprintf("the schedules together need %s requests per %s of quota %s, which allows %s: runs will wait for the quota and fall behind",
				thousands(int64(u.Needed)), u.Window, u.Quota, thousands(int64(u.Limit))))
		}
	}
	return out, nil
}
