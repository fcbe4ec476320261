package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// submission turns what a form or a request carried into a submission: the
// raw params JSON, if any, with the chosen kind's param fields laid over it.
// A field that does not parse is an error naming params.NAME.
func (s *Server) submission(in submitInput, items io.Reader) (jobs.Submission, error) {
	sub := jobs.Submission{Kind: in.Kind, Credential: in.Credential, Items: items, NotifyWebhook: in.NotifyWebhook, NotifyEmail: in.NotifyEmail}
	raw := strings.TrimSpace(in.Params)
	var fields map[string]any
	for _, p := range s.cfg.Jobs.KindParams(in.Kind) {
		v := strings.TrimSpace(in.Field(in.Kind, p.Name))
		if v == "" {
			continue
		}
		val, err := paramValue(p, v)
		if err != nil {
			return sub, err
		}
		if fields == nil {
			fields = map[string]any{}
		}
		fields[p.Name] = val
	}
	if fields == nil {
		if raw != "" {
			sub.Params = json.RawMessage(raw)
		}
		return sub, nil
	}
	obj := map[string]json.RawMessage{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			return sub, jobs.Invalid("params", "not a JSON object: %v", err)
		}
	}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		obj[k] = b
	}
	b, _ := json.Marshal(obj)
	sub.Params = b
	return sub, nil
}

// paramValue converts a form field's text to the param's JSON value.
func paramValue(p jobs.Param, v string) (any, error) {
	switch p.Type {
	case jobs.ParamInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, jobs.Invalid("params."+p.Name, "%q is not a whole number", v)
		}
		return n, nil
	case jobs.ParamBool:
		return v == "on" || v == "true" || v == "1", nil
	case jobs.ParamList:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }), nil
	case jobs.ParamHeaders:
		h := map[string]string{}
		for i, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			name, value, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return nil, jobs.Invalid("params."+p.Name, "line %d is not \"Name: value\"", i+1)
			}
			h[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
		return h, nil
	}
	return v, nil
}

// kindForm is one kind's params on the submission form.
type kindForm struct {
	Kind   string
	Params []jobs.Param
}

// EstimateView is what the API and the form show of an estimate.
type EstimateView struct {
	Items int64 `json:"items"`
	Tasks int64 `json:"tasks"`
	// ETASeconds is how long the job's requests would take at its quotas'
	// pace from now; null when its credential has no quota.
	ETASeconds *float64          `json:"eta_seconds"`
	Quotas     []jobs.QuotaState `json:"quotas"`
}

func viewEstimate(e jobs.Estimate) EstimateView {
	v := EstimateView{Items: e.Items, Tasks: e.Tasks, Quotas: e.Quotas}
	if e.ETAKnown {
		secs := e.ETA.Seconds()
		v.ETASeconds = &secs
	}
	if v.Quotas == nil {
		v.Quotas = []jobs.QuotaState{}
	}
	return v
}

// ETA is the estimate as a duration, or -1 when unknown.
func (v EstimateView) ETA() time.Duration {
	if v.ETASeconds == nil {
		return -1
	}
	return time.Duration(*v.ETASeconds * float64(time.Second))
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, status int, in submitInput, ve *jobs.ValidationError, est *EstimateView) {
	if in.Kind == "" {
		in.Kind = r.URL.Query().Get("kind")
	}
	var kinds []kindForm
	for _, k := range s.cfg.Jobs.Kinds() {
		kinds = append(kinds, kindForm{Kind: k, Params: s.cfg.Jobs.KindParams(k)})
	}
	s.render(w, r, status, "new.html", map[string]any{
		"Title": "New job", "In": in, "Error": ve, "Kinds": kinds, "Estimate": est,
		"Credentials": s.cfg.Jobs.CredentialNames(), "MaxUpload": s.cfg.MaxUploadBytes >> 20,
	})
}

func (s *Server) pageNewJob(w http.ResponseWriter, r *http.Request) {
	s.renderForm(w, r, http.StatusOK, submitInput{}, nil, nil)
}

func (s *Server) formSubmit(w http.ResponseWriter, r *http.Request) {
	var job store.Job
	in, err := s.submit(r, func(ctx context.Context, sub jobs.Submission) (err error) {
		job, err = s.cfg.Jobs.Submit(ctx, sub)
		return err
	})
	if err != nil {
		status, ve := s.errorStatus(r, err)
		s.renderForm(w, r, status, in, ve, nil)
		return
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
}

// formEstimate shows the form again, as the user filled it, with what the
// job would come to. An uploaded file is not kept (a browser cannot be
// given one back): the form says so.
func (s *Server) formEstimate(w http.ResponseWriter, r *http.Request) {
	var est jobs.Estimate
	in, err := s.submit(r, func(ctx context.Context, sub jobs.Submission) (err error) {
		est, err = s.cfg.Jobs.Estimate(ctx, sub)
		return err
	})
	if err != nil {
		status, ve := s.errorStatus(r, err)
		s.renderForm(w, r, status, in, ve, nil)
		return
	}
	v := viewEstimate(est)
	s.renderForm(w, r, http.StatusOK, in, nil, &v)
}

func (s *Server) apiSubmit(w http.ResponseWriter, r *http.Request) {
	var job store.Job
	_, err := s.submit(r, func(ctx context.Context, sub jobs.Submission) (err error) {
		job, err = s.cfg.Jobs.Submit(ctx, sub)
		return err
	})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(job.ID, 10))
	writeJSON(w, http.StatusCreated, s.view(r.Context(), job))
}

func (s *Server) apiEstimate(w http.ResponseWriter, r *http.Request) {
	var est jobs.Estimate
	_, err := s.submit(r, func(ctx context.Context, sub jobs.Submission) (err error) {
		est, err = s.cfg.Jobs.Estimate(ctx, sub)
		return err
	})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewEstimate(est))
}
