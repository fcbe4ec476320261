package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
)

// clock is a settable time for a Scheduler's NowFunc.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// schedT0 is the test clock's start (11:00:30 in Berlin, a Tuesday), half
// a minute past a minute, so that an "every 1m" schedule created then is
// first due at 10:01:00 UTC.
var schedT0 = time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)

func newScheduler(t *testing.T, r *rig, c *clock) *jobs.Scheduler {
	t.Helper()
	sc, err := jobs.NewScheduler(jobs.SchedulerConfig{
		Service: r.service, NowFunc: c.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func fireOnce(t *testing.T, sc *jobs.Scheduler) int {
	t.Helper()
	n, err := sc.FireOnce(t.Context())
	if err != nil {
		t.Fatalf("FireOnce: %v", err)
	}
	return n
}

func firedJobs(t *testing.T, s store.Store, id int64) []int64 {
	t.Helper()
	runs, err := s.ListScheduleRuns(t.Context(), id, store.RunFilter{State: store.RunFired, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range runs {
		out = append(out, *r.JobID)
	}
	return out
}

func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	sc := newScheduler(t, r, &clock{t: schedT0})
	ok := jobs.ScheduleSpec{Name: "n", Kind: "tweet_lookup", Credential: "main", Items: ids(3), Every: "1h"}
	tests := []struct {
		name   string
		change func(*jobs.ScheduleSpec)
		field  string
		reason string
	}{
		{"cron does not parse", func(s *jobs.ScheduleSpec) { s.Every, s.Cron = "", "61 * * * *" }, "cron", "out of bounds"},
		{"cron of garbage", func(s *jobs.ScheduleSpec) { s.Every, s.Cron = "", "every day" }, "cron", "fields"},
		{"cron never due", func(s *jobs.ScheduleSpec) { s.Every, s.Cron = "", "0 0 31 2 *" }, "cron", "never"},
		{"cron too often", func(s *jobs.ScheduleSpec) { s.Every, s.Cron = "", "* * * * * *" }, "cron", "fields"},
		{"unknown zone", func(s *jobs.ScheduleSpec) { s.Every, s.Cron, s.TimeZone = "", "0 9 * * *", "Mars/Olympus" }, "time_zone", "unknown time zone"},
		{"local zone", func(s *jobs.ScheduleSpec) { s.TimeZone = "Local" }, "time_zone", "IANA"},
		{"interval too short", func(s *jobs.ScheduleSpec) { s.Every = "30s" }, "every", "below the minimum interval 1m0s"},
		{"interval not a duration", func(s *jobs.ScheduleSpec) { s.Every = "hourly" }, "every", "not a duration"},
		{"neither", func(s *jobs.ScheduleSpec) { s.Every = "" }, "every", "give an interval"},
		{"both", func(s *jobs.ScheduleSpec) { s.Cron = "0 * * * *" }, "cron", "not both"},
		{"bad overlap", func(s *jobs.ScheduleSpec) { s.Overlap = "drop" }, "overlap", "skip or queue"},
		{"bad missed", func(s *jobs.ScheduleSpec) { s.Missed = "all" }, "missed", "catch_up_once or skip"},
		{"no name", func(s *jobs.ScheduleSpec) { s.Name = " " }, "name", "missing"},
		{"unknown kind", func(s *jobs.ScheduleSpec) { s.Kind = "x" }, "kind", "unknown"},
		{"unknown credential", func(s *jobs.ScheduleSpec) { s.Credential = "x" }, "credential", "unknown"},
		{"bad ids", func(s *jobs.ScheduleSpec) { s.Items = "12\nabc\n" }, "ids", "line 2"},
		{"no ids", func(s *jobs.ScheduleSpec) { s.Items = "" }, "ids", ""},
		{"too many ids", func(s *jobs.ScheduleSpec) { s.Items = strings.Repeat("1\n", store.MaxScheduleItems) }, "ids", "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := ok
			tc.change(&spec)
			_, err := sc.Create(t.Context(), spec)
			var ve *jobs.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("Create: %v; want a validation error of %s about %q", err, tc.field, tc.reason)
			}
		})
	}
	if list, _ := sc.List(t.Context()); len(list) != 0 {
		t.Fatalf("refused schedules were stored: %+v", list)
	}
	// Good ones, and a name taken.
	cron := ok
	cron.Name, cron.Every, cron.Cron, cron.TimeZone = "c", "", "30 9 * * mon-fri", "Europe/Berlin"
	c, err := sc.Create(t.Context(), cron)
	if err != nil {
		t.Fatalf("Create(cron): %v", err)
	}
	if want := time.Date(2030, 1, 2, 8, 30, 0, 0, time.UTC); !c.NextDue.Equal(want) {
		t.Fatalf("cron next due %v, want %v (09:30 in Berlin, the next weekday)", c.NextDue, want)
	}
	e, err := sc.Create(t.Context(), ok)
	if err != nil || !e.NextDue.Equal(time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("Create(every 1h) = %+v, %v; want due on the next hour", e, err)
	}
	var ve *jobs.ValidationError
	if _, err := sc.Create(t.Context(), ok); !errors.As(err, &ve) || ve.Field != "name" {
		t.Fatalf("Create of a taken name: %v", err)
	}
}

// TestScheduleMissedRuns: after downtime of three intervals, catch_up_once
// fires one run and skip none until the next due time.
func TestScheduleMissedRuns(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	r.start(t)
	c := &clock{t: schedT0}
	sc := newScheduler(t, r, c)
	mk := func(name, missed string) store.Schedule {
		s, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: name, Kind: "tweet_lookup", Credential: "main", Items: ids(3), Every: "1m", Missed: missed})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	once, skip := mk("once", "catch_up_once"), mk("skip", "skip")
	d1 := schedT0.Truncate(time.Minute).Add(time.Minute)
	if !once.NextDue.Equal(d1) {
		t.Fatalf("first due %v, want %v", once.NextDue, d1)
	}
	if n := fireOnce(t, sc); n != 0 {
		t.Fatalf("fired %d before the first due time", n)
	}
	c.set(d1)
	if n := fireOnce(t, sc); n != 2 {
		t.Fatalf("fired %d at the first due time, want 2", n)
	}
	for _, id := range []int64{once.ID, skip.ID} {
		r.waitFinished(t, firedJobs(t, r.store, id)[0])
	}
	// Down from d1 to d1+3m30s: d1+1m, +2m and +3m pass unseen.
	c.set(d1.Add(3*time.Minute + 30*time.Second))
	if n := fireOnce(t, sc); n != 1 {
		t.Fatalf("fired %d after downtime, want 1 (once's catch-up)", n)
	}
	if n := fireOnce(t, sc); n != 0 {
		t.Fatalf("fired %d more at the same time", n)
	}
	if got := firedJobs(t, r.store, once.ID); len(got) != 2 {
		t.Fatalf("once has %d fired runs, want 2", len(got))
	}
	if got := firedJobs(t, r.store, skip.ID); len(got) != 1 {
		t.Fatalf("skip has %d fired runs, want 1 (none caught up)", len(got))
	}
	r.waitFinished(t, firedJobs(t, r.store, once.ID)[0])
	c.set(d1.Add(4 * time.Minute))
	if n := fireOnce(t, sc); n != 2 {
		t.Fatalf("fired %d at the next due time, want 2", n)
	}
	for _, s := range []store.Schedule{once, skip} {
		got, _ := sc.Get(t.Context(), s.ID)
		if !got.NextDue.Equal(d1.Add(5 * time.Minute)) {
			t.Fatalf("%s next due %v, want d1+5m", s.Name, got.NextDue)
		}
	}
}

// TestScheduleIncremental: a timeline schedule of two users, whose
// accounts gain tweets between runs, fetches only the new ones each run,
// user by user, and the store holds each tweet once. User b's new tweets
// are older than a's newest: one since_id for both would miss them.
func TestScheduleIncremental(t *testing.T) {
	t.Parallel()
	const a = 4242
	b := uint64(1)
	for sandbox.UserTweetID(b, -10) >= sandbox.UserTweetID(a, 0) {
		b++
	}
	r := newRig(t, rigConfig{sandbox: sandbox.Config{Users: map[uint64]sandbox.UserSpec{a: {Tweets: 25}, b: {Tweets: 7}}}})
	upstream := httptest.NewServer(r.sandbox)
	t.Cleanup(upstream.Close)
	ut, err := tweets.NewUserTweets(tweets.Config{BaseURL: upstream.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.kinds.Register(ut)
	r.start(t)
	c := &clock{t: schedT0}
	sc := newScheduler(t, r, c)
	s, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: "timeline", Kind: "user_tweets", Credential: "main",
		Params: []byte(`{"max_results":10}`), Items: fmt.Sprintf("%d\n%d\n", a, b), Every: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	newest := map[uint64]uint64{} // each user's newest tweet stored so far
	due := s.NextDue
	logged := 0
	for i, add := range [][2]int{{0, 0}, {4, 0}, {0, 2}, {13, 1}} {
		var added []uint64
		for k, user := range []uint64{a, b} {
			if add[k] > 0 {
				added = append(added, r.sandbox.AddTweets(user, add[k])...)
			}
		}
		c.set(due)
		if n := fireOnce(t, sc); n != 1 {
			t.Fatalf("run %d: fired %d", i, n)
		}
		due = due.Add(time.Minute)
		jobID := firedJobs(t, r.store, s.ID)[0]
		if j := r.waitFinished(t, jobID); j.State != store.JobSucceeded {
			t.Fatalf("run %d: job %+v", i, j)
		}
		results, err := r.store.ListResults(t.Context(), jobID, store.ResultFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		want := add[0] + add[1]
		if i == 0 {
			want = 25 + 7
		}
		if len(results) != want {
			t.Fatalf("run %d stored %d tweets, want %d (the new ones)", i, len(results), want)
		}
		for _, res := range results {
			seen[res.Key]++
		}
		for _, id := range added {
			if seen[strconv.FormatUint(id, 10)] != 1 {
				t.Fatalf("run %d: added tweet %d stored %d times", i, id, seen[strconv.FormatUint(id, 10)])
			}
		}
		// The sandbox's log: this run asked for each user's tweets since
		// that user's newest one, and got only the new.
		log := r.sandbox.ListRequests()[logged:]
		logged += len(log)
		fetched := 0
		for _, req := range log {
			fetched += req.Count
			if req.SinceID != newest[req.User] {
				t.Fatalf("run %d asked for user %d since %d, want since its newest stored %d", i, req.User, req.SinceID, newest[req.User])
			}
		}
		for _, req := range log {
			newest[req.User] = max(newest[req.User], req.Newest)
		}
		if fetched != want {
			t.Fatalf("run %d fetched %d tweets from the sandbox, want %d: %+v", i, fetched, want, log)
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("tweet %s stored %d times", k, n)
		}
	}
	if total := 25 + 7 + 4 + 2 + 13 + 1; len(seen) != total {
		t.Fatalf("%d distinct tweets stored, want %d", len(seen), total)
	}
}

// TestScheduleUsage: each schedule's share of its quota per window, and a
// warning when the schedules together need more than the quota allows.
func TestScheduleUsage(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{quotas: []ratelimit.Quota{{Key: "main", Limit: 8, Window: 15 * time.Minute}}})
	sc := newScheduler(t, r, &clock{t: schedT0})
	// 500 ids are 5 lookups of 100: 5 requests a run.
	if _, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: "hourly", Kind: "tweet_lookup", Credential: "main", Items: ids(500), Every: "1h"}); err != nil {
		t.Fatal(err)
	}
	u, err := sc.Usage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Quotas) != 1 || u.Quotas[0].Needed != 5 || u.Quotas[0].Shares[0].Share != 5.0/8 || len(u.Warnings) != 0 {
		t.Fatalf("usage of one hourly schedule = %+v", u)
	}
	// Every 5 minutes: three runs in a 15-minute window, 15 requests.
	if _, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: "often", Kind: "tweet_lookup", Credential: "main", Items: ids(100), Every: "5m"}); err != nil {
		t.Fatal(err)
	}
	if u, err = sc.Usage(t.Context()); err != nil {
		t.Fatal(err)
	}
	if u.Quotas[0].Needed != 5+3 || len(u.Warnings) != 0 {
		t.Fatalf("usage = %+v, want 8 needed of 8 and no warning", u)
	}
	if _, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: "more", Kind: "tweet_lookup", Credential: "main", Items: ids(100), Cron: "*/15 * * * *"}); err != nil {
		t.Fatal(err)
	}
	if u, err = sc.Usage(t.Context()); err != nil {
		t.Fatal(err)
	}
	if u.Quotas[0].Needed != 9 || len(u.Warnings) != 1 || !strings.Contains(u.Warnings[0], "need 9 requests per 15m0s of quota main, which allows 8") {
		t.Fatalf("usage = %+v, want a warning: 9 needed of 8", u)
	}
	// A paused schedule needs nothing.
	list, _ := sc.List(t.Context())
	for _, s := range list {
		if s.Name == "more" {
			if _, err := sc.Pause(t.Context(), s.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if u, _ = sc.Usage(t.Context()); len(u.Warnings) != 0 {
		t.Fatalf("usage after pausing = %+v, want no warning", u)
	}
}

// TestSchedulerStartStop: Stop before Start, Start and Stop twice; the loop
// fires a due schedule on its own, and leaves no goroutine behind (TestMain
// checks for leaks).
func TestSchedulerStartStop(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	c := &clock{t: schedT0}
	sc := newScheduler(t, r, c)
	ctx := t.Context()
	if err := sc.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	s, err := sc.Create(ctx, jobs.ScheduleSpec{Name: "s", Kind: "tweet_lookup", Credential: "main", Items: ids(3), Every: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := sc.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	c.set(s.NextDue)
	sc.Nudge()
	deadline := time.Now().Add(30 * time.Second)
	for len(firedJobs(t, r.store, s.ID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the loop did not fire the due schedule")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 2 {
		if err := sc.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	}
}

// TestScheduleMetrics: the counter's three outcomes start at zero, count
// what FireOnce decides, and pass promlint.
func TestScheduleMetrics(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	reg := prometheus.NewRegistry()
	c := &clock{t: schedT0}
	sc, err := jobs.NewScheduler(jobs.SchedulerConfig{Service: r.service, NowFunc: c.now, Metrics: jobs.NewScheduleMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "pacer_schedule_runs_total"); n != 3 {
		t.Fatalf("%d series at start, want 3", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	s, err := sc.Create(t.Context(), jobs.ScheduleSpec{Name: "s", Kind: "tweet_lookup", Credential: "main", Items: ids(3), Every: "1m", Missed: "skip"})
	if err != nil {
		t.Fatal(err)
	}
	c.set(s.NextDue)
	fireOnce(t, sc) // fired
	c.set(s.NextDue.Add(time.Minute))
	fireOnce(t, sc) // skipped: the job was never run, so it still goes
	c.set(s.NextDue.Add(5 * time.Minute))
	fireOnce(t, sc) // skipped: busy, and missed
	want := `
# HELP pacer_schedule_runs_total Schedule due times decided by this process, by outcome (fired, skipped, failed).
# TYPE pacer_schedule_runs_total counter
pacer_schedule_runs_total{outcome="failed"} 0
pacer_schedule_runs_total{outcome="fired"} 1
pacer_schedule_runs_total{outcome="skipped"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pacer_schedule_runs_total"); err != nil {
		t.Fatal(err)
	}
}
