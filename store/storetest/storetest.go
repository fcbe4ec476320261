// Package storetest is the conformance suite that every [store.Store] driver
// must pass (store/postgres and store/sqlite), so that nothing above the
// store can tell which one it has. Each driver's tests call [Run] with a
// function that opens a fresh, migrated store.
//
// storetest imports the standard library, testing and store only: no driver,
// no other pacer package. Every test passes explicit times, so the suite
// never sleeps.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// Run runs the conformance suite. newStore must return a fresh, migrated
// store that holds no data, and close it in t.Cleanup; Run calls it at least
// once per subtest, and the subtests run in parallel.
func Run(t *testing.T, newStore func(t testing.TB) store.Store) {
	s := suite{newStore: newStore}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Migrate", s.testMigrate},
		{"CreateJob", s.testCreateJob},
		{"CreateJobNextError", s.testCreateJobNextError},
		{"CreateJobInvalid", s.testCreateJobInvalid},
		{"Times", s.testTimes},
		{"GetJobNotFound", s.testGetNotFound},
		{"ListJobs", s.testListJobs},
		{"ListJobsDefaultLimit", s.testListJobsDefaultLimit},
		{"CountJobs", s.testCountJobs},
		{"CancelJob", s.testCancelJob},
		{"PauseResume", s.testPauseResume},
		{"DispatchDue", s.testDispatchDue},
		{"DispatchDueOrder", s.testDispatchDueOrder},
		{"DispatchDueConcurrent", s.testDispatchDueConcurrent},
		{"Undispatch", s.testUndispatch},
		{"ClaimTask", s.testClaimTask},
		{"ClaimTaskConflicts", s.testClaimTaskConflicts},
		{"CompleteTask", s.testCompleteTask},
		{"CompleteTaskUpsert", s.testCompleteTaskUpsert},
		{"CompleteTaskErrors", s.testCompleteTaskErrors},
		{"CompleteTaskCancelled", s.testCompleteTaskCancelled},
		{"CompleteTaskFinishAtomic", s.testCompleteTaskFinishAtomic},
		{"RetryTask", s.testRetryTask},
		{"RetryTaskWaitQuota", s.testRetryTaskWaitQuota},
		{"RetryTaskWaitQuotaCleared", s.testRetryTaskWaitQuotaCleared},
		{"FailTask", s.testFailTask},
		{"CountTasks", s.testCountTasks},
		{"ListErroredTasks", s.testListErroredTasks},
		{"ListResults", s.testListResults},
		{"CountResults", s.testCountResults},
		{"SpendQuota", s.testSpendQuota},
		{"SpendQuotaInvalid", s.testSpendQuotaInvalid},
		{"SpendQuotaSubMicrosecondSpan", s.testSpendQuotaSubMicro},
		{"SpendQuotaConcurrent", s.testSpendQuotaConcurrent},
		{"TakeWindow", s.testTakeWindow},
		{"TakeWindowSubMicrosecond", s.testTakeWindowSubMicro},
		{"TakeWindowLate", s.testTakeWindowLate},
		{"TakeWindowConcurrent", s.testTakeWindowConcurrent},
		{"ObserveWindowReset", s.testObserveWindowReset},
		{"ObserveWindowLimit", s.testObserveWindowLimit},
		{"ObserveWindowRemaining", s.testObserveWindowRemaining},
		{"ObserveWindowStale", s.testObserveWindowStale},
		{"BlockQuota", s.testBlockQuota},
		{"BlockQuotaNeverShortens", s.testBlockQuotaNeverShortens},
		{"QuotaWindowInvalid", s.testQuotaWindowInvalid},
		{"QuotaStateWindow", s.testQuotaStateWindow},
		{"QuotaStateBlock", s.testQuotaStateBlock},
		{"QuotaStateSliding", s.testQuotaStateSliding},
		{"QuotaStateInvalid", s.testQuotaStateInvalid},
		{"RetiredCredentials", s.testRetiredCredentials},
		{"ListTasks", s.testListTasks},
		{"Instances", s.testInstances},
		{"InstancesInvalid", s.testInstancesInvalid},
		{"NotificationsOnEnd", s.testNotificationsOnEnd},
		{"NotificationsRollback", s.testNotificationsRollback},
		{"ClaimNotifications", s.testClaimNotifications},
		{"ClaimNotificationsOrder", s.testClaimNotificationsOrder},
		{"ClaimNotificationsConcurrent", s.testClaimNotificationsConcurrent},
		{"Schedules", s.testSchedules},
		{"SchedulesInvalid", s.testSchedulesInvalid},
		{"FireDue", s.testFireDue},
		{"FireDueOverlap", s.testFireDueOverlap},
		{"FireDueOverlapEnded", s.testFireDueOverlapEnded},
		{"FireDueMissed", s.testFireDueMissed},
		{"FireDueRelet", s.testFireDueRelet},
		{"FireDueConcurrent", s.testFireDueConcurrent},
		{"FireDueHalt", s.testFireDueHalt},
		{"ResultMarks", s.testResultMarks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t)
		})
	}
}

type suite struct {
	newStore func(t testing.TB) store.Store
}

// t0 is the suite's "now". Times are explicit everywhere, so nothing sleeps.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// forever is a republishAfter that no published task outlives.
const forever = 100 * 365 * 24 * time.Hour

// finish is the FinishFunc of the suite: failed if any task failed.
func finish(j store.Job) (store.JobState, string) {
	if j.TasksFailed > 0 {
		return store.JobFailed, fmt.Sprintf("%d of %d items, %d failed", j.ItemsDone, j.ItemsTotal, j.ItemsFailed)
	}
	return store.JobSucceeded, fmt.Sprintf("%d of %d items", j.ItemsDone, j.ItemsTotal)
}

// from returns a next func for CreateJob that yields tasks, then io.EOF.
func from(tasks ...store.NewTask) func() (store.NewTask, error) {
	i := 0
	return func() (store.NewTask, error) {
		if i == len(tasks) {
			return store.NewTask{}, io.EOF
		}
		i++
		return tasks[i-1], nil
	}
}

// numbered returns n tasks with payload {"n":i} and items items each.
func numbered(n, items int) []store.NewTask {
	tasks := make([]store.NewTask, n)
	for i := range tasks {
		tasks[i] = store.NewTask{Payload: fmt.Appendf(nil, `{"n":%d}`, i), Items: items}
	}
	return tasks
}

// create creates a job of kind at now with tasks, and returns it with the ids
// of its tasks, in order.
func create(t testing.TB, s store.Store, kind string, now time.Time, tasks ...store.NewTask) (store.Job, []int64) {
	t.Helper()
	before := due(t, s, now)
	j, err := s.CreateJob(t.Context(), store.NewJob{Kind: kind, Params: []byte(`{}`), Credential: "cred"}, now, from(tasks...))
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	var ids []int64
	for _, id := range due(t, s, now) {
		if !slices.Contains(before, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != len(tasks) {
		t.Fatalf("CreateJob made %d dispatchable tasks, want %d", len(ids), len(tasks))
	}
	return j, ids
}

// due returns the ids of the tasks that DispatchDue would hand out at now and
// leaves them as they were: it dispatches only tasks that were never
// published, and undispatches them again.
func due(t testing.TB, s store.Store, now time.Time) []int64 {
	t.Helper()
	ids, err := s.DispatchDue(t.Context(), now, forever, 1_000_000)
	if err != nil {
		t.Fatalf("DispatchDue: %v", err)
	}
	if err := s.Undispatch(t.Context(), ids); err != nil {
		t.Fatalf("Undispatch: %v", err)
	}
	return ids
}

func claim(t testing.TB, s store.Store, id int64, owner string, now time.Time) (store.Task, store.Job) {
	t.Helper()
	task, job, err := s.ClaimTask(t.Context(), id, owner, now, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("ClaimTask(%d, %q): %v", id, owner, err)
	}
	return task, job
}

func complete(t testing.TB, s store.Store, c store.Completion) store.Job {
	t.Helper()
	if c.Finish == nil {
		c.Finish = finish
	}
	j, err := s.CompleteTask(t.Context(), c)
	if err != nil {
		t.Fatalf("CompleteTask(%d): %v", c.TaskID, err)
	}
	return j
}

func getJob(t testing.TB, s store.Store, id int64) store.Job {
	t.Helper()
	j, err := s.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob(%d): %v", id, err)
	}
	return j
}

func getTask(t testing.TB, s store.Store, id int64) store.Task {
	t.Helper()
	task, err := s.GetTask(t.Context(), id)
	if err != nil {
		t.Fatalf("GetTask(%d): %v", id, err)
	}
	return task
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func wantIDs(t testing.TB, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: ids %v, want %v", what, got, want)
	}
}

// timeStr formats a time for comparisons, with its zone: a time that is not
// UTC shows.
func timeStr(t time.Time) string { return t.Format("2006-01-02T15:04:05.999999999 MST") }

func ptrStr(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return timeStr(*t)
}

// jobStr renders every field of j, for comparisons and failure messages.
func jobStr(j store.Job) string {
	return fmt.Sprintf("{ID:%d Kind:%s Params:%s Credential:%s State:%s Items:%d/%d/%d Tasks:%d/%d/%d Requests:%d Summary:%q LastError:%q Created:%s Updated:%s Started:%s Finished:%s Wait:%q until %s}",
		j.ID, j.Kind, j.Params, j.Credential, j.State, j.ItemsTotal, j.ItemsDone, j.ItemsFailed,
		j.TasksTotal, j.TasksDone, j.TasksFailed, j.Requests, j.Summary, j.LastError,
		timeStr(j.CreatedAt), timeStr(j.UpdatedAt), ptrStr(j.StartedAt), ptrStr(j.FinishedAt),
		j.WaitQuota, ptrStr(j.WaitUntil))
}

// taskStr renders every field of task.
func taskStr(task store.Task) string {
	return fmt.Sprintf("{ID:%d JobID:%d Payload:%s Items:%d State:%s Attempts:%d RunAt:%s LastError:%q Lease:%q until %s Published:%s Created:%s Updated:%s}",
		task.ID, task.JobID, task.Payload, task.Items, task.State, task.Attempts, timeStr(task.RunAt),
		task.LastError, task.LeaseOwner, ptrStr(task.LeaseUntil), ptrStr(task.PublishedAt),
		timeStr(task.CreatedAt), timeStr(task.UpdatedAt))
}

func resultStr(r store.Result) string {
	return fmt.Sprintf("{JobID:%d Key:%q Status:%s Data:%s Error:%q TaskID:%d Fetched:%s}",
		r.JobID, r.Key, r.Status, r.Data, r.Error, r.TaskID, timeStr(r.FetchedAt))
}

func wantJob(t testing.TB, what string, got, want store.Job) {
	t.Helper()
	if g, w := jobStr(got), jobStr(want); g != w {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func wantTask(t testing.TB, what string, got, want store.Task) {
	t.Helper()
	if g, w := taskStr(got), taskStr(want); g != w {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func ptr(t time.Time) *time.Time { return &t }

func (su suite) testMigrate(t *testing.T) {
	s := su.newStore(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after second Migrate: %v", err)
	}
}

func (su suite) testCreateJob(t *testing.T) {
	s := su.newStore(t)
	// 1,234 tasks cross the drivers' batch boundaries.
	tasks := numbered(1234, 0)
	var items int64
	for i := range tasks {
		tasks[i].Items = i % 3
		items += int64(i % 3)
	}
	tasks[7].Payload = nil // a task may have no payload
	params := []byte(`{"ids": [3,1,2],  "b":1, "a":"x"}`)
	j, err := s.CreateJob(t.Context(), store.NewJob{Kind: "tweet_lookup", Params: params, Credential: "main"}, t0, from(tasks...))
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	want := store.Job{
		ID: j.ID, Kind: "tweet_lookup", Params: params, Credential: "main", State: store.JobQueued,
		ItemsTotal: items, TasksTotal: 1234, CreatedAt: t0, UpdatedAt: t0,
	}
	wantJob(t, "CreateJob", j, want)
	wantJob(t, "GetJob", getJob(t, s, j.ID), want)

	ids := due(t, s, t0)
	if len(ids) != len(tasks) {
		t.Fatalf("%d due tasks, want %d", len(ids), len(tasks))
	}
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("task ids not ascending in order of next: %v then %v", ids[i-1], id)
		}
		if i%100 != 7 && i != len(ids)-1 {
			continue // check a sample, including the task without payload and the last
		}
		wantTask(t, fmt.Sprintf("task %d", i), getTask(t, s, id), store.Task{
			ID: id, JobID: j.ID, Payload: tasks[i].Payload, Items: tasks[i].Items, State: store.TaskPending,
			RunAt: t0, CreatedAt: t0, UpdatedAt: t0,
		})
	}
	if got := getTask(t, s, ids[7]).Payload; got != nil {
		t.Errorf("task without payload: payload %q, want nil", got)
	}
	counts, err := s.CountTasks(t.Context(), j.ID)
	if err != nil {
		t.Fatalf("CountTasks: %v", err)
	}
	if len(counts) != 1 || counts[store.TaskPending] != 1234 {
		t.Errorf("CountTasks = %v, want 1234 pending", counts)
	}
}

func (su suite) testCreateJobNextError(t *testing.T) {
	s := su.newStore(t)
	errBoom := errors.New("boom")
	n := 0
	next := func() (store.NewTask, error) {
		if n == 600 { // after a full batch has been written
			return store.NewTask{}, errBoom
		}
		n++
		return store.NewTask{Payload: []byte(`{}`), Items: 1}, nil
	}
	_, err := s.CreateJob(t.Context(), store.NewJob{Kind: "k", Params: []byte(`{}`)}, t0, next)
	if err != errBoom { // the contract: unwrapped
		t.Fatalf("CreateJob error = %v, want next's error unwrapped", err)
	}
	jobs, err := s.ListJobs(t.Context(), store.JobFilter{})
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	if len(jobs) != 0 {
		t.Errorf("ListJobs after a failed CreateJob = %d jobs, want none", len(jobs))
	}
	if ids := due(t, s, t0); len(ids) != 0 {
		t.Errorf("%d tasks after a failed CreateJob, want none", len(ids))
	}
	// The store still works, and the next job is complete.
	j, ids := create(t, s, "k", t0, numbered(3, 1)...)
	if j.TasksTotal != 3 || len(ids) != 3 {
		t.Errorf("job after a failed one: %d tasks, %d due, want 3", j.TasksTotal, len(ids))
	}
}

func (su suite) testCreateJobInvalid(t *testing.T) {
	s := su.newStore(t)
	tests := []struct {
		name  string
		job   store.NewJob
		tasks []store.NewTask
	}{
		{"no kind", store.NewJob{Params: []byte(`{}`)}, nil},
		{"params not JSON", store.NewJob{Kind: "k", Params: []byte(`{`)}, nil},
		{"no params", store.NewJob{Kind: "k"}, nil},
		{"payload not JSON", store.NewJob{Kind: "k", Params: []byte(`{}`)}, []store.NewTask{{Payload: []byte(`nope`)}}},
		{"negative items", store.NewJob{Kind: "k", Params: []byte(`{}`)}, []store.NewTask{{Items: -1}}},
	}
	for _, tc := range tests {
		_, err := s.CreateJob(t.Context(), tc.job, t0, from(tc.tasks...))
		if err == nil {
			t.Errorf("%s: CreateJob succeeded, want an error", tc.name)
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: CreateJob error %v is a sentinel", tc.name, err)
		}
	}
	if jobs, err := s.ListJobs(t.Context(), store.JobFilter{}); err != nil || len(jobs) != 0 {
		t.Errorf("ListJobs = %d jobs, %v; want none", len(jobs), err)
	}
}

func (su suite) testTimes(t *testing.T) {
	s := su.newStore(t)
	// A time in another zone with nanoseconds comes back in UTC, truncated
	// to the microsecond.
	now := time.Date(2030, 6, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	j, ids := create(t, s, "k", now, store.NewTask{Items: 1})
	want := time.Date(2030, 6, 1, 12, 0, 0, 123456000, time.UTC)
	for what, got := range map[string]time.Time{
		"CreateJob created_at": j.CreatedAt,
		"GetJob created_at":    getJob(t, s, j.ID).CreatedAt,
		"task run_at":          getTask(t, s, ids[0]).RunAt,
	} {
		if timeStr(got) != timeStr(want) {
			t.Errorf("%s = %s, want %s", what, timeStr(got), timeStr(want))
		}
	}
	// The task is due at now itself, not a microsecond later.
	if got := due(t, s, now); len(got) != 1 {
		t.Errorf("due at its own run_at: %v, want the task", got)
	}
}

func (su suite) testGetNotFound(t *testing.T) {
	s := su.newStore(t)
	_, err := s.GetJob(t.Context(), 12345)
	wantErr(t, "GetJob", err, store.ErrNotFound)
	_, err = s.GetTask(t.Context(), 12345)
	wantErr(t, "GetTask", err, store.ErrNotFound)
}

func (su suite) testListJobs(t *testing.T) {
	s := su.newStore(t)
	var ids []int64 // oldest first
	for i := range 6 {
		kind := []string{"a", "b"}[i%2]
		j, _ := create(t, s, kind, at(time.Duration(i)*time.Second), store.NewTask{Items: 1})
		ids = append(ids, j.ID)
	}
	if _, err := s.PauseJob(t.Context(), ids[1], t0); err != nil {
		t.Fatalf("PauseJob: %v", err)
	}
	if _, err := s.CancelJob(t.Context(), ids[4], t0); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	tests := []struct {
		name string
		f    store.JobFilter
		want []int64
	}{
		{"all", store.JobFilter{}, rev},
		{"kind", store.JobFilter{Kind: "a"}, []int64{ids[4], ids[2], ids[0]}},
		{"state", store.JobFilter{State: store.JobQueued}, []int64{ids[5], ids[3], ids[2], ids[0]}},
		{"kind and state", store.JobFilter{Kind: "b", State: store.JobPaused}, []int64{ids[1]}},
		{"no match", store.JobFilter{Kind: "c"}, nil},
		{"limit", store.JobFilter{Limit: 2}, rev[:2]},
		{"before", store.JobFilter{BeforeID: ids[3]}, []int64{ids[2], ids[1], ids[0]}},
		{"before and limit", store.JobFilter{BeforeID: ids[3], Limit: 2}, []int64{ids[2], ids[1]}},
		{"before and kind", store.JobFilter{BeforeID: ids[4], Kind: "b"}, []int64{ids[3], ids[1]}},
	}
	for _, tc := range tests {
		jobs, err := s.ListJobs(t.Context(), tc.f)
		if err != nil {
			t.Fatalf("%s: ListJobs: %v", tc.name, err)
		}
		var got []int64
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		wantIDs(t, tc.name, got, tc.want)
	}
	// Paging by BeforeID walks every job once, newest first.
	var got []int64
	f := store.JobFilter{Limit: 4}
	for {
		jobs, err := s.ListJobs(t.Context(), f)
		if err != nil {
			t.Fatalf("ListJobs: %v", err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		f.BeforeID = jobs[len(jobs)-1].ID
	}
	wantIDs(t, "paging", got, rev)
	// Listed jobs carry their fields.
	jobs, err := s.ListJobs(t.Context(), store.JobFilter{State: store.JobCancelled})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ListJobs(cancelled) = %d jobs, %v", len(jobs), err)
	}
	wantJob(t, "listed job", jobs[0], getJob(t, s, ids[4]))
}

func (su suite) testListJobsDefaultLimit(t *testing.T) {
	s := su.newStore(t)
	for range 51 {
		create(t, s, "k", t0)
	}
	jobs, err := s.ListJobs(t.Context(), store.JobFilter{})
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	if len(jobs) != 50 {
		t.Errorf("ListJobs with Limit 0 = %d jobs, want 50", len(jobs))
	}
}

func (su suite) testCountJobs(t *testing.T) {
	s := su.newStore(t)
	counts, err := s.CountJobs(t.Context())
	if err != nil || len(counts) != 0 {
		t.Fatalf("CountJobs on an empty store = %v, %v; want empty", counts, err)
	}
	a1, _ := create(t, s, "a", t0, store.NewTask{})
	create(t, s, "a", t0, store.NewTask{})
	b1, _ := create(t, s, "b", t0, store.NewTask{})
	create(t, s, "b", t0, store.NewTask{})
	if _, err := s.CancelJob(t.Context(), a1.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PauseJob(t.Context(), b1.ID, t0); err != nil {
		t.Fatal(err)
	}
	counts, err = s.CountJobs(t.Context())
	if err != nil {
		t.Fatalf("CountJobs: %v", err)
	}
	want := map[store.JobKindState]int64{
		{Kind: "a", State: store.JobCancelled}: 1,
		{Kind: "a", State: store.JobQueued}:    1,
		{Kind: "b", State: store.JobPaused}:    1,
		{Kind: "b", State: store.JobQueued}:    1,
	}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("CountJobs = %v, want %v", counts, want)
	}
}

func (su suite) testCancelJob(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, numbered(3, 1)...)
	claim(t, s, ids[0], "w1", at(time.Second))
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w1", Now: at(2 * time.Second)})
	claim(t, s, ids[1], "w2", at(3*time.Second)) // still leased when cancelled

	got, err := s.CancelJob(t.Context(), j.ID, at(4*time.Second))
	if err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	if got.State != store.JobCancelled || got.FinishedAt == nil || !got.FinishedAt.Equal(at(4*time.Second)) ||
		!got.UpdatedAt.Equal(at(4*time.Second)) {
		t.Errorf("CancelJob = %s, want cancelled, finished and updated at t0+4s", jobStr(got))
	}
	wantJob(t, "GetJob after cancel", getJob(t, s, j.ID), got)
	for i, want := range []store.TaskState{store.TaskDone, store.TaskCancelled, store.TaskCancelled} {
		if task := getTask(t, s, ids[i]); task.State != want {
			t.Errorf("task %d: state %s, want %s", i, task.State, want)
		}
	}
	if ids := due(t, s, at(time.Hour)); len(ids) != 0 {
		t.Errorf("cancelled job has dispatchable tasks %v", ids)
	}
	_, err = s.CancelJob(t.Context(), j.ID, at(5*time.Second))
	wantErr(t, "CancelJob of a cancelled job", err, store.ErrConflict)
	_, err = s.CancelJob(t.Context(), 12345, t0)
	wantErr(t, "CancelJob of an unknown job", err, store.ErrNotFound)

	// A finished job cannot be cancelled; a paused one can.
	done, dids := create(t, s, "k", t0, store.NewTask{Items: 1})
	claim(t, s, dids[0], "w", t0)
	if j := complete(t, s, store.Completion{TaskID: dids[0], Owner: "w", Now: t0}); j.State != store.JobSucceeded {
		t.Fatalf("job = %s, want succeeded", jobStr(j))
	}
	_, err = s.CancelJob(t.Context(), done.ID, t0)
	wantErr(t, "CancelJob of a succeeded job", err, store.ErrConflict)

	paused, _ := create(t, s, "k", t0, store.NewTask{Items: 1})
	if _, err := s.PauseJob(t.Context(), paused.ID, t0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CancelJob(t.Context(), paused.ID, t0); err != nil || got.State != store.JobCancelled {
		t.Errorf("CancelJob of a paused job = %s, %v; want cancelled", jobStr(got), err)
	}
}

func (su suite) testPauseResume(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()

	// A queued job pauses and resumes to queued: it never ran.
	q, qids := create(t, s, "k", t0, numbered(2, 1)...)
	p, err := s.PauseJob(ctx, q.ID, at(time.Second))
	if err != nil || p.State != store.JobPaused || !p.UpdatedAt.Equal(at(time.Second)) {
		t.Fatalf("PauseJob(queued) = %s, %v; want paused at t0+1s", jobStr(p), err)
	}
	if ids := due(t, s, at(time.Hour)); len(ids) != 0 {
		t.Errorf("paused job has dispatchable tasks %v", ids)
	}
	_, _, err = s.ClaimTask(ctx, qids[0], "w", at(time.Second), at(time.Minute))
	wantErr(t, "ClaimTask of a paused job's task", err, store.ErrConflict)
	_, err = s.PauseJob(ctx, q.ID, at(time.Second))
	wantErr(t, "PauseJob(paused)", err, store.ErrConflict)
	r, err := s.ResumeJob(ctx, q.ID, at(2*time.Second))
	if err != nil || r.State != store.JobQueued || r.StartedAt != nil {
		t.Fatalf("ResumeJob(never ran) = %s, %v; want queued", jobStr(r), err)
	}
	_, err = s.ResumeJob(ctx, q.ID, at(2*time.Second))
	wantErr(t, "ResumeJob(queued)", err, store.ErrConflict)

	// A running job pauses and resumes to running. Its tasks that were in
	// flight when it paused are dispatchable again at once.
	dispatched, err := s.DispatchDue(ctx, at(3*time.Second), forever, 10)
	if err != nil || len(dispatched) != 2 {
		t.Fatalf("DispatchDue = %v, %v; want both tasks", dispatched, err)
	}
	claim(t, s, qids[0], "w", at(3*time.Second))
	if _, err := s.PauseJob(ctx, q.ID, at(4*time.Second)); err != nil {
		t.Fatalf("PauseJob(running): %v", err)
	}
	_, err = s.ResumeJob(ctx, 12345, t0)
	wantErr(t, "ResumeJob(unknown)", err, store.ErrNotFound)
	_, err = s.PauseJob(ctx, 12345, t0)
	wantErr(t, "PauseJob(unknown)", err, store.ErrNotFound)
	r, err = s.ResumeJob(ctx, q.ID, at(5*time.Second))
	if err != nil || r.State != store.JobRunning || r.StartedAt == nil || !r.StartedAt.Equal(at(3*time.Second)) {
		t.Fatalf("ResumeJob(ran) = %s, %v; want running, started at t0+3s", jobStr(r), err)
	}
	_, err = s.ResumeJob(ctx, q.ID, at(5*time.Second))
	wantErr(t, "ResumeJob(running)", err, store.ErrConflict)
	got, err := s.DispatchDue(ctx, at(5*time.Second), forever, 10)
	if err != nil {
		t.Fatalf("DispatchDue: %v", err)
	}
	wantIDs(t, "DispatchDue after resume", got, qids[1:]) // the claimed one is leased

	// Finished jobs neither pause nor resume.
	c, _ := create(t, s, "k", t0, store.NewTask{})
	if _, err := s.CancelJob(ctx, c.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.PauseJob(ctx, c.ID, t0)
	wantErr(t, "PauseJob(cancelled)", err, store.ErrConflict)
	_, err = s.ResumeJob(ctx, c.ID, t0)
	wantErr(t, "ResumeJob(cancelled)", err, store.ErrConflict)
}

func (su suite) testDispatchDue(t *testing.T) {
	type call struct {
		now            time.Time
		republishAfter time.Duration
		want           bool // whether the task is dispatched
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, s store.Store, jobID, taskID int64)
		calls []call
	}{
		{
			name: "due",
			calls: []call{
				{now: t0, want: true},
			},
		},
		{
			name: "not yet due",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				retry(t, s, store.Retry{TaskID: id, Owner: "w", RunAt: at(time.Minute), Now: t0})
			},
			calls: []call{
				{now: at(time.Minute - time.Microsecond), want: false},
				{now: at(time.Minute), want: true},
			},
		},
		{
			name: "in flight until republishAfter elapses",
			calls: []call{
				{now: t0, republishAfter: time.Minute, want: true},
				{now: at(30 * time.Second), republishAfter: time.Minute, want: false},
				{now: at(time.Minute), republishAfter: time.Minute, want: false},
				{now: at(time.Minute + time.Microsecond), republishAfter: time.Minute, want: true},
				{now: at(time.Minute + time.Microsecond), republishAfter: 0, want: false},
			},
		},
		{
			name: "leased until the lease expires",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0) // leased until t0+1m
			},
			calls: []call{
				{now: at(30 * time.Second), want: false},
				{now: at(time.Minute), want: true},
			},
		},
		{
			name: "paused job",
			setup: func(t *testing.T, s store.Store, jobID, _ int64) {
				if _, err := s.PauseJob(t.Context(), jobID, t0); err != nil {
					t.Fatal(err)
				}
			},
			calls: []call{{now: at(time.Hour), want: false}},
		},
		{
			name: "cancelled job",
			setup: func(t *testing.T, s store.Store, jobID, _ int64) {
				if _, err := s.CancelJob(t.Context(), jobID, t0); err != nil {
					t.Fatal(err)
				}
			},
			calls: []call{{now: at(time.Hour), want: false}},
		},
		{
			name: "done task",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				complete(t, s, store.Completion{TaskID: id, Owner: "w", Now: t0})
			},
			calls: []call{{now: at(time.Hour), want: false}},
		},
		{
			name: "failed task",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				if _, err := s.FailTask(t.Context(), store.Failure{TaskID: id, Owner: "w", Error: "x", Now: t0, Finish: finish}); err != nil {
					t.Fatal(err)
				}
			},
			calls: []call{{now: at(time.Hour), want: false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := su.newStore(t)
			j, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
			id := ids[0]
			if tc.setup != nil {
				tc.setup(t, s, j.ID, id)
			}
			for i, c := range tc.calls {
				got, err := s.DispatchDue(t.Context(), c.now, c.republishAfter, 10)
				if err != nil {
					t.Fatalf("call %d: DispatchDue: %v", i, err)
				}
				var want []int64
				if c.want {
					want = []int64{id}
				}
				wantIDs(t, fmt.Sprintf("call %d at %s", i, timeStr(c.now)), got, want)
				if c.want {
					if task := getTask(t, s, id); task.PublishedAt == nil || !task.PublishedAt.Equal(c.now) {
						t.Fatalf("call %d: published_at %s, want %s", i, ptrStr(task.PublishedAt), timeStr(c.now))
					}
				}
			}
		})
	}
}

func (su suite) testDispatchDueOrder(t *testing.T) {
	s := su.newStore(t)
	_, ids := create(t, s, "k", t0, numbered(5, 1)...)
	// The last task becomes the oldest by run_at; the running job still
	// dispatches.
	claim(t, s, ids[4], "w", t0)
	retry(t, s, store.Retry{TaskID: ids[4], Owner: "w", RunAt: at(-time.Hour), Now: t0})
	want := [][]int64{{ids[4], ids[0]}, {ids[1], ids[2]}, {ids[3]}, nil}
	for i, w := range want {
		got, err := s.DispatchDue(t.Context(), t0, time.Hour, 2)
		if err != nil {
			t.Fatalf("DispatchDue: %v", err)
		}
		wantIDs(t, fmt.Sprintf("round %d", i), got, w)
	}
	if got, err := s.DispatchDue(t.Context(), at(2*time.Hour), time.Hour, 0); err != nil || len(got) != 0 {
		t.Errorf("DispatchDue with limit 0 = %v, %v; want none", got, err)
	}
}

func (su suite) testDispatchDueConcurrent(t *testing.T) {
	s := su.newStore(t)
	const tasks, callers = 1000, 8
	_, a := create(t, s, "k", t0, numbered(tasks/2, 1)...)
	_, b := create(t, s, "k", t0, numbered(tasks/2, 1)...)
	all := append(a, b...)

	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range callers {
		wg.Go(func() {
			for {
				ids, err := s.DispatchDue(t.Context(), t0, time.Hour, 25)
				if err != nil {
					t.Errorf("DispatchDue: %v", err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				got = append(got, ids...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	if dup := firstDuplicate(got); dup != 0 {
		t.Fatalf("task %d dispatched twice", dup)
	}
	slices.Sort(all)
	if !slices.Equal(got, all) {
		t.Fatalf("dispatched %d distinct tasks, want all %d", len(got), len(all))
	}
}

func firstDuplicate(sorted []int64) int64 {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return sorted[i]
		}
	}
	return 0
}

func (su suite) testUndispatch(t *testing.T) {
	s := su.newStore(t)
	_, ids := create(t, s, "k", t0, numbered(3, 1)...)
	got, err := s.DispatchDue(t.Context(), t0, time.Hour, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "first dispatch", got, ids)
	if err := s.Undispatch(t.Context(), ids[:2]); err != nil {
		t.Fatalf("Undispatch: %v", err)
	}
	if task := getTask(t, s, ids[0]); task.PublishedAt != nil {
		t.Errorf("published_at after Undispatch = %s, want nil", ptrStr(task.PublishedAt))
	}
	got, err = s.DispatchDue(t.Context(), t0, time.Hour, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "dispatch after Undispatch", got, ids[:2])
	if err := s.Undispatch(t.Context(), nil); err != nil {
		t.Errorf("Undispatch(nil): %v", err)
	}
	if err := s.Undispatch(t.Context(), []int64{12345}); err != nil {
		t.Errorf("Undispatch(unknown): %v", err)
	}
}

func (su suite) testClaimTask(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, numbered(2, 3)...)
	if _, err := s.DispatchDue(t.Context(), t0, time.Hour, 10); err != nil {
		t.Fatal(err)
	}
	now := at(time.Second)
	task, job, err := s.ClaimTask(t.Context(), ids[0], "w1", now, at(time.Minute))
	if err != nil {
		t.Fatalf("ClaimTask: %v", err)
	}
	wantTask(t, "claimed task", task, store.Task{
		ID: ids[0], JobID: j.ID, Payload: []byte(`{"n":0}`), Items: 3, State: store.TaskPending, Attempts: 1,
		RunAt: t0, LeaseOwner: "w1", LeaseUntil: ptr(at(time.Minute)), CreatedAt: t0, UpdatedAt: now,
	})
	wantTask(t, "GetTask after claim", getTask(t, s, ids[0]), task)
	want := j
	want.State, want.StartedAt, want.UpdatedAt = store.JobRunning, ptr(now), now
	wantJob(t, "job after first claim", job, want)
	wantJob(t, "GetJob after first claim", getJob(t, s, j.ID), want)

	// A later claim of another task leaves started_at alone.
	_, job2 := claim(t, s, ids[1], "w2", at(2*time.Second))
	if job2.State != store.JobRunning || !job2.StartedAt.Equal(now) {
		t.Errorf("job after second claim = %s, want running since t0+1s", jobStr(job2))
	}

	// The same owner may claim again (a redelivery); it counts an attempt.
	task, _ = claim(t, s, ids[0], "w1", at(3*time.Second))
	if task.Attempts != 2 || task.LeaseOwner != "w1" {
		t.Errorf("re-claim by the owner = %s, want attempt 2 for w1", taskStr(task))
	}
	// Once the lease expires, another owner may claim.
	task, _ = claim(t, s, ids[0], "w3", at(3*time.Second+time.Minute))
	if task.Attempts != 3 || task.LeaseOwner != "w3" || !task.LeaseUntil.Equal(at(3*time.Second+2*time.Minute)) {
		t.Errorf("claim after the lease expired = %s, want attempt 3 for w3", taskStr(task))
	}
}

func (su suite) testClaimTaskConflicts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s store.Store, jobID, taskID int64)
		now   time.Time
		want  error
	}{
		{
			name:  "unknown task",
			setup: func(t *testing.T, s store.Store, _, _ int64) {},
			want:  store.ErrNotFound,
		},
		{
			name: "leased by another",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "other", t0) // until t0+1m
			},
			now:  at(time.Minute - time.Microsecond),
			want: store.ErrConflict,
		},
		{
			name: "not due",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				retry(t, s, store.Retry{TaskID: id, Owner: "w", RunAt: at(time.Hour), Now: t0})
			},
			now:  at(time.Hour - time.Microsecond),
			want: store.ErrConflict,
		},
		{
			name: "done",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				complete(t, s, store.Completion{TaskID: id, Owner: "w", Now: t0})
			},
			want: store.ErrConflict,
		},
		{
			name: "failed",
			setup: func(t *testing.T, s store.Store, _, id int64) {
				claim(t, s, id, "w", t0)
				if _, err := s.FailTask(t.Context(), store.Failure{TaskID: id, Owner: "w", Now: t0, Finish: finish}); err != nil {
					t.Fatal(err)
				}
			},
			want: store.ErrConflict,
		},
		{
			name: "job paused",
			setup: func(t *testing.T, s store.Store, jobID, _ int64) {
				if _, err := s.PauseJob(t.Context(), jobID, t0); err != nil {
					t.Fatal(err)
				}
			},
			want: store.ErrConflict,
		},
		{
			name: "job cancelled",
			setup: func(t *testing.T, s store.Store, jobID, _ int64) {
				if _, err := s.CancelJob(t.Context(), jobID, t0); err != nil {
					t.Fatal(err)
				}
			},
			want: store.ErrConflict,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := su.newStore(t)
			j, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
			id := ids[0]
			tc.setup(t, s, j.ID, id)
			before, _ := s.GetTask(t.Context(), id)
			if errors.Is(tc.want, store.ErrNotFound) {
				id = ids[0] + 1000
			}
			now := tc.now
			if now.IsZero() {
				now = at(time.Second)
			}
			_, _, err := s.ClaimTask(t.Context(), id, "w2", now, now.Add(time.Minute))
			wantErr(t, "ClaimTask", err, tc.want)
			if errors.Is(tc.want, store.ErrConflict) {
				wantTask(t, "task after a refused claim", getTask(t, s, id), before)
			}
		})
	}
}

func retry(t testing.TB, s store.Store, r store.Retry) {
	t.Helper()
	if err := s.RetryTask(t.Context(), r); err != nil {
		t.Fatalf("RetryTask(%d): %v", r.TaskID, err)
	}
}

func (su suite) testCompleteTask(t *testing.T) {
	s := su.newStore(t)
	// A lookup task of 2 items and a page task (items unknown).
	j, ids := create(t, s, "k", t0, store.NewTask{Payload: []byte(`{"ids":[1,2]}`), Items: 2}, store.NewTask{Payload: []byte(`{"page":1}`)})
	var finished []store.Job
	fin := func(j store.Job) (store.JobState, string) {
		finished = append(finished, j)
		return finish(j)
	}

	claim(t, s, ids[0], "w", at(time.Second))
	got, err := s.CompleteTask(t.Context(), store.Completion{
		TaskID: ids[0], Owner: "w", Requests: 1, Now: at(2 * time.Second), Finish: fin,
		Results: []store.Result{
			{Key: "1", Status: store.ResultOK, Data: []byte(`{"id":"1"}`)},
			{Key: "2", Status: store.ResultNotFound, Error: "deleted"},
		},
	})
	if err != nil {
		t.Fatalf("CompleteTask: %v", err)
	}
	want := j
	want.State, want.StartedAt, want.UpdatedAt = store.JobRunning, ptr(at(time.Second)), at(2*time.Second)
	want.ItemsDone, want.TasksDone, want.Requests = 2, 1, 1
	wantJob(t, "job after the first task", got, want)
	wantJob(t, "GetJob", getJob(t, s, j.ID), want)
	wantTask(t, "done task", getTask(t, s, ids[0]), store.Task{
		ID: ids[0], JobID: j.ID, Payload: []byte(`{"ids":[1,2]}`), Items: 2, State: store.TaskDone, Attempts: 1,
		RunAt: t0, CreatedAt: t0, UpdatedAt: at(2 * time.Second),
	})

	// The page task finds 3 items and two follow-ups: a next page and a
	// lookup of 5 items.
	claim(t, s, ids[1], "w", at(3*time.Second))
	got = complete(t, s, store.Completion{
		TaskID: ids[1], Owner: "w", Requests: 2, Now: at(4 * time.Second), Finish: fin,
		Results: []store.Result{
			{Key: "a", Status: store.ResultOK, Data: []byte(`1`)},
			{Key: "b", Status: store.ResultOK, Data: []byte(`2`)},
			{Key: "c", Status: store.ResultOK, Data: []byte(`3`)},
		},
		FollowUps: []store.NewTask{{Payload: []byte(`{"page":2}`)}, {Payload: []byte(`{"ids":[5]}`), Items: 5}},
	})
	want.ItemsTotal, want.ItemsDone, want.TasksTotal, want.TasksDone, want.Requests = 2+3+5, 5, 4, 2, 3
	want.UpdatedAt = at(4 * time.Second)
	wantJob(t, "job after the page task", got, want)
	if len(finished) != 0 {
		t.Fatalf("Finish called with tasks left: %s", jobStr(finished[0]))
	}
	follow := due(t, s, at(4*time.Second))
	if len(follow) != 2 {
		t.Fatalf("follow-ups due = %v, want 2", follow)
	}
	if f := getTask(t, s, follow[1]); string(f.Payload) != `{"ids":[5]}` || f.Items != 5 || !f.RunAt.Equal(at(4*time.Second)) || f.JobID != j.ID {
		t.Errorf("follow-up = %s, want the lookup of 5 items, due at t0+4s", taskStr(f))
	}

	// The next page is empty; the lookup ends the job.
	claim(t, s, follow[0], "w", at(5*time.Second))
	complete(t, s, store.Completion{TaskID: follow[0], Owner: "w", Requests: 1, Now: at(6 * time.Second), Finish: fin})
	claim(t, s, follow[1], "w", at(7*time.Second))
	results := make([]store.Result, 5)
	for i := range results {
		results[i] = store.Result{Key: fmt.Sprintf("x%d", i), Status: store.ResultOK}
	}
	got = complete(t, s, store.Completion{TaskID: follow[1], Owner: "w", Requests: 1, Now: at(8 * time.Second), Results: results, Finish: fin})
	if len(finished) != 1 {
		t.Fatalf("Finish called %d times, want once", len(finished))
	}
	want.ItemsDone, want.TasksDone, want.Requests = 10, 4, 5
	want.UpdatedAt = at(8 * time.Second)
	wantJob(t, "job passed to Finish", finished[0], want)
	want.State, want.Summary, want.FinishedAt = store.JobSucceeded, "10 of 10 items", ptr(at(8*time.Second))
	wantJob(t, "finished job", got, want)
	wantJob(t, "GetJob of the finished job", getJob(t, s, j.ID), want)
}

func (su suite) testCompleteTaskUpsert(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{Items: 2}, store.NewTask{Items: 2})

	// w1's lease expires and w2 takes the task over and completes it;
	// w1's late completion with the same keys is refused.
	claim(t, s, ids[0], "w1", t0)
	claim(t, s, ids[0], "w2", at(2*time.Minute))
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w2", Now: at(3 * time.Minute), Results: []store.Result{
		{Key: "k1", Status: store.ResultOK, Data: []byte(`{"v":2}`)},
		{Key: "k2", Status: store.ResultOK, Data: []byte(`{"v":2}`)},
	}})
	_, err := s.CompleteTask(t.Context(), store.Completion{TaskID: ids[0], Owner: "w1", Now: at(4 * time.Minute), Finish: finish,
		Results: []store.Result{{Key: "k1", Status: store.ResultOK, Data: []byte(`{"v":1}`)}}})
	wantErr(t, "late CompleteTask by the first owner", err, store.ErrConflict)

	// Another task writes the same keys again: one row per key, the latest
	// write wins. Duplicate keys within one completion collapse too.
	claim(t, s, ids[1], "w3", at(5*time.Minute))
	complete(t, s, store.Completion{TaskID: ids[1], Owner: "w3", Now: at(6 * time.Minute), Results: []store.Result{
		{Key: "k2", Status: store.ResultOK, Data: []byte(`{"v":3}`)},
		{Key: "k1", Status: store.ResultOK, Data: []byte(`{"v":3}`)},
		{Key: "k1", Status: store.ResultNotFound, Error: "deleted"},
	}})
	rs, err := s.ListResults(t.Context(), j.ID, store.ResultFilter{})
	if err != nil {
		t.Fatalf("ListResults: %v", err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, resultStr(r))
	}
	want := []string{
		resultStr(store.Result{JobID: j.ID, Key: "k1", Status: store.ResultNotFound, Error: "deleted", TaskID: ids[1], FetchedAt: at(6 * time.Minute)}),
		resultStr(store.Result{JobID: j.ID, Key: "k2", Status: store.ResultOK, Data: []byte(`{"v":3}`), TaskID: ids[1], FetchedAt: at(6 * time.Minute)}),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("results:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	counts, err := s.CountResults(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.ResultOK] != 1 || counts[store.ResultNotFound] != 1 || len(counts) != 2 {
		t.Errorf("CountResults = %v, want 1 ok and 1 not_found", counts)
	}
}

func (su suite) testCompleteTaskErrors(t *testing.T) {
	s := su.newStore(t)
	_, ids := create(t, s, "k", t0, store.NewTask{Items: 1}, store.NewTask{Items: 1})
	c := func(id int64, owner string) store.Completion {
		return store.Completion{TaskID: id, Owner: owner, Now: at(time.Second), Finish: finish,
			Results: []store.Result{{Key: "x", Status: store.ResultOK}}}
	}
	_, err := s.CompleteTask(t.Context(), c(ids[0]+1000, "w"))
	wantErr(t, "CompleteTask(unknown)", err, store.ErrNotFound)
	_, err = s.CompleteTask(t.Context(), c(ids[0], "w"))
	wantErr(t, "CompleteTask(never claimed)", err, store.ErrConflict)
	claim(t, s, ids[0], "w", t0)
	_, err = s.CompleteTask(t.Context(), c(ids[0], "intruder"))
	wantErr(t, "CompleteTask(wrong owner)", err, store.ErrConflict)
	complete(t, s, c(ids[0], "w"))
	_, err = s.CompleteTask(t.Context(), c(ids[0], "w"))
	wantErr(t, "CompleteTask(twice)", err, store.ErrConflict)

	// Invalid completions are refused before anything is written.
	claim(t, s, ids[1], "w", t0)
	bad := []struct {
		name string
		c    store.Completion
	}{
		{"no finish", store.Completion{TaskID: ids[1], Owner: "w", Now: t0}},
		{"empty key", store.Completion{TaskID: ids[1], Owner: "w", Now: t0, Finish: finish, Results: []store.Result{{Status: store.ResultOK}}}},
		{"bad status", store.Completion{TaskID: ids[1], Owner: "w", Now: t0, Finish: finish, Results: []store.Result{{Key: "y", Status: "maybe"}}}},
		{"bad data", store.Completion{TaskID: ids[1], Owner: "w", Now: t0, Finish: finish, Results: []store.Result{{Key: "y", Status: store.ResultOK, Data: []byte(`{`)}}}},
	}
	for _, tc := range bad {
		if _, err := s.CompleteTask(t.Context(), tc.c); err == nil {
			t.Errorf("CompleteTask(%s) succeeded, want an error", tc.name)
		}
	}
	if task := getTask(t, s, ids[1]); task.State != store.TaskPending || task.LeaseOwner != "w" {
		t.Errorf("task after refused completions = %s, want pending, leased to w", taskStr(task))
	}
}

func (su suite) testCompleteTaskCancelled(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{}, store.NewTask{Items: 1})
	claim(t, s, ids[0], "w", t0)
	claim(t, s, ids[1], "w", t0)
	if _, err := s.CancelJob(t.Context(), j.ID, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	// The worker finishes its page anyway: results commit, the follow-up is
	// recorded but never runs, and the job stays cancelled.
	got := complete(t, s, store.Completion{
		TaskID: ids[0], Owner: "w", Requests: 1, Now: at(2 * time.Second),
		Results:   []store.Result{{Key: "a", Status: store.ResultOK}},
		FollowUps: []store.NewTask{{Payload: []byte(`{"page":2}`)}},
		Finish: func(j store.Job) (store.JobState, string) {
			t.Errorf("Finish called for a cancelled job")
			return finish(j)
		},
	})
	if got.State != store.JobCancelled || got.TasksDone != 1 || got.TasksTotal != 3 || got.ItemsDone != 1 || got.Requests != 1 {
		t.Errorf("job = %s, want cancelled with the task counted", jobStr(got))
	}
	if !got.FinishedAt.Equal(at(time.Second)) {
		t.Errorf("finished_at = %s, want the cancel's t0+1s", ptrStr(got.FinishedAt))
	}
	if n, err := s.CountResults(t.Context(), j.ID); err != nil || n[store.ResultOK] != 1 {
		t.Errorf("CountResults = %v, %v; want the result committed", n, err)
	}
	if ids := due(t, s, at(time.Hour)); len(ids) != 0 {
		t.Errorf("follow-up of a cancelled job is dispatchable: %v", ids)
	}
	counts, err := s.CountTasks(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.TaskDone] != 1 || counts[store.TaskCancelled] != 2 {
		t.Errorf("CountTasks = %v, want 1 done, 2 cancelled", counts)
	}
	// The other worker retries: the task stays cancelled, its requests count.
	retry(t, s, store.Retry{TaskID: ids[1], Owner: "w", RunAt: at(time.Hour), Error: "503", Requests: 1, Now: at(3 * time.Second)})
	if task := getTask(t, s, ids[1]); task.State != store.TaskCancelled || task.LeaseOwner != "" {
		t.Errorf("retried task of a cancelled job = %s, want cancelled, not leased", taskStr(task))
	}
	if j := getJob(t, s, j.ID); j.State != store.JobCancelled || j.Requests != 2 {
		t.Errorf("job = %s, want cancelled with 2 requests", jobStr(j))
	}
}

func (su suite) testCompleteTaskFinishAtomic(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
	claim(t, s, ids[0], "w", t0)
	// A FinishFunc that returns a state other than succeeded or failed is
	// an error, and the whole completion rolls back.
	_, err := s.CompleteTask(t.Context(), store.Completion{
		TaskID: ids[0], Owner: "w", Now: at(time.Second),
		Results: []store.Result{{Key: "a", Status: store.ResultOK}},
		Finish:  func(store.Job) (store.JobState, string) { return store.JobRunning, "" },
	})
	if err == nil {
		t.Fatal("CompleteTask with a bad FinishFunc succeeded")
	}
	if task := getTask(t, s, ids[0]); task.State != store.TaskPending || task.LeaseOwner != "w" {
		t.Errorf("task = %s, want still pending and leased", taskStr(task))
	}
	if j := getJob(t, s, j.ID); j.TasksDone != 0 || j.State != store.JobRunning {
		t.Errorf("job = %s, want untouched", jobStr(j))
	}
	if n, err := s.CountResults(t.Context(), j.ID); err != nil || len(n) != 0 {
		t.Errorf("CountResults = %v, %v; want none", n, err)
	}
	// A paused job whose last task ends is finished, not left paused.
	if _, err := s.PauseJob(t.Context(), j.ID, at(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: at(3 * time.Second)}); got.State != store.JobSucceeded {
		t.Errorf("paused job after its last task = %s, want succeeded", jobStr(got))
	}
}

func (su suite) testRetryTask(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
	id := ids[0]
	if _, err := s.DispatchDue(t.Context(), t0, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	claim(t, s, id, "w", t0)

	// A failed attempt: counts, records its error, runs later.
	retry(t, s, store.Retry{TaskID: id, Owner: "w", RunAt: at(time.Minute), Error: "HTTP 503", Requests: 2, Now: at(time.Second)})
	wantTask(t, "task after a retry", getTask(t, s, id), store.Task{
		ID: id, JobID: j.ID, Items: 1, State: store.TaskPending, Attempts: 1, RunAt: at(time.Minute),
		LastError: "HTTP 503", CreatedAt: t0, UpdatedAt: at(time.Second),
	})
	if got := getJob(t, s, j.ID); got.LastError != "HTTP 503" || got.Requests != 2 || !got.UpdatedAt.Equal(at(time.Second)) {
		t.Errorf("job after a retry = %s, want last error, 2 requests", jobStr(got))
	}
	err := s.RetryTask(t.Context(), store.Retry{TaskID: id, Owner: "w", RunAt: at(time.Hour), Now: at(2 * time.Second)})
	wantErr(t, "RetryTask after the lease was released", err, store.ErrConflict)

	// A snooze: the attempt is refunded and the last error kept.
	claim(t, s, id, "w", at(time.Minute))
	retry(t, s, store.Retry{TaskID: id, Owner: "w", RunAt: at(time.Hour), Refund: true, Requests: 1, Now: at(time.Minute + time.Second)})
	task := getTask(t, s, id)
	if task.Attempts != 1 || task.LastError != "HTTP 503" || !task.RunAt.Equal(at(time.Hour)) || task.LeaseOwner != "" || task.LeaseUntil != nil || task.PublishedAt != nil {
		t.Errorf("task after a refunded retry = %s, want attempt 1, last error kept, run at t0+1h, no lease", taskStr(task))
	}
	if got := getJob(t, s, j.ID); got.LastError != "HTTP 503" || got.Requests != 3 {
		t.Errorf("job after a refunded retry = %s, want last error kept, 3 requests", jobStr(got))
	}

	err = s.RetryTask(t.Context(), store.Retry{TaskID: id + 1000, Owner: "w", RunAt: t0, Now: t0})
	wantErr(t, "RetryTask(unknown)", err, store.ErrNotFound)
	claim(t, s, id, "w", at(time.Hour))
	err = s.RetryTask(t.Context(), store.Retry{TaskID: id, Owner: "intruder", RunAt: t0, Now: at(time.Hour)})
	wantErr(t, "RetryTask(wrong owner)", err, store.ErrConflict)
}

func (su suite) testRetryTaskWaitQuota(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, numbered(4, 1)...)
	waits := func(what string, got store.Job, quota string, until time.Time) {
		t.Helper()
		if got.WaitQuota != quota || got.WaitUntil == nil || timeStr(*got.WaitUntil) != timeStr(until) {
			t.Fatalf("%s = %s, want waiting for %q until %s", what, jobStr(got), quota, timeStr(until))
		}
	}

	// A snooze on a quota records it on the job, and every read says so.
	claim(t, s, ids[0], "w", t0)
	retry(t, s, store.Retry{TaskID: ids[0], Owner: "w", RunAt: at(5 * time.Minute), Refund: true,
		WaitQuota: "x-user-lookup", Now: at(time.Second)})
	want := j
	want.State, want.StartedAt, want.UpdatedAt = store.JobRunning, ptr(t0), at(time.Second)
	want.WaitQuota, want.WaitUntil = "x-user-lookup", ptr(at(5*time.Minute))
	wantJob(t, "GetJob after a snooze", getJob(t, s, j.ID), want)
	jobs, err := s.ListJobs(t.Context(), store.JobFilter{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ListJobs = %d jobs, %v; want 1", len(jobs), err)
	}
	wantJob(t, "ListJobs after a snooze", jobs[0], want)

	// The job keeps waiting for a later time that has not passed: a snooze
	// until earlier leaves it. One until the same time or later replaces it.
	claim(t, s, ids[1], "w", at(2*time.Second))
	retry(t, s, store.Retry{TaskID: ids[1], Owner: "w", RunAt: at(3 * time.Minute), Refund: true,
		WaitQuota: "earlier", Now: at(3 * time.Second)})
	waits("job after an earlier snooze", getJob(t, s, j.ID), "x-user-lookup", at(5*time.Minute))
	claim(t, s, ids[2], "w", at(4*time.Second))
	retry(t, s, store.Retry{TaskID: ids[2], Owner: "w", RunAt: at(5 * time.Minute), Refund: true,
		WaitQuota: "same time", Now: at(5 * time.Second)})
	waits("job after a snooze until the same time", getJob(t, s, j.ID), "same time", at(5*time.Minute))
	claim(t, s, ids[3], "w", at(6*time.Second))
	retry(t, s, store.Retry{TaskID: ids[3], Owner: "w", RunAt: at(10 * time.Minute), Refund: true,
		WaitQuota: "later", Now: at(7 * time.Second)})
	waits("job after a later snooze", getJob(t, s, j.ID), "later", at(10*time.Minute))

	// ClaimTask's job says so; a retry without a quota (a backoff) leaves
	// the wait as it is.
	_, claimed := claim(t, s, ids[0], "w", at(5*time.Minute))
	waits("ClaimTask's job", claimed, "later", at(10*time.Minute))
	retry(t, s, store.Retry{TaskID: ids[0], Owner: "w", RunAt: at(6 * time.Minute), Error: "HTTP 503",
		Now: at(5*time.Minute + time.Second)})
	waits("job after a backoff", getJob(t, s, j.ID), "later", at(10*time.Minute))

	// Once the wait has passed (at its own time, too), any snooze replaces
	// it, even one until an earlier time.
	claim(t, s, ids[1], "w", at(10*time.Minute))
	retry(t, s, store.Retry{TaskID: ids[1], Owner: "w", RunAt: at(9 * time.Minute), Refund: true,
		WaitQuota: "after", Now: at(10 * time.Minute)})
	waits("job after a snooze once the wait passed", getJob(t, s, j.ID), "after", at(9*time.Minute))

	// CompleteTask's job says so while the job runs on.
	claim(t, s, ids[2], "w", at(11*time.Minute))
	done := complete(t, s, store.Completion{TaskID: ids[2], Owner: "w", Now: at(12 * time.Minute)})
	waits("CompleteTask's job", done, "after", at(9*time.Minute))
}

func (su suite) testRetryTaskWaitQuotaCleared(t *testing.T) {
	s := su.newStore(t)
	snooze := func(id int64, now time.Time) {
		t.Helper()
		claim(t, s, id, "w", now)
		retry(t, s, store.Retry{TaskID: id, Owner: "w", RunAt: now.Add(time.Minute), Refund: true, WaitQuota: "q", Now: now})
	}
	cleared := func(what string, got store.Job, state store.JobState) {
		t.Helper()
		if got.State != state || got.WaitQuota != "" || got.WaitUntil != nil {
			t.Fatalf("%s = %s, want %s and not waiting", what, jobStr(got), state)
		}
	}

	// A job that succeeds, fails or is cancelled waits for nothing.
	succeeded, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
	snooze(ids[0], t0)
	claim(t, s, ids[0], "w", at(time.Minute))
	cleared("CompleteTask's finished job", complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: at(time.Minute)}), store.JobSucceeded)
	cleared("GetJob of a succeeded job", getJob(t, s, succeeded.ID), store.JobSucceeded)

	failed, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
	snooze(ids[0], t0)
	claim(t, s, ids[0], "w", at(time.Minute))
	got, err := s.FailTask(t.Context(), store.Failure{TaskID: ids[0], Owner: "w", Error: "x", Now: at(time.Minute), Finish: finish})
	if err != nil {
		t.Fatalf("FailTask: %v", err)
	}
	cleared("FailTask's finished job", got, store.JobFailed)
	cleared("GetJob of a failed job", getJob(t, s, failed.ID), store.JobFailed)

	// A cancelled job is cleared, and a task of it that a worker held and
	// snoozes afterwards records nothing.
	cancelled, ids := create(t, s, "k", t0, store.NewTask{Items: 1}, store.NewTask{Items: 1})
	snooze(ids[0], t0)
	claim(t, s, ids[1], "w", t0)
	got, err = s.CancelJob(t.Context(), cancelled.ID, at(time.Second))
	if err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	cleared("CancelJob's job", got, store.JobCancelled)
	retry(t, s, store.Retry{TaskID: ids[1], Owner: "w", RunAt: at(time.Hour), Refund: true, WaitQuota: "q", Now: at(2 * time.Second)})
	cleared("GetJob of a cancelled job after a snooze", getJob(t, s, cancelled.ID), store.JobCancelled)

	// A paused job still waits: it has not finished.
	paused, ids := create(t, s, "k", t0, store.NewTask{Items: 1})
	claim(t, s, ids[0], "w", t0)
	if _, err := s.PauseJob(t.Context(), paused.ID, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	retry(t, s, store.Retry{TaskID: ids[0], Owner: "w", RunAt: at(time.Hour), Refund: true, WaitQuota: "q", Now: at(2 * time.Second)})
	if got := getJob(t, s, paused.ID); got.WaitQuota != "q" || got.WaitUntil == nil || !got.WaitUntil.Equal(at(time.Hour)) {
		t.Errorf("paused job after a snooze = %s, want waiting for q until t0+1h", jobStr(got))
	}
}

func (su suite) testFailTask(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{Items: 3}, store.NewTask{Items: 2})
	claim(t, s, ids[0], "w", t0)
	_, err := s.FailTask(t.Context(), store.Failure{TaskID: ids[0], Owner: "intruder", Error: "x", Now: t0, Finish: finish})
	wantErr(t, "FailTask(wrong owner)", err, store.ErrConflict)
	_, err = s.FailTask(t.Context(), store.Failure{TaskID: ids[0] + 1000, Owner: "w", Error: "x", Now: t0, Finish: finish})
	wantErr(t, "FailTask(unknown)", err, store.ErrNotFound)

	got, err := s.FailTask(t.Context(), store.Failure{TaskID: ids[0], Owner: "w", Error: "HTTP 400", Requests: 1, Now: at(time.Second), Finish: finish})
	if err != nil {
		t.Fatalf("FailTask: %v", err)
	}
	want := j
	want.State, want.StartedAt, want.UpdatedAt = store.JobRunning, ptr(t0), at(time.Second)
	want.ItemsFailed, want.TasksFailed, want.Requests, want.LastError = 3, 1, 1, "HTTP 400"
	wantJob(t, "job after a failed task", got, want)
	wantTask(t, "failed task", getTask(t, s, ids[0]), store.Task{
		ID: ids[0], JobID: j.ID, Items: 3, State: store.TaskFailed, Attempts: 1, RunAt: t0,
		LastError: "HTTP 400", CreatedAt: t0, UpdatedAt: at(time.Second),
	})
	_, err = s.FailTask(t.Context(), store.Failure{TaskID: ids[0], Owner: "w", Error: "again", Now: t0, Finish: finish})
	wantErr(t, "FailTask(twice)", err, store.ErrConflict)

	claim(t, s, ids[1], "w", at(2*time.Second))
	got = complete(t, s, store.Completion{TaskID: ids[1], Owner: "w", Now: at(3 * time.Second)})
	want.ItemsDone, want.TasksDone, want.UpdatedAt = 2, 1, at(3*time.Second)
	want.State, want.Summary, want.FinishedAt = store.JobFailed, "2 of 5 items, 3 failed", ptr(at(3*time.Second))
	wantJob(t, "job finished by its last task", got, want)

	// A job whose last task fails is finished by FailTask.
	j2, ids2 := create(t, s, "k", t0, store.NewTask{Items: 1})
	claim(t, s, ids2[0], "w", t0)
	got, err = s.FailTask(t.Context(), store.Failure{TaskID: ids2[0], Owner: "w", Error: "x", Now: at(time.Second), Finish: finish})
	if err != nil || got.ID != j2.ID || got.State != store.JobFailed || got.FinishedAt == nil {
		t.Errorf("FailTask of the last task = %s, %v; want the job failed", jobStr(got), err)
	}
}

func (su suite) testCountTasks(t *testing.T) {
	s := su.newStore(t)
	counts, err := s.CountTasks(t.Context(), 12345)
	if err != nil || len(counts) != 0 {
		t.Fatalf("CountTasks(unknown) = %v, %v; want empty", counts, err)
	}
	j, ids := create(t, s, "k", t0, numbered(5, 1)...)
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: t0})
	claim(t, s, ids[1], "w", t0)
	if _, err := s.FailTask(t.Context(), store.Failure{TaskID: ids[1], Owner: "w", Now: t0, Finish: finish}); err != nil {
		t.Fatal(err)
	}
	claim(t, s, ids[2], "w", t0) // leased is still pending
	counts, err = s.CountTasks(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.TaskState]int64{store.TaskPending: 3, store.TaskDone: 1, store.TaskFailed: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("CountTasks = %v, want %v", counts, want)
	}
	// Follow-ups are pending tasks too, and a paused job's tasks stay
	// pending.
	complete(t, s, store.Completion{TaskID: ids[2], Owner: "w", Now: t0, FollowUps: []store.NewTask{
		{Payload: []byte(`{"page":2}`)}, {Payload: []byte(`{"page":3}`)},
	}})
	if _, err := s.PauseJob(t.Context(), j.ID, t0); err != nil {
		t.Fatal(err)
	}
	counts, err = s.CountTasks(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want = map[store.TaskState]int64{store.TaskPending: 4, store.TaskDone: 2, store.TaskFailed: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("CountTasks with follow-ups, paused = %v, want %v", counts, want)
	}
}

func (su suite) testListErroredTasks(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, numbered(4, 1)...)
	for _, id := range ids {
		claim(t, s, id, "w", t0)
	}
	retry(t, s, store.Retry{TaskID: ids[0], Owner: "w", RunAt: t0, Error: "503", Now: at(1 * time.Second)})
	if _, err := s.FailTask(t.Context(), store.Failure{TaskID: ids[1], Owner: "w", Error: "400", Now: at(2 * time.Second), Finish: finish}); err != nil {
		t.Fatal(err)
	}
	retry(t, s, store.Retry{TaskID: ids[2], Owner: "w", RunAt: t0, Refund: true, Now: at(3 * time.Second)}) // no error
	tests := []struct {
		limit int
		want  []int64
	}{
		{10, []int64{ids[1], ids[0]}},
		{1, []int64{ids[1]}},
		{0, nil},
	}
	for _, tc := range tests {
		tasks, err := s.ListErroredTasks(t.Context(), j.ID, tc.limit)
		if err != nil {
			t.Fatalf("ListErroredTasks: %v", err)
		}
		var got []int64
		for _, task := range tasks {
			got = append(got, task.ID)
		}
		wantIDs(t, fmt.Sprintf("limit %d", tc.limit), got, tc.want)
	}
	tasks, err := s.ListErroredTasks(t.Context(), j.ID, 1)
	if err != nil || len(tasks) != 1 {
		t.Fatal(err)
	}
	wantTask(t, "listed task", tasks[0], getTask(t, s, ids[1]))
}

func (su suite) testListResults(t *testing.T) {
	s := su.newStore(t)
	j, ids := create(t, s, "k", t0, store.NewTask{}, store.NewTask{})
	other, oids := create(t, s, "k", t0, store.NewTask{})
	claim(t, s, ids[0], "w", t0)
	// Keys sort byte by byte: upper case before lower case, a prefix first.
	keys := []string{"b", "a", "B", "c", "aa", "Z", "é"}
	var results []store.Result
	for i, k := range keys {
		r := store.Result{Key: k, Status: store.ResultOK, Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
		if i%2 == 1 {
			r = store.Result{Key: k, Status: store.ResultNotFound, Error: "deleted"}
		}
		results = append(results, r)
	}
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: at(time.Second), Results: results})
	claim(t, s, oids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: oids[0], Owner: "w", Now: t0, Results: []store.Result{{Key: "a0", Status: store.ResultOK}}})

	list := func(f store.ResultFilter) []string {
		t.Helper()
		rs, err := s.ListResults(t.Context(), j.ID, f)
		if err != nil {
			t.Fatalf("ListResults(%+v): %v", f, err)
		}
		var keys []string
		for _, r := range rs {
			keys = append(keys, r.Key)
		}
		return keys
	}
	tests := []struct {
		name string
		f    store.ResultFilter
		want []string
	}{
		{"all", store.ResultFilter{}, []string{"B", "Z", "a", "aa", "b", "c", "é"}},
		{"after", store.ResultFilter{AfterKey: "a"}, []string{"aa", "b", "c", "é"}},
		{"limit", store.ResultFilter{Limit: 2}, []string{"B", "Z"}},
		{"status", store.ResultFilter{Status: store.ResultNotFound}, []string{"Z", "a", "c"}},
		{"status and after", store.ResultFilter{Status: store.ResultOK, AfterKey: "aa"}, []string{"b", "é"}},
		{"after the last", store.ResultFilter{AfterKey: "é"}, nil},
	}
	for _, tc := range tests {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: keys %q, want %q", tc.name, got, tc.want)
		}
	}
	// Keyset paging visits every key once.
	var got []string
	f := store.ResultFilter{Limit: 3}
	for {
		page := list(f)
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		f.AfterKey = page[len(page)-1]
	}
	if want := tests[0].want; !slices.Equal(got, want) {
		t.Errorf("paging: keys %q, want %q", got, want)
	}
	rs, err := s.ListResults(t.Context(), j.ID, store.ResultFilter{Limit: 1})
	if err != nil || len(rs) != 1 {
		t.Fatalf("ListResults = %d, %v", len(rs), err)
	}
	want := store.Result{JobID: j.ID, Key: "B", Status: store.ResultOK, Data: []byte(`{"i":2}`), TaskID: ids[0], FetchedAt: at(time.Second)}
	if resultStr(rs[0]) != resultStr(want) {
		t.Errorf("result:\n got  %s\n want %s", resultStr(rs[0]), resultStr(want))
	}
	if rs, err := s.ListResults(t.Context(), other.ID, store.ResultFilter{}); err != nil || len(rs) != 1 {
		t.Errorf("ListResults(other job) = %d results, %v; want 1", len(rs), err)
	}

	// The default limit is 100.
	claim(t, s, ids[1], "w", t0)
	many := make([]store.Result, 150)
	for i := range many {
		many[i] = store.Result{Key: fmt.Sprintf("m%03d", i), Status: store.ResultOK}
	}
	complete(t, s, store.Completion{TaskID: ids[1], Owner: "w", Now: t0, Results: many})
	if got := list(store.ResultFilter{AfterKey: "m"}); len(got) != 100 || got[0] != "m000" || got[99] != "m099" {
		t.Errorf("default limit: %d keys from %q, want 100 from m000", len(got), got)
	}
}

func (su suite) testCountResults(t *testing.T) {
	s := su.newStore(t)
	counts, err := s.CountResults(t.Context(), 12345)
	if err != nil || len(counts) != 0 {
		t.Fatalf("CountResults(unknown) = %v, %v; want empty", counts, err)
	}
	j, ids := create(t, s, "k", t0, store.NewTask{})
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: t0, Results: []store.Result{
		{Key: "1", Status: store.ResultOK}, {Key: "2", Status: store.ResultOK}, {Key: "3", Status: store.ResultNotFound},
	}})
	counts, err = s.CountResults(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.ResultStatus]int64{store.ResultOK: 2, store.ResultNotFound: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("CountResults = %v, want %v", counts, want)
	}
}

func (su suite) testSpendQuota(t *testing.T) {
	s := su.newStore(t)
	const limit, span = 5, time.Minute
	steps := []struct {
		key     string
		now     time.Duration // after t0
		n       int
		ok      bool
		retryAt time.Duration // after t0, when refused
	}{
		{"k", 0, 3, true, 0},
		{"k", 10 * time.Second, 2, true, 0},
		// Full: the 3 spent at t0 leave the window at t0+1m.
		{"k", 20 * time.Second, 1, false, time.Minute},
		{"k", time.Minute - time.Microsecond, 1, false, time.Minute},
		// Another key has its own window.
		{"other", 20 * time.Second, 5, true, 0},
		{"other", 21 * time.Second, 1, false, 80 * time.Second},
		// Exactly at retryAt the call succeeds.
		{"k", time.Minute, 1, true, 0},
		// 2 (t0+10s) + 1 (t0+1m) are inside; 3 more fit once the 2 leave.
		{"k", time.Minute, 3, false, 70 * time.Second},
		{"k", 70*time.Second - time.Microsecond, 3, false, 70 * time.Second},
		{"k", 70 * time.Second, 3, true, 0},
		// 1 + 3 inside; 5 needs both gone: the 3 spent at t0+70s leave last.
		{"k", 70 * time.Second, 5, false, 130 * time.Second},
		{"k", 130 * time.Second, 5, true, 0},
		// Long after, everything has left the window.
		{"k", time.Hour, 5, true, 0},
	}
	for i, st := range steps {
		ok, retryAt, err := s.SpendQuota(t.Context(), st.key, limit, span, st.n, at(st.now))
		if err != nil {
			t.Fatalf("step %d: SpendQuota: %v", i, err)
		}
		if ok != st.ok {
			t.Fatalf("step %d: SpendQuota(%s, n=%d, t0+%v) ok = %v, want %v", i, st.key, st.n, st.now, ok, st.ok)
		}
		if !ok && timeStr(retryAt) != timeStr(at(st.retryAt)) {
			t.Fatalf("step %d: retryAt = %s, want %s", i, timeStr(retryAt), timeStr(at(st.retryAt)))
		}
	}
}

func (su suite) testSpendQuotaInvalid(t *testing.T) {
	s := su.newStore(t)
	tests := []struct {
		name  string
		key   string
		limit int
		span  time.Duration
		n     int
	}{
		{"n above limit", "k", 5, time.Minute, 6},
		{"zero n", "k", 5, time.Minute, 0},
		{"zero limit", "k", 0, time.Minute, 1},
		{"zero span", "k", 5, 0, 1},
		{"no key", "", 5, time.Minute, 1},
	}
	for _, tc := range tests {
		ok, _, err := s.SpendQuota(t.Context(), tc.key, tc.limit, tc.span, tc.n, t0)
		if err == nil || ok {
			t.Errorf("%s: SpendQuota = %v, %v; want an error", tc.name, ok, err)
		}
	}
	// Nothing was recorded.
	if ok, _, err := s.SpendQuota(t.Context(), "k", 5, time.Minute, 5, t0); err != nil || !ok {
		t.Errorf("SpendQuota after refused calls = %v, %v; want the full limit", ok, err)
	}
}

func (su suite) testSpendQuotaSubMicro(t *testing.T) {
	s := su.newStore(t)
	// A span that is not a whole number of microseconds: retryAt is rounded
	// up to the store's resolution and still exact there.
	span := time.Minute + 500*time.Nanosecond
	if ok, _, err := s.SpendQuota(t.Context(), "k", 2, span, 2, t0); err != nil || !ok {
		t.Fatalf("SpendQuota = %v, %v", ok, err)
	}
	ok, retryAt, err := s.SpendQuota(t.Context(), "k", 2, span, 1, at(time.Second))
	if err != nil || ok {
		t.Fatalf("SpendQuota on a full window = %v, %v; want refused", ok, err)
	}
	if want := at(time.Minute + time.Microsecond); !retryAt.Equal(want) {
		t.Fatalf("retryAt = %s, want %s", timeStr(retryAt), timeStr(want))
	}
	if ok, _, _ := s.SpendQuota(t.Context(), "k", 2, span, 1, retryAt.Add(-time.Microsecond)); ok {
		t.Errorf("SpendQuota a microsecond before retryAt succeeded")
	}
	if ok, _, err := s.SpendQuota(t.Context(), "k", 2, span, 1, retryAt); err != nil || !ok {
		t.Errorf("SpendQuota at retryAt = %v, %v; want granted", ok, err)
	}
}

func (su suite) testSpendQuotaConcurrent(t *testing.T) {
	s := su.newStore(t)
	const limit, callers, rounds = 25, 40, 2
	span := time.Minute
	for round := range rounds {
		now := at(time.Duration(round) * span) // each round starts a fresh window
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			granted int
		)
		for range callers {
			wg.Go(func() {
				ok, retryAt, err := s.SpendQuota(t.Context(), "shared", limit, span, 1, now)
				if err != nil {
					t.Errorf("SpendQuota: %v", err)
					return
				}
				if !ok && !retryAt.Equal(now.Add(span)) {
					t.Errorf("retryAt = %s, want %s", timeStr(retryAt), timeStr(now.Add(span)))
				}
				if ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if granted != limit {
			t.Fatalf("round %d: %d of %d concurrent spends granted, want exactly %d", round, granted, callers, limit)
		}
	}
}
