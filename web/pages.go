package web

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
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
		next = "?before=" + strconv.FormatInt(list[len(list)-1].ID, 10)
		if f.State != "" {
			next += "&state=" + string(f.State)
		}
		if f.Kind != "" {
			next += "&kind=" + f.Kind
		}
	}
	s.render(w, r, http.StatusOK, "jobs.html", map[string]any{
		"Title": "Jobs", "Jobs": views, "Refresh": live, "Next": next,
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
	counts, err := s.cfg.Reader.CountResults(ctx, id)
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
	next := ""
	if len(results) == f.Limit {
		next = "?after=" + results[len(results)-1].Key
		if f.Status != "" {
			next += "&status=" + string(f.Status)
		}
	}
	s.render(w, r, http.StatusOK, "job.html", map[string]any{
		"Title": "Job " + strconv.FormatInt(id, 10), "Job": s.view(r.Context(), job),
		"Results": results, "ResultCounts": counts, "TaskCounts": tasks, "Errored": errored,
		"Next": next, "Status": f.Status, "Refresh": !job.State.Finished(),
	})
}

func (s *Server) pageNewJob(w http.ResponseWriter, r *http.Request) {
	s.renderForm(w, r, http.StatusOK, submitInput{}, nil)
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, status int, in submitInput, ve *jobs.ValidationError) {
	s.render(w, r, status, "new.html", map[string]any{
		"Title": "New job", "In": in, "Error": ve, "Kinds": s.cfg.Jobs.Kinds(),
		"Credentials": s.cfg.Jobs.CredentialNames(), "MaxUpload": s.cfg.MaxUploadBytes >> 20,
	})
}

func (s *Server) formSubmit(w http.ResponseWriter, r *http.Request) {
	job, in, err := s.submit(r)
	if err != nil {
		status, ve := s.errorStatus(r, err)
		s.renderForm(w, r, status, in, ve)
		return
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
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
