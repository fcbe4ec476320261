package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// JobView is a job as the API returns it and the pages show it.
type JobView struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       store.JobState  `json:"state"`
	Credential  string          `json:"credential"`
	Params      json.RawMessage `json:"params"`
	ItemsTotal  int64           `json:"items_total"`
	ItemsDone   int64           `json:"items_done"`
	ItemsFailed int64           `json:"items_failed"`
	TasksTotal  int64           `json:"tasks_total"`
	TasksDone   int64           `json:"tasks_done"`
	TasksFailed int64           `json:"tasks_failed"`
	Requests    int64           `json:"requests"`
	// Progress is the share of items done or failed, 0 to 1.
	Progress float64 `json:"progress"`
	// Rate is the observed items per second since the job started.
	Rate float64 `json:"rate_items_per_second"`
	// ETASeconds is the time left at the observed rate; null when unknown.
	ETASeconds *float64 `json:"eta_seconds"`
	// RateLimitedUntil and RateLimitedQuota say the job waits for a quota
	// until a time; both absent when it does not.
	RateLimitedUntil *time.Time `json:"rate_limited_until,omitempty"`
	RateLimitedQuota string     `json:"rate_limited_quota,omitempty"`
	// Quotas is the state of the quotas of the job's credential (or pool)
	// now: what is left and when it resets. Absent for a finished job.
	Quotas     []jobs.QuotaState `json:"quotas,omitempty"`
	Summary    string            `json:"summary,omitempty"`
	LastError  string            `json:"last_error,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	// Notifications is what the job named to tell of its ending, and how
	// delivering it went; only GET /api/v1/jobs/{id} fills it in.
	Notifications []NotificationView `json:"notifications,omitempty"`
}

// ETA returns the estimate as a duration, or -1 when unknown.
func (v JobView) ETA() time.Duration {
	if v.ETASeconds == nil {
		return -1
	}
	return time.Duration(*v.ETASeconds * float64(time.Second))
}

// Percent is Progress as a whole-number percentage for the progress bar.
func (v JobView) Percent() int { return int(v.Progress*100 + 1e-9) }

func viewJob(j store.Job, now time.Time) JobView {
	v := JobView{
		ID: j.ID, Kind: j.Kind, State: j.State, Credential: j.Credential, Params: json.RawMessage(j.Params),
		ItemsTotal: j.ItemsTotal, ItemsDone: j.ItemsDone, ItemsFailed: j.ItemsFailed,
		TasksTotal: j.TasksTotal, TasksDone: j.TasksDone, TasksFailed: j.TasksFailed,
		Requests: j.Requests, Progress: jobs.Progress(j), Summary: j.Summary, LastError: j.LastError,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
	}
	if len(v.Params) == 0 {
		v.Params = json.RawMessage("{}")
	}
	if !j.State.Finished() && j.WaitUntil != nil && j.WaitUntil.After(now) {
		v.RateLimitedUntil, v.RateLimitedQuota = j.WaitUntil, j.WaitQuota
	}
	if j.StartedAt != nil {
		end := now
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		if secs := end.Sub(*j.StartedAt).Seconds(); secs > 0 {
			v.Rate = float64(j.ItemsDone+j.ItemsFailed) / secs
		}
	}
	switch {
	case j.State.Finished():
		zero := 0.0
		v.ETASeconds = &zero
	case v.Rate > 0:
		left := float64(j.ItemsTotal-j.ItemsDone-j.ItemsFailed) / v.Rate
		v.ETASeconds = &left
	}
	return v
}

// withQuotaETA folds the quota's estimate into v's ETA: the job can go no
// faster than its quotas allow, and no faster than it has been going.
func (v JobView) withQuotaETA(eta time.Duration, known bool) JobView {
	if !known || v.State.Finished() {
		return v
	}
	secs := eta.Seconds()
	if v.ETASeconds == nil || *v.ETASeconds < secs {
		v.ETASeconds = &secs
	}
	return v
}

// view is viewJob with the quota's ETA; an error reading the ledger leaves
// the observed ETA, since a page must not fail for an estimate.
func (s *Server) view(ctx context.Context, j store.Job) JobView {
	v := viewJob(j, s.cfg.NowFunc())
	if !j.State.Finished() {
		qs, err := s.cfg.Jobs.QuotaStates(ctx, j.Credential)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "quota state", "job_id", j.ID, "err", err)
		}
		v.Quotas = qs
	}
	eta, known, err := s.cfg.Jobs.ETA(ctx, j)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "quota eta", "job_id", j.ID, "err", err)
		return v
	}
	return v.withQuotaETA(eta, known)
}

// ResultView is one result row in the API.
type ResultView struct {
	Key       string             `json:"key"`
	Status    store.ResultStatus `json:"status"`
	Data      json.RawMessage    `json:"data,omitempty"`
	Error     string             `json:"error,omitempty"`
	FetchedAt time.Time          `json:"fetched_at"`
}

func viewResult(r store.Result) ResultView {
	return ResultView{Key: r.Key, Status: r.Status, Data: json.RawMessage(r.Data), Error: r.Error, FetchedAt: r.FetchedAt}
}

// fieldError is a form field's error for the "ferr" template; Reason is ""
// when the field has none.
type fieldError struct{ Field, Reason string }

// ItemsSettled is how many items are done or failed: the progress bar's
// value, against ItemsTotal.
func (v JobView) ItemsSettled() int64 { return v.ItemsDone + v.ItemsFailed }

// QuotaText is the quotas' state in one line for the pages: "x-15m: 120 of
// 900 left, resets 14:05:00 UTC"; "" when the job has none to show.
func (v JobView) QuotaText() string {
	var parts []string
	for _, q := range v.Quotas {
		t := fmt.Sprintf("%s: %s of %s left", q.Key, thousands(int64(q.Remaining)), thousands(int64(q.Limit)))
		if q.ResetAt != nil {
			t += ", resets " + q.ResetAt.UTC().Format("15:04:05 UTC")
		}
		if q.BlockedUntil != nil {
			t += ", refused until " + q.BlockedUntil.UTC().Format("15:04:05 UTC")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}
