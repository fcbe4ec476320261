package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pacerhq/pacer/store"
)

// render executes template name with data, to which it adds what the
// layout needs: CSRF (the session's csrf value, for every form's hidden
// csrf field) and LoggedIn.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	_, loggedIn := sessionFrom(r.Context())
	data["CSRF"], data["LoggedIn"] = csrfValue(r), loggedIn
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	status, ve := s.errorStatus(r, err)
	s.render(w, r, status, "error.html", map[string]any{"Title": http.StatusText(status), "Error": ve})
}

func (s *Server) pageJobs(w http.ResponseWriter, r *http.Request) {
	f, err := jobFilter(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	list, err := s.cfg.Reader.ListJobs(r.Context(), f)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	retired, err := s.cfg.Reader.ListRetiredCredentials(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	views := make([]JobView, len(list))
	live := false
	for i, j := range list {
		views[i] = s.view(r.Context(), j)
		live = live || !j.State.Finished()
	}
	limit := f.Limit
	if limit == 0 {
		limit = 50
	}
	next := ""
	if len(list) == limit {
		q := url.Values{"before": {strconv.FormatInt(list[len(list)-1].ID, 10)}}
		if f.State != "" {
			q.Set("state", string(f.State))
		}
		if f.Kind != "" {
			q.Set("kind", f.Kind)
		}
		next = "?" + q.Encode()
	}
	events := ""
	if live {
		events = "/events"
		if r.URL.RawQuery != "" {
			events += "?" + r.URL.RawQuery
		}
	}
	s.render(w, r, http.StatusOK, "jobs.html", map[string]any{
		"Title": "Jobs", "Jobs": views, "Refresh": live, "Live": events, "Next": next,
		"States": store.JobStates, "Kinds": s.cfg.Jobs.Kinds(), "Filter": f, "Retired": retired,
	})
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	f, err := resultFilter(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	ctx := r.Context()
	job, err := s.cfg.Jobs.Get(ctx, id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	results, err := s.cfg.Reader.ListResults(ctx, id, f)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	tasks, err := s.cfg.Reader.CountTasks(ctx, id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	errored, err := s.cfg.Reader.ListErroredTasks(ctx, id, 10)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	notes, err := s.notifications(ctx, job)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	errs := make([]erroredTask, len(errored))
	for i, t := range errored {
		errs[i] = erroredTask{Task: t, Items: s.taskItems(job.Kind, t.Payload)}
	}
	next := ""
	if len(results) == f.Limit {
		q := url.Values{"after": {results[len(results)-1].Key}}
		if f.Status != "" {
			q.Set("status", string(f.Status))
		}
		next = "?" + q.Encode()
	}
	live := ""
	if !job.State.Finished() {
		live = "/jobs/" + strconv.FormatInt(id, 10) + "/events"
	}
	s.render(w, r, http.StatusOK, "job.html", map[string]any{
		"Title": "Job " + strconv.FormatInt(id, 10), "Job": s.view(r.Context(), job),
		"Results": results, "TaskCounts": tasks, "Errored": errs, "Notifications": notes,
		"Next": next, "After": f.AfterKey, "Status": f.Status, "Refresh": live != "", "Live": live,
	})
}

// erroredTask is a task that failed or waits for a retry, with the items
// it covers.
type erroredTask struct {
	store.Task
	Items string
}

// taskItems describes the items of a task for the errors table: its kind's
// items, the first few of them.
func (s *Server) taskItems(kind string, payload []byte) string {
	items := s.cfg.Jobs.TaskItems(kind, payload)
	const show = 5
	if len(items) > show {
		return strings.Join(items[:show], ", ") + fmt.Sprintf(" … (%d items)", len(items))
	}
	return strings.Join(items, ", ")
}

func (s *Server) formAction(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if _, err := s.control(r.Context(), id, r.PathValue("action")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) formRerun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	job, err := s.cfg.Jobs.Rerun(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
}
