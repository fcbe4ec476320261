package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/web"
)

// scheduleFlags are the flags of the scheduler that serve and run start.
func (o *options) scheduleFlags(f *flagSet) {
	f.Duration(&o.scheduleMinInterval, "schedule-min-interval", time.Minute, "the shortest interval a schedule may have (and the shortest gap of a cron expression)")
}

// newScheduler builds the scheduler of serve and run, with its metrics on
// reg.
func newScheduler(o *options, svc *jobs.Service, reg prometheus.Registerer, log *slog.Logger) (*jobs.Scheduler, error) {
	if o.scheduleMinInterval <= 0 {
		return nil, fmt.Errorf("-schedule-min-interval: %s is not positive", o.scheduleMinInterval)
	}
	return jobs.NewScheduler(jobs.SchedulerConfig{
		Service: svc, MinInterval: o.scheduleMinInterval, Logger: log, Metrics: jobs.NewScheduleMetrics(reg),
	})
}

// scheduleService is the scheduler as web takes it: nil stays nil.
func scheduleService(s *jobs.Scheduler) web.ScheduleService {
	if s == nil {
		return nil
	}
	return s
}

const scheduleUsage = `schedule create [flags] NAME   (-kind, -credential, -every or -cron, -ids FILE ...)
       pacer schedule pause|resume|delete SCHEDULE_ID`

// cmdSchedules is `pacer schedules`: every schedule in a table.
func cmdSchedules(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cf clientFlags
	f := newFlagSet("schedules", "schedules [flags]", getenv, stderr)
	cf.register(f)
	if err := f.parse(args); err != nil {
		return err
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	var out struct {
		Schedules []web.ScheduleView `json:"schedules"`
		Warnings  []string           `json:"warnings"`
	}
	if err := client.call(ctx, http.MethodGet, "/api/v1/schedules", &out); err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKIND\tWHEN\tNEXT\tLAST RUN\tSTATE")
	for _, s := range out.Schedules {
		when := "every " + s.Every
		if s.Cron != "" {
			when = s.Cron + " " + s.TimeZone
		}
		next, last, state := s.NextDue.UTC().Format(time.RFC3339), "-", "active"
		if s.Paused {
			next, state = "-", "paused"
		}
		if r := s.LastRun; r != nil {
			last = r.DueAt.UTC().Format(time.RFC3339) + " " + r.State
			if r.JobID != nil {
				last += " job " + strconv.FormatInt(*r.JobID, 10)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Kind, when, next, last, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return nil
}

// cmdSchedule is `pacer schedule create|pause|resume|delete`.
func cmdSchedule(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: pacer "+scheduleUsage)
		return errors.New("schedule: want create, pause, resume or delete")
	}
	action, rest := args[0], args[1:]
	switch action {
	case "create":
		return cmdScheduleCreate(ctx, rest, getenv, stdin, stdout, stderr)
	case "pause", "resume", "delete":
	default:
		fmt.Fprintln(stderr, "usage: pacer "+scheduleUsage)
		return fmt.Errorf("schedule: unknown action %q; want create, pause, resume or delete", action)
	}
	var cf clientFlags
	f := newFlagSet("schedule "+action, "schedule "+action+" [flags] SCHEDULE_ID", getenv, stderr)
	cf.register(f)
	if err := f.parse(rest); err != nil {
		return err
	}
	if len(f.args()) != 1 {
		return fmt.Errorf("SCHEDULE_ID: want one schedule id, got %d arguments", len(f.args()))
	}
	id, err := strconv.ParseInt(f.args()[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("SCHEDULE_ID: %q is not a schedule id", f.args()[0])
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	if action == "delete" {
		if err := client.call(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/schedules/%d", id), nil); err != nil {
			return fmt.Errorf("delete schedule %d: %w", id, err)
		}
		fmt.Fprintf(stdout, "schedule %d deleted\n", id)
		return nil
	}
	var v web.ScheduleView
	if err := client.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/schedules/%d/%s", id, action), &v); err != nil {
		return fmt.Errorf("%s schedule %d: %w", action, id, err)
	}
	fmt.Fprintln(stdout, scheduleLine(v))
	return nil
}

// scheduleLine is one schedule in a line.
func scheduleLine(v web.ScheduleView) string {
	state := "next run " + v.NextDue.UTC().Format(time.RFC3339)
	if v.Paused {
		state = "paused"
	}
	return fmt.Sprintf("schedule %d %s: %s, %s", v.ID, v.Name, v.Kind, state)
}

func cmdScheduleCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		cf               clientFlags
		spec             jobs.ScheduleSpec
		params, idsPath  string
		paused           bool
		every, cron, tz  string
		overlap, missed  string
		kind, credential string
	)
	f := newFlagSet("schedule create", "schedule create [flags] NAME", getenv, stderr)
	cf.register(f)
	f.String(&kind, "kind", "", "the job's kind (tweet_lookup, user_tweets, ...)")
	f.String(&credential, "credential", "", "the credential or pool the job uses")
	f.String(&params, "params", "", "the job's params as JSON")
	f.String(&idsPath, "ids", "", "file of the job's items, one per line (- for stdin)")
	f.String(&every, "every", "", "run every this long (1h, 90m)")
	f.String(&cron, "cron", "", "or run at these times: a cron expression (minute hour day month weekday)")
	f.String(&tz, "time-zone", "", "the IANA time zone of -cron (default UTC)")
	f.String(&overlap, "overlap", "skip", "a run due while the previous one runs: skip or queue")
	f.String(&missed, "missed", "catch_up_once", "runs missed while pacer was down: catch_up_once or skip")
	f.Bool(&paused, "paused", false, "create it paused")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) != 1 {
		return fmt.Errorf("NAME: want one schedule name, got %d arguments", len(f.args()))
	}
	spec = jobs.ScheduleSpec{Name: f.args()[0], Kind: kind, Credential: credential, Every: every, Cron: cron,
		TimeZone: tz, Overlap: overlap, Missed: missed, Paused: paused}
	if params != "" {
		spec.Params = json.RawMessage(params)
	}
	if idsPath != "" {
		var r io.Reader = stdin
		if idsPath != "-" {
			file, err := os.Open(idsPath)
			if err != nil {
				return fmt.Errorf("-ids: %w", err)
			}
			defer file.Close()
			r = file
		}
		b, err := io.ReadAll(io.LimitReader(r, 2<<20))
		if err != nil {
			return fmt.Errorf("-ids: %w", err)
		}
		spec.Items = string(b)
	}
	body, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, client.base+"/api/v1/schedules", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	var v web.ScheduleView
	if err := client.do(req, &v); err != nil {
		return fmt.Errorf("create schedule %q: %w", strings.TrimSpace(spec.Name), err)
	}
	fmt.Fprintln(stdout, scheduleLine(v))
	return nil
}
