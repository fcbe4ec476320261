package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// apiError is the JSON body of every API error.
type apiError struct {
	Error struct {
		Field  string `json:"field,omitempty"`
		Reason string `json:"reason"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, ve := s.errorStatus(r, err)
	var body apiError
	body.Error.Field, body.Error.Reason = ve.Field, ve.Reason
	writeJSON(w, status, body)
}

func (s *Server) apiGetJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	job, err := s.cfg.Jobs.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	v := s.view(r.Context(), job)
	if v.Notifications, err = s.notifications(r.Context(), job); err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// jobFilter reads state, kind, before and limit from the query.
func jobFilter(r *http.Request) (store.JobFilter, error) {
	q := r.URL.Query()
	f := store.JobFilter{State: store.JobState(q.Get("state")), Kind: q.Get("kind")}
	if f.State != "" {
		known := false
		for _, s := range store.JobStates {
			known = known || s == f.State
		}
		if !known {
			return f, jobs.Invalid("state", "%q is not a job state", f.State)
		}
	}
	var err error
	if v := q.Get("before"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, jobs.Invalid("before", "%q is not a job id", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 500 {
			return f, jobs.Invalid("limit", "%q is not a number from 1 to 500", v)
		}
	}
	return f, nil
}

func (s *Server) apiListJobs(w http.ResponseWriter, r *http.Request) {
	f, err := jobFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	list, err := s.cfg.Reader.ListJobs(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Jobs []JobView `json:"jobs"`
	}{Jobs: make([]JobView, len(list))}
	for i, j := range list {
		out.Jobs[i] = s.view(r.Context(), j)
	}
	writeJSON(w, http.StatusOK, out)
}

// resultFilter reads status, after and limit from the query.
func resultFilter(r *http.Request) (store.ResultFilter, error) {
	q := r.URL.Query()
	f := store.ResultFilter{Status: store.ResultStatus(q.Get("status")), AfterKey: q.Get("after")}
	if f.Status != "" && f.Status != store.ResultOK && f.Status != store.ResultNotFound {
		return f, jobs.Invalid("status", "%q is not a result status (ok, not_found)", f.Status)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return f, jobs.Invalid("limit", "%q is not a number from 1 to 10000", v)
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) apiResults(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	f, err := resultFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if _, err := s.cfg.Jobs.Get(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	rows, err := s.cfg.Reader.ListResults(r.Context(), id, f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Results []ResultView `json:"results"`
		// Next is the "after" value of the next page; empty on the last.
		Next string `json:"next,omitempty"`
	}{Results: make([]ResultView, len(rows))}
	for i, row := range rows {
		out.Results[i] = viewResult(row)
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(rows) == limit {
		out.Next = rows[len(rows)-1].Key
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAction(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	job, err := s.control(r.Context(), id, r.PathValue("action"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(r.Context(), job))
}

// apiRetired lists the credentials the upstream refused (401, or a 403 not
// about rate), which no worker uses any more.
func (s *Server) apiRetired(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Reader.ListRetiredCredentials(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Retired []store.RetiredCredential `json:"retired"`
	}{Retired: list}
	if out.Retired == nil {
		out.Retired = []store.RetiredCredential{}
	}
	writeJSON(w, http.StatusOK, out)
}

// apiRestore puts a retired credential back in use, once its token is fixed.
func (s *Server) apiRestore(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.cfg.Jobs.RestoreCredential(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = jobs.Invalid("name", "credential %q is not retired", name)
		}
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"restored": name})
}

// apiRerun creates a job covering the failed and missing items of a
// finished job, with the same kind, credential and params.
func (s *Server) apiRerun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	job, err := s.cfg.Jobs.Rerun(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(job.ID, 10))
	writeJSON(w, http.StatusCreated, s.view(r.Context(), job))
}
