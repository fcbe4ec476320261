package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pacerhq/pacer/store"
)

// liveJob is what an event stream sends of a job: the numbers the pages
// show, already formatted as the pages format them.
type liveJob struct {
	ID       int64          `json:"id"`
	State    store.JobState `json:"state"`
	Finished bool           `json:"finished"`
	Value    int64          `json:"value"` // the progress bar's value
	Max      int64          `json:"max"`
	Pct      string         `json:"pct"`
	Done     string         `json:"done"`
	Total    string         `json:"total"`
	Failed   string         `json:"failed"`
	Requests string         `json:"requests"`
	Rate     string         `json:"rate"`
	ETA      string         `json:"eta"`
	// Waiting is "rate-limited until 14:05:00 UTC (quota q)", or "".
	Waiting string `json:"waiting"`
	// Quota is JobView.QuotaText.
	Quota string `json:"quota"`
}

func live(v JobView) liveJob {
	l := liveJob{
		ID: v.ID, State: v.State, Finished: v.State.Finished(), Value: v.ItemsSettled(), Max: v.ItemsTotal,
		Pct: strconv.FormatFloat(v.Progress*100, 'f', 1, 64) + "%", Done: thousands(v.ItemsDone),
		Total: thousands(v.ItemsTotal), Failed: thousands(v.ItemsFailed), Requests: thousands(v.Requests),
		Rate: strconv.FormatFloat(v.Rate, 'f', 1, 64), ETA: humanDuration(v.ETA()), Quota: v.QuotaText(),
	}
	if v.RateLimitedUntil != nil {
		l.Waiting = "rate-limited until " + v.RateLimitedUntil.UTC().Format("15:04:05 UTC") + " (quota " + v.RateLimitedQuota + ")"
	}
	return l
}

// jobEvents streams one job's progress as server-sent events ("job", a
// liveJob as JSON) while it changes, and ends when the job finishes, the
// client goes away, or the server shuts down.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if _, err := s.cfg.Jobs.Get(r.Context(), id); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.stream(w, r, func(ctx context.Context) ([]liveJob, bool, error) {
		j, err := s.cfg.Jobs.Get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		return []liveJob{live(s.view(ctx, j))}, j.State.Finished(), nil
	})
}

// listEvents streams the jobs the jobs page shows (the same filter) as
// server-sent events, one "job" event per job that changed.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	f, err := jobFilter(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.stream(w, r, func(ctx context.Context) ([]liveJob, bool, error) {
		list, err := s.cfg.Reader.ListJobs(ctx, f)
		if err != nil {
			return nil, false, err
		}
		out := make([]liveJob, len(list))
		for i, j := range list {
			out[i] = live(s.view(ctx, j))
		}
		return out, false, nil
	})
}

// stream polls read every LiveInterval and sends each job that changed
// since the last poll. It returns when read says it is done, when read
// fails, when the client goes away, or when Close is called.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, read func(context.Context) ([]liveJob, bool, error)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	last := map[int64][]byte{}
	tick := time.NewTicker(s.cfg.LiveInterval)
	defer tick.Stop()
	for {
		jobs, done, err := read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.WarnContext(ctx, "event stream", "path", r.URL.Path, "err", err)
			}
			return
		}
		var buf bytes.Buffer
		for _, j := range jobs {
			b, _ := json.Marshal(j)
			if bytes.Equal(last[j.ID], b) {
				continue
			}
			last[j.ID] = b
			fmt.Fprintf(&buf, "event: job\ndata: %s\n\n", b)
		}
		if done {
			buf.WriteString("event: end\ndata: {}\n\n")
		}
		if buf.Len() == 0 {
			buf.WriteString(": ping\n\n") // finds a client that went away
		}
		if _, err := buf.WriteTo(w); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}
