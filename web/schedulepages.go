package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// specFromForm reads a schedule form: the fields of [jobs.ScheduleSpec],
// with the items in "ids" and paused a checkbox.
func specFromForm(r *http.Request) jobs.ScheduleSpec {
	spec := jobs.ScheduleSpec{
		Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Credential: r.PostFormValue("credential"),
		Items: strings.ReplaceAll(r.PostFormValue("ids"), "\r\n", "\n"), Every: r.PostFormValue("every"),
		Cron: r.PostFormValue("cron"), TimeZone: r.PostFormValue("time_zone"), Overlap: r.PostFormValue("overlap"),
		Missed: r.PostFormValue("missed"), Paused: r.PostFormValue("paused") != "",
		NotifyWebhook: r.PostFormValue("notify_webhook"), NotifyEmail: r.PostFormValue("notify_email"),
	}
	if p := strings.TrimSpace(r.PostFormValue("params")); p != "" {
		spec.Params = json.RawMessage(p)
	}
	return spec
}

// renderSchedules renders the schedules page, with the new-schedule form
// holding in and its error, if any.
func (s *Server) renderSchedules(w http.ResponseWriter, r *http.Request, status int, in jobs.ScheduleSpec, formErr error) {
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, true)
		return
	}
	list, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	views := make([]ScheduleView, 0, len(list))
	for _, sc := range list {
		v, err := s.scheduleView(r.Context(), sc, 0)
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		views = append(views, v)
	}
	usage, err := s.cfg.Schedules.Usage(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	data := s.scheduleForm(in, formErr)
	data["Title"], data["Schedules"], data["Usage"] = "Schedules", views, usage
	s.render(w, r, status, "schedules.html", data)
}

// scheduleForm is the data of a schedule form holding in.
func (s *Server) scheduleForm(in jobs.ScheduleSpec, formErr error) map[string]any {
	data := map[string]any{
		"In": in, "InParams": string(in.Params), "Kinds": s.cfg.Jobs.Kinds(), "Credentials": s.cfg.Jobs.CredentialNames(),
		"MinInterval": s.cfg.Schedules.MinInterval().String(),
	}
	if formErr != nil {
		data["Error"] = formErrorOf(formErr)
	}
	return data
}

// formErrorOf is the *jobs.ValidationError a form shows for err, or nil
// when err is not one (the caller shows an error page instead).
func formErrorOf(err error) *jobs.ValidationError {
	if ve, ok := err.(*jobs.ValidationError); ok {
		return ve
	}
	return nil
}

func (s *Server) pageSchedules(w http.ResponseWriter, r *http.Request) {
	s.renderSchedules(w, r, http.StatusOK, jobs.ScheduleSpec{Overlap: "skip", Missed: "catch_up_once"}, nil)
}

func (s *Server) formCreateSchedule(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, true)
		return
	}
	spec := specFromForm(r)
	sc, err := s.cfg.Schedules.Create(r.Context(), spec)
	if err != nil {
		if formErrorOf(err) == nil {
			s.pageFail(w, r, err)
			return
		}
		s.renderSchedules(w, r, http.StatusBadRequest, spec, err)
		return
	}
	http.Redirect(w, r, "/schedules/"+strconv.FormatInt(sc.ID, 10), http.StatusSeeOther)
}

// renderSchedule renders schedule id's page, its edit form holding in (the
// schedule's own spec when in is nil).
func (s *Server) renderSchedule(w http.ResponseWriter, r *http.Request, status int, id int64, in *jobs.ScheduleSpec, formErr error) {
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, true)
		return
	}
	sc, err := s.cfg.Schedules.Get(r.Context(), id)
	if err != nil {
		s.scheduleFail(w, r, err, true)
		return
	}
	v, err := s.scheduleView(r.Context(), sc, 100)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	spec := jobs.Spec(sc)
	if in != nil {
		spec = *in
	}
	data := s.scheduleForm(spec, formErr)
	data["Title"], data["Schedule"] = "Schedule "+sc.Name, v
	s.render(w, r, status, "schedule.html", data)
}

func (s *Server) pageSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.renderSchedule(w, r, http.StatusOK, id, nil, nil)
}

func (s *Server) formUpdateSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if s.cfg.Schedules == nil {
		s.scheduleFail(w, r, errNoSchedules, true)
		return
	}
	spec := specFromForm(r)
	if _, err := s.cfg.Schedules.Update(r.Context(), id, spec); err != nil {
		if formErrorOf(err) == nil {
			s.scheduleFail(w, r, err, true)
			return
		}
		s.renderSchedule(w, r, http.StatusBadRequest, id, &spec, err)
		return
	}
	http.Redirect(w, r, "/schedules/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) formScheduleAction(w http.ResponseWriter, r *http.Request) {
	id, err := scheduleID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if r.PathValue("action") == "delete" {
		if s.cfg.Schedules == nil {
			err = errNoSchedules
		} else {
			err = s.cfg.Schedules.Delete(r.Context(), id)
		}
		if err != nil {
			s.scheduleFail(w, r, err, true)
			return
		}
		http.Redirect(w, r, "/schedules", http.StatusSeeOther)
		return
	}
	var sc store.Schedule
	if sc, err = s.scheduleAction(r.Context(), id, r.PathValue("action")); err != nil {
		s.scheduleFail(w, r, err, true)
		return
	}
	http.Redirect(w, r, "/schedules/"+strconv.FormatInt(sc.ID, 10), http.StatusSeeOther)
}
