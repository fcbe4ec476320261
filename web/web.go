// Package web is the only code that speaks HTTP to people: the jobs page, a
// job's page with its results, the submission form, the JSON API under
// /api/v1, /metrics, /healthz and /readyz. It renders server-side with
// html/template, which escapes upstream data (untrusted) as text.
//
// web imports jobs (submissions and control go through jobs.Service) and
// store (its row types and the read methods it declares in [Reader]); never a
// kind, a driver or the broker. Errors are mapped to what a user sees once,
// here: validation errors name the field, internal errors are logged and
// shown as "internal error".
//
// # Access control
//
// With [Config.AdminToken] set, /api/v1 wants "Authorization: Bearer
// TOKEN" (401 and WWW-Authenticate otherwise), and every other path but
// /healthz, /readyz, /metrics, /login and /static/ wants the session cookie
// that the login form sets (a redirect to /login?next=... otherwise). A
// route added to the mux is covered by these rules without more code.
// Wrong tokens, by form or header, are limited per client address (429
// with Retry-After; see attempts.go). Without a token, only requests whose
// Host is localhost or a loopback address are served (DNS rebinding).
//
// Every page POST must carry the session's csrf value (403 otherwise): as
// the form field "csrf" (in a multipart form, the first part, so that an
// upload after it still streams) or the header X-CSRF-Token. To add a form:
// render the page with s.render, whose data (a map[string]any) it fills
// with "CSRF" (and "LoggedIn"), and put {{template "csrf" .}} (or
// {{template "csrf" $}} inside a with or range) first in the form. The
// page hooks that browser tests use are listed in templates/layout.html.
//
// Every response carries a Content-Security-Policy that allows scripts and
// styles from /static/ only: no inline script, style or style attribute.
// Request bodies are capped at 1 MiB, submissions at MaxUploadBytes (413).
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// JobService is what web needs of jobs.Service.
type JobService interface {
	Submit(ctx context.Context, sub jobs.Submission) (store.Job, error)
	Get(ctx context.Context, id int64) (store.Job, error)
	Cancel(ctx context.Context, id int64) (store.Job, error)
	Pause(ctx context.Context, id int64) (store.Job, error)
	Resume(ctx context.Context, id int64) (store.Job, error)
	Rerun(ctx context.Context, id int64) (store.Job, error)
	RestoreCredential(ctx context.Context, name string) error
	ETA(ctx context.Context, j store.Job) (time.Duration, bool, error)
	Estimate(ctx context.Context, sub jobs.Submission) (jobs.Estimate, error)
	QuotaStates(ctx context.Context, credential string) ([]jobs.QuotaState, error)
	Kinds() []string
	KindParams(kind string) []jobs.Param
	CredentialNames() []string
	// TaskItems returns the items of a task of kind, from its payload; nil
	// when the kind cannot tell.
	TaskItems(kind string, payload []byte) []string
}

// Reader is the read side of the store that the pages and the API use.
type Reader interface {
	ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, error)
	ListResults(ctx context.Context, jobID int64, f store.ResultFilter) ([]store.Result, error)
	CountResults(ctx context.Context, jobID int64) (map[store.ResultStatus]int64, error)
	CountTasks(ctx context.Context, jobID int64) (map[store.TaskState]int64, error)
	ListErroredTasks(ctx context.Context, jobID int64, limit int) ([]store.Task, error)
	ListRetiredCredentials(ctx context.Context) ([]store.RetiredCredential, error)
	ListInstances(ctx context.Context, jobID int64, afterKey, afterAnnotator string, limit int) ([]store.Instance, error)
	ListNotifications(ctx context.Context, jobID int64) ([]store.Notification, error)
}

// Config configures the web handler.
type Config struct {
	Jobs   JobService // required
	Reader Reader     // required
	// Schedules serves the schedule pages and API; nil answers them 404.
	Schedules ScheduleService
	// Gatherer serves /metrics; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports whether the process can serve: store and broker reachable,
	// migrations applied. nil means always ready.
	Ready func(ctx context.Context) error
	// MaxUploadBytes caps a submission's body. Default 256 MiB. Every other
	// request body is capped at 1 MiB.
	MaxUploadBytes int64
	// AdminToken turns access control on: the API wants it as a Bearer
	// token, the pages a session cookie that the login form sets for it.
	// Empty means no access control (pacer then listens on loopback only).
	AdminToken string
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration
	// LiveInterval is how often the event streams look for changes.
	// Default 1s.
	LiveInterval time.Duration
	Logger       *slog.Logger // default slog.Default()
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

// Server is the web handler. Use New.
type Server struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
	csrf *http.CrossOriginProtection
	auth auth
	// attempts limits wrong admin tokens per client.
	attempts *attempts
	// anonReadTimeout bounds how long a client that has shown neither the
	// token nor a session may take to send its request body.
	anonReadTimeout time.Duration
	// done is closed by Close: the event streams end with it.
	done      chan struct{}
	closeOnce sync.Once
}

// New returns the handler for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Jobs == nil || cfg.Reader == nil {
		return nil, errors.New("web config: Jobs and Reader are required")
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = 256 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = time.Second
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"pct":       func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) },
		"thousands": thousands,
		"when":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"clock":     func(t *time.Time) string { return t.UTC().Format("15:04:05 UTC") },
		"dur":       humanDuration,
		"str":       func(b []byte) string { return string(b) },
		"int64":     func(n int) int64 { return int64(n) },
		"fieldErrIs": func(ve *jobs.ValidationError, field string) fieldError {
			if ve == nil || ve.Field != field {
				return fieldError{Field: field}
			}
			return fieldError{Field: field, Reason: ve.Reason}
		},
		"fieldErr": func(ve *jobs.ValidationError, field string) fieldError {
			if ve == nil || !(ve.Field == field || strings.HasPrefix(ve.Field, field+".")) {
				return fieldError{Field: field}
			}
			return fieldError{Field: field, Reason: ve.Reason}
		},
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	s := &Server{cfg: cfg, tmpl: tmpl, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(),
		auth: newAuth(cfg.AdminToken, cfg.SessionTTL, cfg.NowFunc), attempts: newAttempts(cfg.NowFunc), anonReadTimeout: 30 * time.Second, done: make(chan struct{})}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /login", s.pageLogin)
	m.HandleFunc("POST /login", s.formLogin)
	m.HandleFunc("POST /logout", s.formLogout)
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /{$}", s.pageJobs)
	m.HandleFunc("GET /events", s.listEvents)
	m.HandleFunc("GET /jobs/{id}/events", s.jobEvents)
	m.HandleFunc("GET /jobs/new", s.pageNewJob)
	m.HandleFunc("POST /jobs", s.formSubmit)
	m.HandleFunc("POST /jobs/estimate", s.formEstimate)
	m.HandleFunc("GET /jobs/{id}", s.pageJob)
	m.HandleFunc("GET /jobs/{id}/instances.csv", s.exportInstances)
	m.HandleFunc("GET /jobs/{id}/results.csv", func(w http.ResponseWriter, r *http.Request) { s.exportResults(w, r, "csv") })
	m.HandleFunc("GET /jobs/{id}/results.jsonl", func(w http.ResponseWriter, r *http.Request) { s.exportResults(w, r, "jsonl") })
	m.HandleFunc("POST /jobs/{id}/rerun", s.formRerun)
	m.HandleFunc("POST /jobs/{id}/{action}", s.formAction)

	m.HandleFunc("GET /api/v1/openapi.json", s.apiOpenAPI)
	m.HandleFunc("GET /api/v1/jobs", s.apiListJobs)
	m.HandleFunc("POST /api/v1/jobs", s.apiSubmit)
	m.HandleFunc("POST /api/v1/jobs/estimate", s.apiEstimate)
	m.HandleFunc("GET /api/v1/jobs/{id}", s.apiGetJob)
	m.HandleFunc("GET /api/v1/jobs/{id}/results", s.apiResults)
	m.HandleFunc("GET /api/v1/jobs/{id}/results.jsonl", func(w http.ResponseWriter, r *http.Request) { s.exportResults(w, r, "jsonl") })
	m.HandleFunc("POST /api/v1/jobs/{id}/rerun", s.apiRerun)
	m.HandleFunc("POST /api/v1/jobs/{id}/{action}", s.apiAction)
	s.scheduleRoutes(m)
	m.HandleFunc("GET /api/v1/credentials/retired", s.apiRetired)
	m.HandleFunc("POST /api/v1/credentials/{name}/restore", s.apiRestore)

	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	m.Handle("GET /readyz", ReadyHandler(s.cfg.Ready, s.cfg.Logger))
	if s.cfg.Gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}))
	}
}

// ServeHTTP implements http.Handler. Every response carries the security
// headers (a strict Content-Security-Policy first); cross-origin browser
// POSTs are refused; then access control (see [Config.AdminToken]) and the
// body limits apply.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w, r)
	s.csrf.Handler(s.guard(s.mux)).ServeHTTP(w, r)
}

// Close ends the event streams, which would otherwise hold
// http.Server.Shutdown up; register it with http.Server.RegisterOnShutdown.
// The handler keeps serving everything else.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &jobs.ValidationError{Field: "id", Reason: fmt.Sprintf("%q is not a job id", r.PathValue("id"))}
	}
	return id, nil
}

// control runs a cancel, pause or resume action.
func (s *Server) control(ctx context.Context, id int64, action string) (store.Job, error) {
	switch action {
	case "cancel":
		return s.cfg.Jobs.Cancel(ctx, id)
	case "pause":
		return s.cfg.Jobs.Pause(ctx, id)
	case "resume":
		return s.cfg.Jobs.Resume(ctx, id)
	}
	return store.Job{}, errNoRoute
}

var errNoRoute = errors.New("no such action")

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
