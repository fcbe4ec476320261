package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// ScheduleService is what web needs of jobs.Scheduler.
type ScheduleService interface {
	Create(ctx context.Context, spec jobs.ScheduleSpec) (store.Schedule, error)
	Update(ctx context.Context, id int64, spec jobs.ScheduleSpec) (store.Schedule, error)
	Pause(ctx context.Context, id int64) (store.Schedule, error)
	Resume(ctx context.Context, id int64) (store.Schedule, error)
	Delete(ctx context.Context, id int64) error
	Get(ctx context.Context, id int64) (store.Schedule, error)
	List(ctx context.Context) ([]store.Schedule, error)
	Runs(ctx context.Context, id int64, limit int) ([]store.ScheduleRun, error)
	Usage(ctx context.Context) (jobs.ScheduleUsage, error)
	MinInterval() time.Duration
}

// scheduleRoutes adds the schedule pages and API.
func (s *Server) scheduleRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /schedules", s.pageSchedules)
	m.HandleFunc("POST /schedules", s.formCreateSchedule)
	m.HandleFunc("GET /schedules/{id}", s.pageSchedule)
	m.HandleFunc("POST /schedules/{id}", s.formUpdateSchedule)
	m.HandleFunc("POST /schedules/{id}/{action}", s.formScheduleAction)

	m.HandleFunc("GET /api/v1/schedules", s.apiListSchedules)
	m.HandleFunc("POST /api/v1/schedules", s.apiCreateSchedule)
	m.HandleFunc("GET /api/v1/schedules/{id}", s.apiGetSchedule)
	m.HandleFunc("PUT /api/v1/schedules/{id}", s.apiUpdateSchedule)
	m.HandleFunc("DELETE /api/v1/schedules/{id}", s.apiDeleteSchedule)
	m.HandleFunc("POST /api/v1/schedules/{id}/{action}", s.apiScheduleAction)
}

// ScheduleView is a schedule as the API and the pages show it.
type ScheduleView struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	Kind       string          `json:"kind"`
	Credential string          `json:"credential"`
	Params     json.RawMessage `json:"params"`
	Items      int             `json:"items"` // lines of items
	Every      string          `json:"every,omitempty"`
	Cron       string          `json:"cron,omitempty"`
	TimeZone   string          `json:"time_zone"`
	Overlap    string          `json:"overlap"`
	Missed     string          `json:"missed"`
	Paused     bool            `json:"paused"`
	NextDue    time.Time       `json:"next_due"`
	LastError  string          `json:"last_error,omitempty"`
	LastRun    *RunView        `json:"last_run,omitempty"`
	Runs       []RunView       `json:"runs,omitempty"` // on a schedule's own page and GET
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// RunView is one run of a schedule.
type RunView struct {
	ID    int64     `json:"id"`
	DueAt time.Time `json:"due_at"`
	State string    `json:"state"`
	JobID *int64    `json:"job_id,omitempty"`
	Error string    `json:"error,omitempty"`
}

func runView(r store.ScheduleRun) RunView {
	return RunView{ID: r.ID, DueAt: r.DueAt, State: string(r.State), JobID: r.JobID, Error: r.Error}
}

// scheduleView describes sc with its last run, or with up to runs runs.
func (s *Server) scheduleView(ctx context.Context, sc store.Schedule, runs int) (ScheduleView, error) {
	v := ScheduleView{
		ID: sc.ID, Name: sc.Name, Kind: sc.Kind, Credential: sc.Credential, Params: json.RawMessage(sc.Params),
		Items: strings.Count(sc.Items, "\n"), Cron: sc.Cron, TimeZone: sc.TimeZone, Overlap: string(sc.Overlap),
		Missed: string(sc.Missed), Paused: sc.Paused, NextDue: sc.NextDue, LastError: sc.LastError,
		CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt,
	}
	if sc.Items != "" && !strings.HasSuffix(sc.Items, "\n") {
		v.Items++
	}
	if sc.Every > 0 {
		v.Every = sc.Every.String()
	}
	list, err := s.cfg.Schedules.Runs(ctx, sc.ID, max(runs, 1))
	if err != nil {
		return v, err
	}
	if len(list) > 0 {
		last := runView(list[0])
		v.LastRun = &last
	}
	if runs > 0 {
		v.Runs = make([]RunView, len(list))
		for i, r := range list {
			v.Runs[i] = runView(r)
		}
	}
	return v, nil
}

var errNoSchedules = errors.New("schedules are not enabled in this process")

// scheduleFail answers err: a missing schedule, or schedules not enabled,
// is a 404 that says so; anything else is mapped as for jobs. page says
// whether to answer with a page or JSON.
func (s *Server) scheduleFail(w http.ResponseWriter, r *http.Request, err error, page bool) {
	var ve *jobs.ValidationError
	switch {
	case errors.Is(err, store.ErrNotFound):
		ve = &jobs.ValidationError{Field: "id", Reason: "no such schedule"}
	case errors.Is(err, errNoSchedules):
		ve = &jobs.ValidationError{Reason: errNoSchedules.Error()}
	}
	if ve != nil {
		if page {
			s.render(w, r, http.StatusNotFound, "error.html", map[string]any{"Title": "Not found", "Error": ve})
			return
		}
		var body apiError
		body.Error.Field, body.Error.Reason = ve.Field, ve.Reason
		writeJSON(w, http.StatusNotFound, body)
		return
	}
	if page {
		s.pageFail(w, r, err)
		return
	}
	s.apiFail(w, r, err)
}

func scheduleID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &jobs.ValidationError{Field: "id", Reason: "not a schedule id"}
	}
	return id, nil
}

// readSpec decodes a JSON schedule spec; unknown fields are refused.
func readSpec(r *http.Request) (jobs.ScheduleSpec, error) {
	var spec jobs.ScheduleSpec
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return spec, err
		}
		return spec, &jobs.ValidationError{Field: "body", Reason: "not a JSON schedule: " + err.Error()}
	}
	return spec, nil
}

func (s *Server) apiListSchedules(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, false)
		return
	}
	list, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		s.scheduleFail(w, r, err, false)
		return
	}
	views := make([]ScheduleView, 0, len(list))
	for _, sc := range list {
		v, err := s.scheduleView(r.Context(), sc, 0)
		if err != nil {
			s.scheduleFail(w, r, err, false)
			return
		}
		views = append(views, v)
	}
	usage, err := s.cfg.Schedules.Usage(r.Context())
	if err != nil {
		s.scheduleFail(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": views, "quotas": usage.Quotas, "warnings": usage.Warnings})
}

func (s *Server) apiCreateSchedule(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, false)
		return
	}
	spec, err := readSpec(r)
	if err == nil {
		var sc store.Schedule
		if sc, err = s.cfg.Schedules.Create(r.Context(), spec); err == nil {
			s.writeSchedule(w, r, http.StatusCreated, sc)
			return
		}
	}
	s.scheduleFail(w, r, err, false)
}

func (s *Server) writeSchedule(w http.ResponseWriter, r *http.Request, status int, sc store.Schedule) {
	v, err := s.scheduleView(r.Context(), sc, 50)
	if err != nil {
		s.scheduleFail(w, r, err, false)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) apiGetSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err == nil && s.cfg.Schedules == nil {
		err = errNoSchedules
	}
	if err == nil {
		var sc store.Schedule
		if sc, err = s.cfg.Schedules.Get(r.Context(), id); err == nil {
			s.writeSchedule(w, r, http.StatusOK, sc)
			return
		}
	}
	s.scheduleFail(w, r, err, false)
}

func (s *Server) apiUpdateSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err == nil && s.cfg.Schedules == nil {
		err = errNoSchedules
	}
	var spec jobs.ScheduleSpec
	if err == nil {
		spec, err = readSpec(r)
	}
	if err == nil {
		var sc store.Schedule
		if sc, err = s.cfg.Schedules.Update(r.Context(), id, spec); err == nil {
			s.writeSchedule(w, r, http.StatusOK, sc)
			return
		}
	}
	s.scheduleFail(w, r, err, false)
}

func (s *Server) apiDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err == nil && s.cfg.Schedules == nil {
		err = errNoSchedules
	}
	if err == nil {
		if err = s.cfg.Schedules.Delete(r.Context(), id); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.scheduleFail(w, r, err, false)
}

// scheduleAction pauses or resumes schedule id.
func (s *Server) scheduleAction(ctx context.Context, id int64, action string) (store.Schedule, error) {
	if s.cfg.Schedules == nil {
		return store.Schedule{}, errNoSchedules
	}
	switch action {
	case "pause":
		return s.cfg.Schedules.Pause(ctx, id)
	case "resume":
		return s.cfg.Schedules.Resume(ctx, id)
	}
	return store.Schedule{}, errNoRoute
}

func (s *Server) apiScheduleAction(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err == nil {
		var sc store.Schedule
		if sc, err = s.scheduleAction(r.Context(), id, r.PathValue("action")); err == nil {
			s.writeSchedule(w, r, http.StatusOK, sc)
			return
		}
	}
	s.scheduleFail(w, r, err, false)
}
