package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// every returns the NextFunc of an interval schedule: due times on the grid
// of s.NextDue, s.Every apart.
func every(s store.Schedule, t time.Time) (time.Time, error) {
	if t.Before(s.NextDue) {
		return s.NextDue, nil
	}
	k := t.Sub(s.NextDue)/s.Every + 1
	return s.NextDue.Add(k * s.Every), nil
}

func newSchedule(name string, overlap store.OverlapPolicy, missed store.MissedPolicy) store.Schedule {
	return store.Schedule{
		Name: name, Kind: "k", Credential: "cred", Params: []byte(`{"a":1}`), Items: "1\n2\n",
		Every: 10 * time.Second, TimeZone: "UTC", Overlap: overlap, Missed: missed, NextDue: t0,
	}
}

func createSchedule(t testing.TB, s store.Store, sc store.Schedule) store.Schedule {
	t.Helper()
	out, err := s.CreateSchedule(t.Context(), sc, t0)
	if err != nil {
		t.Fatalf("CreateSchedule(%q): %v", sc.Name, err)
	}
	return out
}

func fire(t testing.TB, s store.Store, owner string, now time.Time) store.FireResult {
	t.Helper()
	res, err := s.FireDue(t.Context(), store.FireDue{Now: now, Owner: owner, LeaseUntil: now.Add(time.Minute), Next: every})
	if err != nil {
		t.Fatalf("FireDue(%v): %v", now, err)
	}
	return res
}

// fireJob creates the job of run f (one task), as a scheduler does.
func fireJob(t testing.TB, s store.Store, f store.Firing, now time.Time) store.Job {
	t.Helper()
	j, err := s.CreateJob(t.Context(), store.NewJob{Kind: f.Schedule.Kind, Params: f.Schedule.Params, Credential: f.Schedule.Credential, Run: f.Run.ID},
		now, from(store.NewTask{Payload: []byte(`{}`), Items: 1}))
	if err != nil {
		t.Fatalf("CreateJob for run %d: %v", f.Run.ID, err)
	}
	return j
}

func runs(t testing.TB, s store.Store, id int64) []store.ScheduleRun {
	t.Helper()
	rs, err := s.ListScheduleRuns(t.Context(), id, store.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatalf("ListScheduleRuns(%d): %v", id, err)
	}
	return rs
}

func getSchedule(t testing.TB, s store.Store, id int64) store.Schedule {
	t.Helper()
	sc, err := s.GetSchedule(t.Context(), id)
	if err != nil {
		t.Fatalf("GetSchedule(%d): %v", id, err)
	}
	return sc
}

func (su suite) testSchedules(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	b := createSchedule(t, s, newSchedule("b", store.OverlapSkip, store.MissedSkip))
	cron := newSchedule("a", store.OverlapQueue, store.MissedCatchUpOnce)
	cron.Every, cron.Cron, cron.TimeZone, cron.Paused = 0, "0 * * * *", "Europe/Berlin", true
	a := createSchedule(t, s, cron)
	if a.ID == 0 || a.Cron != "0 * * * *" || a.TimeZone != "Europe/Berlin" || !a.Paused || a.Overlap != store.OverlapQueue ||
		a.Missed != store.MissedCatchUpOnce || string(a.Params) != `{"a":1}` || a.Items != "1\n2\n" || !a.NextDue.Equal(t0) || !a.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", a)
	}
	if b.Every != 10*time.Second || b.Cron != "" || b.Paused {
		t.Fatalf("created %+v", b)
	}
	if _, err := s.CreateSchedule(ctx, newSchedule("a", store.OverlapSkip, store.MissedSkip), t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSchedule of a taken name: %v, want ErrConflict", err)
	}
	list, err := s.ListSchedules(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Fatalf("ListSchedules = %+v, %v", list, err)
	}
	if got := getSchedule(t, s, a.ID); got.Name != "a" || !got.NextDue.Equal(t0) {
		t.Fatalf("GetSchedule = %+v", got)
	}
	if _, err := s.GetSchedule(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSchedule(unknown): %v, want ErrNotFound", err)
	}

	b.Name, b.Params, b.Paused, b.NextDue = "c", []byte(`{"b":2}`), true, at(time.Hour)
	u, err := s.UpdateSchedule(ctx, b, at(time.Minute))
	if err != nil || u.Name != "c" || string(u.Params) != `{"b":2}` || !u.Paused || !u.NextDue.Equal(at(time.Hour)) || !u.UpdatedAt.Equal(at(time.Minute)) || !u.CreatedAt.Equal(t0) {
		t.Fatalf("UpdateSchedule = %+v, %v", u, err)
	}
	b.Name = "a"
	if _, err := s.UpdateSchedule(ctx, b, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateSchedule to a taken name: %v, want ErrConflict", err)
	}
	b.ID = 999999
	b.Name = "z"
	if _, err := s.UpdateSchedule(ctx, b, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateSchedule(unknown): %v, want ErrNotFound", err)
	}

	// Deleting a schedule deletes its runs, and its pending run can no
	// longer fire; the jobs its runs created stay.
	d := createSchedule(t, s, newSchedule("d", store.OverlapSkip, store.MissedSkip))
	res := fire(t, s, "o", t0)
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != d.ID {
		t.Fatalf("FireDue = %+v, want d's run", res)
	}
	if err := s.DeleteSchedule(ctx, d.ID); err != nil {
		t.Fatalf("DeleteSchedule: %v", err)
	}
	if err := s.DeleteSchedule(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteSchedule twice: %v, want ErrNotFound", err)
	}
	_, err = s.CreateJob(ctx, store.NewJob{Kind: "k", Params: []byte(`{}`), Run: res.Fire[0].Run.ID}, t0, from(store.NewTask{Items: 1}))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateJob for a deleted schedule's run: %v, want ErrConflict", err)
	}
	if jobs, _ := s.ListJobs(ctx, store.JobFilter{}); len(jobs) != 0 {
		t.Fatalf("a refused run left %d jobs", len(jobs))
	}
}

func (su suite) testSchedulesInvalid(t *testing.T) {
	s := su.newStore(t)
	for _, tc := range []struct {
		name   string
		change func(*store.Schedule)
		want   string
	}{
		{"no name", func(sc *store.Schedule) { sc.Name = "" }, "name"},
		{"no kind", func(sc *store.Schedule) { sc.Kind = "" }, "kind"},
		{"bad params", func(sc *store.Schedule) { sc.Params = []byte(`{`) }, "params"},
		{"items too long", func(sc *store.Schedule) { sc.Items = strings.Repeat("1\n", store.MaxScheduleItems/2+1) }, "items"},
		{"both every and cron", func(sc *store.Schedule) { sc.Cron = "* * * * *" }, "exactly one"},
		{"neither", func(sc *store.Schedule) { sc.Every = 0 }, "exactly one"},
		{"negative every", func(sc *store.Schedule) { sc.Every = -time.Second }, "negative"},
		{"no zone", func(sc *store.Schedule) { sc.TimeZone = "" }, "time zone"},
		{"bad overlap", func(sc *store.Schedule) { sc.Overlap = "x" }, "overlap"},
		{"bad missed", func(sc *store.Schedule) { sc.Missed = "x" }, "missed"},
		{"no next due", func(sc *store.Schedule) { sc.NextDue = time.Time{} }, "next due"},
	} {
		sc := newSchedule("x", store.OverlapSkip, store.MissedSkip)
		tc.change(&sc)
		_, err := s.CreateSchedule(t.Context(), sc, t0)
		if err == nil || errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CreateSchedule: %v, want an error about %s", tc.name, err, tc.want)
		}
	}
	if list, _ := s.ListSchedules(t.Context()); len(list) != 0 {
		t.Fatalf("invalid schedules were stored: %+v", list)
	}
	if _, err := s.FireDue(t.Context(), store.FireDue{Now: t0, LeaseUntil: at(time.Minute), Next: every}); err == nil {
		t.Error("FireDue without an owner succeeded")
	}
	if _, err := s.FireDue(t.Context(), store.FireDue{Now: t0, Owner: "o", LeaseUntil: t0, Next: every}); err == nil {
		t.Error("FireDue with a lease ending now succeeded")
	}
}

func (su suite) testFireDue(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	sc := createSchedule(t, s, newSchedule("s", store.OverlapSkip, store.MissedCatchUpOnce))
	if res := fire(t, s, "o", at(-time.Second)); len(res.Fire) != 0 {
		t.Fatalf("FireDue before the due time = %+v", res)
	}
	res := fire(t, s, "o", at(time.Second))
	if len(res.Fire) != 1 {
		t.Fatalf("FireDue at the due time = %+v, want one run", res)
	}
	f := res.Fire[0]
	if f.Run.State != store.RunPending || !f.Run.DueAt.Equal(t0) || f.Run.LeaseOwner != "o" || f.Schedule.ID != sc.ID || string(f.Schedule.Params) != `{"a":1}` {
		t.Fatalf("firing = %+v", f)
	}
	if got := getSchedule(t, s, sc.ID); !got.NextDue.Equal(at(10 * time.Second)) {
		t.Fatalf("next due = %v, want t0+10s", got.NextDue)
	}
	if !res.NextDue.Equal(at(10 * time.Second)) {
		t.Fatalf("FireDue's NextDue = %v, want t0+10s", res.NextDue)
	}
	// The run is pending (busy) until its job exists: no second run.
	if res := fire(t, s, "o2", at(2*time.Second)); len(res.Fire) != 0 {
		t.Fatalf("FireDue again = %+v, want nothing", res)
	}
	j := fireJob(t, s, f, at(time.Second))
	if _, err := s.CreateJob(ctx, store.NewJob{Kind: "k", Params: []byte(`{}`), Run: f.Run.ID}, at(time.Second), from(store.NewTask{Items: 1})); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateJob for one run: %v, want ErrConflict", err)
	}
	if jobs, _ := s.ListJobs(ctx, store.JobFilter{}); len(jobs) != 1 {
		t.Fatalf("%d jobs after a refused second firing, want 1", len(jobs))
	}
	if err := s.FailRun(ctx, f.Run.ID, f.Run.LeaseOwner, "x", at(time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("FailRun of a fired run: %v, want ErrConflict", err)
	}
	if err := s.FailRun(ctx, 999999, "o", "x", at(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FailRun of no run: %v, want ErrNotFound", err)
	}
	rs := runs(t, s, sc.ID)
	if len(rs) != 1 || rs[0].State != store.RunFired || rs[0].JobID == nil || *rs[0].JobID != j.ID || rs[0].LeaseUntil != nil {
		t.Fatalf("runs = %+v, want one fired by job %d", rs, j.ID)
	}

	// The job ends; the next due time fires, and a refused one fails.
	if _, err := s.CancelJob(ctx, j.ID, at(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	res = fire(t, s, "o", at(10*time.Second))
	if len(res.Fire) != 1 || !res.Fire[0].Run.DueAt.Equal(at(10*time.Second)) {
		t.Fatalf("FireDue at t0+10s = %+v", res)
	}
	if err := s.FailRun(ctx, res.Fire[0].Run.ID, "o", "refused: over budget", at(10*time.Second)); err != nil {
		t.Fatalf("FailRun: %v", err)
	}
	if res := fire(t, s, "o", at(20*time.Second)); len(res.Fire) != 1 {
		t.Fatalf("after a failed run, FireDue = %+v, want the next run", res)
	}
	rs = runs(t, s, sc.ID)
	if len(rs) != 3 || rs[1].State != store.RunFailed || rs[1].Error != "refused: over budget" || !rs[0].DueAt.Equal(at(20*time.Second)) {
		t.Fatalf("runs = %+v", rs)
	}
	if rs, _ := s.ListScheduleRuns(ctx, sc.ID, store.RunFilter{State: store.RunFired}); len(rs) != 1 || rs[0].JobID == nil {
		t.Fatalf("fired runs = %+v", rs)
	}
	if rs, _ := s.ListScheduleRuns(ctx, sc.ID, store.RunFilter{Before: at(20 * time.Second), Limit: 1}); len(rs) != 1 || !rs[0].DueAt.Equal(at(10*time.Second)) {
		t.Fatalf("runs before t0+20s = %+v", rs)
	}

	// A paused schedule is not due.
	p := getSchedule(t, s, sc.ID)
	p.Paused = true
	if _, err := s.UpdateSchedule(ctx, p, at(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if res := fire(t, s, "o", at(time.Hour)); len(res.Fire) != 0 {
		t.Fatalf("a paused schedule fired: %+v", res)
	}
}

func (su suite) testFireDueOverlap(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	skip := createSchedule(t, s, newSchedule("skip", store.OverlapSkip, store.MissedCatchUpOnce))
	queue := createSchedule(t, s, newSchedule("queue", store.OverlapQueue, store.MissedCatchUpOnce))
	res := fire(t, s, "o", t0)
	if len(res.Fire) != 2 {
		t.Fatalf("FireDue = %+v, want two runs", res)
	}
	jobs := map[int64]store.Job{}
	for _, f := range res.Fire {
		jobs[f.Schedule.ID] = fireJob(t, s, f, t0)
	}
	// Both jobs still run at the next two due times.
	res = fire(t, s, "o", at(10*time.Second))
	if len(res.Fire) != 0 || res.Skipped != 1 {
		t.Fatalf("FireDue while busy = %+v, want 1 skipped", res)
	}
	res = fire(t, s, "o", at(20*time.Second))
	if len(res.Fire) != 0 || res.Skipped != 2 {
		t.Fatalf("FireDue while busy again = %+v, want 2 skipped (one queued run at most)", res)
	}
	states := func(id int64) string {
		var b strings.Builder
		for _, r := range runs(t, s, id) {
			fmt.Fprintf(&b, "%s@%s ", r.State, r.DueAt.Sub(t0))
		}
		return b.String()
	}
	if got, want := states(skip.ID), "skipped@20s skipped@10s fired@0s "; got != want {
		t.Fatalf("skip runs = %s, want %s", got, want)
	}
	if got, want := states(queue.ID), "skipped@20s queued@10s fired@0s "; got != want {
		t.Fatalf("queue runs = %s, want %s", got, want)
	}
	// The jobs end: the queued run fires at once, before the next due time.
	for _, j := range jobs {
		if _, err := s.CancelJob(ctx, j.ID, at(25*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	res = fire(t, s, "o", at(25*time.Second))
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != queue.ID || !res.Fire[0].Run.DueAt.Equal(at(10*time.Second)) {
		t.Fatalf("FireDue after the jobs ended = %+v, want queue's run of t0+10s", res)
	}
}

// testFireDueOverlapEnded checks what counts as the previous run still
// going: its job paused is still going (skip skips, queue waits until it
// ends), and its job failed is over (the next run fires).
func (su suite) testFireDueOverlapEnded(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	skip := createSchedule(t, s, newSchedule("skip", store.OverlapSkip, store.MissedCatchUpOnce))
	queue := createSchedule(t, s, newSchedule("queue", store.OverlapQueue, store.MissedCatchUpOnce))
	jobs := map[int64]store.Job{}
	for _, f := range fire(t, s, "o", t0).Fire {
		jobs[f.Schedule.ID] = fireJob(t, s, f, t0)
	}
	for _, j := range jobs {
		if _, err := s.PauseJob(ctx, j.ID, at(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if res := fire(t, s, "o", at(10*time.Second)); len(res.Fire) != 0 || res.Skipped != 1 {
		t.Fatalf("FireDue while the jobs are paused = %+v, want skip's run skipped and queue's queued", res)
	}
	if rs := runs(t, s, queue.ID); len(rs) != 2 || rs[0].State != store.RunQueued {
		t.Fatalf("queue runs = %+v, want one queued", rs)
	}
	// The jobs resume and fail: the queued run fires at once; skip's next
	// due time fires too.
	for _, j := range jobs {
		if _, err := s.ResumeJob(ctx, j.ID, at(11*time.Second)); err != nil {
			t.Fatal(err)
		}
		task := firstTask(t, s, j.ID)
		claim(t, s, task, "w", at(11*time.Second))
		if j, err := s.FailTask(ctx, store.Failure{TaskID: task, Owner: "w", Error: "boom", Now: at(12 * time.Second), Finish: finish}); err != nil || j.State != store.JobFailed {
			t.Fatalf("FailTask: %v, %v", j.State, err)
		}
	}
	res := fire(t, s, "o", at(12*time.Second))
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != queue.ID || !res.Fire[0].Run.DueAt.Equal(at(10*time.Second)) {
		t.Fatalf("FireDue after the jobs failed = %+v, want queue's run of t0+10s", res)
	}
	res = fire(t, s, "o", at(20*time.Second))
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != skip.ID || res.Skipped != 0 {
		t.Fatalf("FireDue at t0+20s = %+v, want skip's run fired and queue's queued (its run is pending)", res)
	}
	if rs := runs(t, s, queue.ID); len(rs) != 3 || rs[0].State != store.RunQueued || rs[1].State != store.RunPending {
		t.Fatalf("queue runs = %+v, want t0+20s queued behind t0+10s pending", rs)
	}
}

func (su suite) testFireDueMissed(t *testing.T) {
	s := su.newStore(t)
	once := createSchedule(t, s, newSchedule("once", store.OverlapSkip, store.MissedCatchUpOnce))
	skip := createSchedule(t, s, newSchedule("skip", store.OverlapSkip, store.MissedSkip))
	// Down for three intervals: t0, t0+10s and t0+20s passed unseen.
	now := at(25 * time.Second)
	res := fire(t, s, "o", now)
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != once.ID || res.Missed != 1 {
		t.Fatalf("FireDue after downtime = %+v, want one run of once and one missed", res)
	}
	for _, id := range []int64{once.ID, skip.ID} {
		if got := getSchedule(t, s, id); !got.NextDue.Equal(at(30 * time.Second)) {
			t.Fatalf("schedule %d next due = %v, want t0+30s", id, got.NextDue.Sub(t0))
		}
	}
	if rs := runs(t, s, skip.ID); len(rs) != 0 {
		t.Fatalf("skip recorded runs: %+v", rs)
	}
	if rs := runs(t, s, once.ID); len(rs) != 1 {
		t.Fatalf("catch_up_once recorded %d runs, want 1", len(rs))
	}
	// A due time seen late but before the next one is not missed.
	res = fire(t, s, "o", at(35*time.Second))
	if len(res.Fire) != 1 || res.Fire[0].Schedule.ID != skip.ID || res.Missed != 0 || res.Skipped != 1 {
		t.Fatalf("FireDue at t0+35s = %+v, want skip's run and once's skipped (busy)", res)
	}
}

func (su suite) testFireDueRelet(t *testing.T) {
	s := su.newStore(t)
	createSchedule(t, s, newSchedule("s", store.OverlapSkip, store.MissedSkip))
	res := fire(t, s, "dead", t0)
	if len(res.Fire) != 1 {
		t.Fatalf("FireDue = %+v", res)
	}
	// Its owner died; nobody else gets it while the lease holds.
	if res := fire(t, s, "other", at(59*time.Second)); len(res.Fire) != 0 {
		t.Fatalf("FireDue within the lease = %+v", res)
	}
	res2 := fire(t, s, "other", at(61*time.Second))
	if len(res2.Fire) != 1 || res2.Fire[0].Run.ID != res.Fire[0].Run.ID || res2.Fire[0].Run.LeaseOwner != "other" {
		t.Fatalf("FireDue after the lease = %+v, want the same run leased to other", res2)
	}
	// The dead owner comes back late: it may not fail the run it lost, which
	// the new owner fires.
	if err := s.FailRun(t.Context(), res.Fire[0].Run.ID, "dead", "refused late", at(61*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("FailRun by the owner that lost the lease: %v, want ErrConflict", err)
	}
	fireJob(t, s, res2.Fire[0], at(61*time.Second))
	// Nor may it fire it.
	_, err := s.CreateJob(t.Context(), store.NewJob{Kind: "k", Params: []byte(`{}`), Run: res.Fire[0].Run.ID}, at(62*time.Second), from(store.NewTask{Items: 1}))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("late CreateJob: %v, want ErrConflict", err)
	}
}

func (su suite) testFireDueConcurrent(t *testing.T) {
	s := su.newStore(t)
	for i := range 5 {
		createSchedule(t, s, newSchedule(fmt.Sprintf("s%d", i), store.OverlapSkip, store.MissedCatchUpOnce))
	}
	// Eight schedulers, each firing what it gets, at each of 6 due times.
	var mu sync.Mutex
	fired := map[string]int{}
	for step := range 6 {
		now := at(time.Duration(step) * 10 * time.Second)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				res, err := s.FireDue(t.Context(), store.FireDue{Now: now, Owner: fmt.Sprint("w", w), LeaseUntil: now.Add(time.Minute), Next: every})
				if err != nil {
					t.Errorf("FireDue: %v", err)
					return
				}
				for _, f := range res.Fire {
					j, err := s.CreateJob(t.Context(), store.NewJob{Kind: "k", Params: []byte(`{}`), Run: f.Run.ID}, now, from(store.NewTask{Items: 1}))
					if err != nil {
						t.Errorf("CreateJob: %v", err)
						return
					}
					if _, err := s.CancelJob(t.Context(), j.ID, now); err != nil {
						t.Errorf("CancelJob: %v", err)
					}
					mu.Lock()
					fired[fmt.Sprintf("%d@%s", f.Schedule.ID, f.Run.DueAt.Sub(t0))]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	if len(fired) != 30 {
		t.Errorf("%d (schedule, due time) pairs fired, want 30: %v", len(fired), fired)
	}
	for k, n := range fired {
		if n != 1 {
			t.Errorf("%s fired %d times", k, n)
		}
	}
	if jobs, _ := s.ListJobs(t.Context(), store.JobFilter{Limit: 1000}); len(jobs) != 30 {
		t.Errorf("%d jobs, want 30", len(jobs))
	}
}

func (su suite) testFireDueHalt(t *testing.T) {
	s := su.newStore(t)
	sc := createSchedule(t, s, newSchedule("s", store.OverlapSkip, store.MissedSkip))
	res, err := s.FireDue(t.Context(), store.FireDue{Now: t0, Owner: "o", LeaseUntil: at(time.Minute),
		Next: func(store.Schedule, time.Time) (time.Time, error) { return time.Time{}, errors.New("no match") }})
	if err != nil || len(res.Fire) != 0 || res.Paused != 1 {
		t.Fatalf("FireDue = %+v, %v; want one schedule paused", res, err)
	}
	got := getSchedule(t, s, sc.ID)
	if !got.Paused || !strings.Contains(got.LastError, "no match") {
		t.Fatalf("schedule = %+v, want paused with the error", got)
	}
}

func (su suite) testResultMarks(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{Payload: []byte(`{"user":"a"}`)}, store.NewTask{Payload: []byte(`{"user":"b"}`)}, store.NewTask{})
	if m, err := s.ResultMarks(t.Context(), j.ID); err != nil || len(m) != 0 {
		t.Fatalf("ResultMarks of no results = %+v, %v", m, err)
	}
	for i, results := range [][]store.Result{
		{{Key: "99", Status: store.ResultOK}, {Key: "1000", Status: store.ResultOK}, {Key: "999", Status: store.ResultOK}, {Key: "5000", Status: store.ResultNotFound}},
		{{Key: "7", Status: store.ResultOK}},
		{{Key: "8000", Status: store.ResultNotFound}},
	} {
		claim(t, s, ids[i], "w", t0)
		complete(t, s, store.Completion{TaskID: ids[i], Owner: "w", Now: t0, Results: results})
	}
	m, err := s.ResultMarks(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ResultMark{{TaskID: ids[0], Payload: []byte(`{"user":"a"}`), Key: "1000"}, {TaskID: ids[1], Payload: []byte(`{"user":"b"}`), Key: "7"}}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Fatalf("ResultMarks = %+v, want %+v (numeric order; not_found rows do not count)", m, want)
	}
}
