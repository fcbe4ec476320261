package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/adhocore/gronx"

	"github.com/pacerhq/pacer/store"
)

// ScheduleSpec is a schedule as a user gives it, through the form, the API
// or the CLI: a job template (as a [Submission]) and when to run it, either
// Every (a Go duration, "1h") or Cron (five fields, or @hourly and the like)
// read in TimeZone.
type ScheduleSpec struct {
	Name       string          `json:"name"`
	Kind       string          `json:"kind"`
	Credential string          `json:"credential"`
	Params     json.RawMessage `json:"params,omitempty"`
	// Items are the job's items, one a line, as a submission's; at most
	// store.MaxScheduleItems bytes, since each run reads them whole.
	Items string `json:"items,omitempty"`
	// Every is the interval between runs, a Go duration ("90m"); due times
	// fall on multiples of it since the Unix epoch (every 1h: on the hour).
	Every string `json:"every,omitempty"`
	// Cron is a cron expression: minute hour day-of-month month day-of-week.
	Cron string `json:"cron,omitempty"`
	// TimeZone is the IANA zone Cron is read in; "" means UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Overlap is "skip" (the default) or "queue".
	Overlap string `json:"overlap,omitempty"`
	// Missed is "catch_up_once" (the default) or "skip".
	Missed string `json:"missed,omitempty"`
	Paused bool   `json:"paused,omitempty"`
	// NotifyWebhook and NotifyEmail are passed to each run's job, checked
	// as a submission's are.
	NotifyWebhook string `json:"notify_webhook,omitempty"`
	NotifyEmail   string `json:"notify_email,omitempty"`
}

// specOf returns the spec a stored schedule was made from.
func specOf(s store.Schedule) ScheduleSpec {
	spec := ScheduleSpec{
		Name: s.Name, Kind: s.Kind, Credential: s.Credential, Params: json.RawMessage(s.Params), Items: s.Items,
		Cron: s.Cron, TimeZone: s.TimeZone, Overlap: string(s.Overlap), Missed: string(s.Missed), Paused: s.Paused,
		NotifyWebhook: s.NotifyWebhook, NotifyEmail: s.NotifyEmail,
	}
	if s.Every > 0 {
		spec.Every = s.Every.String()
	}
	return spec
}

// maxNameLen caps a schedule's name, in characters.
const maxNameLen = 100

// timing checks the when-part of spec (every, cron, time_zone, overlap,
// missed) against minInterval and returns it as a schedule without its job
// template. Errors are *ValidationError naming the field.
func timing(spec ScheduleSpec, minInterval time.Duration) (store.Schedule, error) {
	s := store.Schedule{TimeZone: strings.TrimSpace(spec.TimeZone), Cron: strings.Join(strings.Fields(spec.Cron), " ")}
	every := strings.TrimSpace(spec.Every)
	switch {
	case every == "" && s.Cron == "":
		return s, Invalid("every", "give an interval (every, such as 1h) or a cron expression (cron)")
	case every != "" && s.Cron != "":
		return s, Invalid("cron", "give an interval (every) or a cron expression, not both")
	}
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}
	loc, err := loadZone(s.TimeZone)
	if err != nil {
		return s, err
	}
	if every != "" {
		d, err := time.ParseDuration(every)
		if err != nil {
			return s, Invalid("every", "%q is not a duration such as 90s, 15m or 1h", clipText(every, 40))
		}
		if d < minInterval {
			return s, Invalid("every", "%s is below the minimum interval %s", d, minInterval)
		}
		s.Every = d
	} else {
		if err := checkCron(s.Cron, loc, minInterval); err != nil {
			return s, err
		}
	}
	overlap, err := oneOf("overlap", spec.Overlap, store.OverlapSkip, store.OverlapQueue)
	if err != nil {
		return s, err
	}
	missed, err := oneOf("missed", spec.Missed, store.MissedCatchUpOnce, store.MissedSkip)
	if err != nil {
		return s, err
	}
	s.Overlap, s.Missed = overlap, missed
	return s, nil
}

// oneOf reads a policy: "" is the first of allowed (the default), and a
// value not allowed is a *ValidationError for field.
func oneOf[T ~string](field, value string, allowed ...T) (T, error) {
	v := T(strings.TrimSpace(value))
	if v == "" {
		return allowed[0], nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if v == a {
			return v, nil
		}
		names[i] = string(a)
	}
	return "", Invalid(field, "%q is not %s", clipText(value, 40), strings.Join(names, " or "))
}

// loadZone loads an IANA time zone; "Local" is refused, since it means
// whatever zone the server happens to run in.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" || len(name) > 64 {
		return nil, Invalid("time_zone", "%q is not an IANA time zone such as Europe/Berlin or UTC", clipText(name, 40))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Invalid("time_zone", "unknown time zone %q; use an IANA name such as Europe/Berlin or UTC", clipText(name, 40))
	}
	return loc, nil
}

// cronSamples is how many consecutive due times checkCron compares with the
// minimum interval.
const cronSamples = 50

// checkCron refuses an expression that does not parse, never matches, or
// fires more often than minInterval within its next due times.
func checkCron(expr string, loc *time.Location, minInterval time.Duration) error {
	if len(expr) > 200 {
		return Invalid("cron", "longer than 200 characters")
	}
	if n := len(strings.Fields(expr)); !strings.HasPrefix(expr, "@") && n != 5 {
		return Invalid("cron", "%q has %d fields; want 5: minute hour day-of-month month day-of-week", clipText(expr, 60), n)
	}
	if _, err := gronx.Segments(expr); err != nil || !gronx.IsValid(expr) {
		reason := "does not parse"
		if _, err := gronx.NextTickAfter(expr, time.Now(), false); err != nil {
			reason = err.Error()
		}
		return Invalid("cron", "%q: %s", clipText(expr, 60), reason)
	}
	prev := time.Now().In(loc)
	for i := range cronSamples {
		next, err := cronNext(expr, loc, prev)
		if err != nil {
			if i == 0 {
				return Invalid("cron", "%q never falls due", clipText(expr, 60))
			}
			return nil
		}
		if i > 0 && next.Sub(prev) < minInterval {
			return Invalid("cron", "%q falls due %s apart, below the minimum interval %s", clipText(expr, 60), next.Sub(prev), minInterval)
		}
		prev = next
	}
	return nil
}

// cronNext returns the first time after t at which expr falls due in loc:
// an instant whose wall-clock time in loc matches expr, with cron's rules
// (Vixie cron's, cronie's) for the days the clocks change. When they go
// back and an hour happens twice, an expression that names its hours runs
// once, on the first pass, and one whose hour field is * or */n runs on
// real time, in both passes: hourly stays hourly. When they go forward and
// an hour never happens, an expression that names its hours runs its
// skipped times once, at the moment of the change, and one with * or */n
// hours has nothing to catch up.
//
// It walks the spans of constant UTC offset from t, reading expr on the
// span's wall clock as if it were UTC, where no hour is skipped or repeated.
func cronNext(expr string, loc *time.Location, t time.Time) (time.Time, error) {
	segs, err := gronx.Segments(expr)
	if err != nil {
		return time.Time{}, err
	}
	everyHour := segs[2] == "*" || strings.HasPrefix(segs[2], "*/")
	from := t.Add(time.Nanosecond) // the first instant that may be due
	for range 64 {
		zt := from.In(loc)
		_, off := zt.Zone()
		start, end := zt.ZoneBounds() // zero when the span has no bound
		offset := time.Duration(off) * time.Second
		var shift time.Duration // how far the clocks moved at start
		if !start.IsZero() {
			_, before := start.Add(-time.Nanosecond).In(loc).Zone()
			shift = offset - time.Duration(before)*time.Second
		}
		wall := func(i time.Time) time.Time { return i.UTC().Add(offset) }
		if shift > 0 && !everyHour && !start.Before(from) {
			// Forward: the wall times [start-shift, start) never happened.
			w, err := tickFrom(expr, wall(start).Add(-shift))
			if err != nil {
				return time.Time{}, err
			}
			if w.Before(wall(start)) {
				return start.UTC(), nil
			}
		}
		w, err := tickFrom(expr, wall(from))
		if err != nil {
			return time.Time{}, err
		}
		due := w.Add(-offset)
		switch {
		case !end.IsZero() && !due.Before(end):
			from = end // none in this span
		case shift < 0 && !everyHour && due.Before(start.Add(-shift)):
			from = start.Add(-shift) // the repeated hour's second pass
		default:
			return due.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cron %q: no due time after %v", expr, t)
}

// tickFrom returns expr's first tick at or after w, which gronx reads as a
// wall-clock time (w is in UTC, which has no clock changes).
func tickFrom(expr string, w time.Time) (time.Time, error) {
	c := w.Truncate(time.Second) // gronx works to the second
	if c.Before(w) {
		c = c.Add(time.Second)
	}
	return gronx.NextTickAfter(expr, c, true)
}

// NextDue is the [store.NextFunc] of every schedule: the first due time
// after t, on the grid of s.NextDue for an interval, by the cron expression
// in s.TimeZone otherwise.
func NextDue(s store.Schedule, t time.Time) (time.Time, error) {
	if s.Every > 0 {
		if t.Before(s.NextDue) {
			return s.NextDue, nil
		}
		return s.NextDue.Add((t.Sub(s.NextDue)/s.Every + 1) * s.Every), nil
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("time zone %q: %w", s.TimeZone, err)
	}
	return cronNext(s.Cron, loc, t)
}

// firstDue is a new (or resumed, or retimed) schedule's first due time
// after now: the next multiple of its interval since the Unix epoch, or its
// cron's next tick.
func firstDue(s store.Schedule, now time.Time) (time.Time, error) {
	if s.Every > 0 {
		// Not now.Truncate, which counts from year 1.
		epoch := time.Unix(0, 0)
		return epoch.Add((now.Sub(epoch)/s.Every + 1) * s.Every).UTC(), nil
	}
	return NextDue(s, now)
}

// checkName validates a schedule's name: 1 to 100 printable characters.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", Invalid("name", "missing")
	case !utf8.ValidString(name):
		return "", Invalid("name", "not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", Invalid("name", "longer than %d characters", maxNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", Invalid("name", "contains a control character")
		}
	}
	return name, nil
}

// clipText shortens s for an error message.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// checkTemplate validates a schedule's job template as Submit validates a
// submission (kind, credential, params, items), without creating anything,
// and returns the kind's name and the prepared params. Items are planned
// through, to refuse a bad one now rather than at every run; items taken
// from a source job's results (annotate's params.source_job) are not.
func (s *Service) checkTemplate(ctx context.Context, kindName, credential string, raw json.RawMessage, items string) (string, []byte, error) {
	sub := Submission{Kind: strings.TrimSpace(kindName), Credential: strings.TrimSpace(credential), Params: raw}
	if items != "" {
		sub.Items = strings.NewReader(items)
	}
	kind, params, stop, err := s.prepare(ctx, &sub)
	if err != nil {
		return "", nil, err
	}
	defer stop()
	if items == "" && sub.Items != nil {
		return kind.Name(), params, nil // a source job's results
	}
	n := 0
	if err := kind.Plan(ctx, params, sub.Items, func(TaskSpec) error { n++; return nil }); err != nil {
		return "", nil, err
	}
	if n == 0 {
		return "", nil, Invalid("ids", "no items to collect")
	}
	return kind.Name(), params, nil
}
