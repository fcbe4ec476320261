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
	s.stream(w, r, func(ctx context.Context) ([]JobView, bool, error) {
		j, err := s.cfg.Jobs.Get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		return []JobView{s.view(ctx, j)}, j.State.Finished(), nil
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
	s.stream(w, r, func(ctx context.Context) ([]JobView, bool, error) {
		list, err := s.cfg.Reader.ListJobs(ctx, f)
		if err != nil {
			return nil, false, err
		}
		out := make([]JobView, len(list))
		for i, j := range list {
			out[i] = s.view(ctx, j)
		}
		return out, false, nil
	})
}

// stream polls read every LiveInterval and sends each job that changed
// since the last poll, with its current rate (see rateWindow). It returns
// when read says it is done, when read fails, when the client goes away,
// when the request's session expires, or when Close is called.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, read func(context.Context) ([]JobView, bool, error)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	last := map[int64][]byte{}
	rates := map[int64]*rateWindow{}
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
		now := s.cfg.NowFunc()
		for _, v := range jobs {
			j := live(v)
			if !v.State.Finished() {
				rw := rates[v.ID]
				if rw == nil {
					rw = &rateWindow{}
					rates[v.ID] = rw
				}
				if rate, ok := rw.add(now, v.ItemsSettled()); ok {
					j.Rate = strconv.FormatFloat(rate, 'f', 1, 64)
				}
			}
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
		// A stream ends with its login: an open page does not go on
		// receiving a job's progress after its session expired.
		if sess, ok := sessionFrom(ctx); ok && !now.Before(sess.until) {
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

// rateWindow is the current rate of a job: the items settled over the last
// rateSpan of polls, rather than since the job started, so a job that
// waited an hour on its quota shows how fast it goes now.
type rateWindow struct {
	samples []rateSample
}

type rateSample struct {
	at      time.Time
	settled int64
}

// rateSpan is how far back the current rate looks.
const rateSpan = 10 * time.Second

// add records a poll and returns the rate over the samples kept, once they
// span at least two seconds.
func (w *rateWindow) add(at time.Time, settled int64) (float64, bool) {
	w.samples = append(w.samples, rateSample{at, settled})
	for len(w.samples) > 2 && at.Sub(w.samples[1].at) >= rateSpan {
		w.samples = w.samples[1:]
	}
	first := w.samples[0]
	span := at.Sub(first.at)
	if span < 2*time.Second {
		return 0, false
	}
	return float64(settled-first.settled) / span.Seconds(), true
}
