package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// errText returns err's text, or "" for nil, so that tables can pin the exact
// messages both drivers return.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func finishOK(store.Job) (store.JobState, string) { return store.JobSucceeded, "ok" }

func TestValidateNewJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		job  store.NewJob
		want string
	}{
		{"valid", store.NewJob{Kind: "tweet_lookup", Params: []byte(`{"ids":[1]}`)}, ""},
		{"no kind", store.NewJob{Params: []byte(`{}`)}, "kind is required"},
		{"no params", store.NewJob{Kind: "k"}, "params are not valid JSON"},
		{"bad params", store.NewJob{Kind: "k", Params: []byte(`{`)}, "params are not valid JSON"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateNewJob(tc.job)); got != tc.want {
			t.Errorf("%s: ValidateNewJob = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateNewTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		task store.NewTask
		want string
	}{
		{"zero", store.NewTask{}, ""},
		{"valid", store.NewTask{Payload: []byte(`[1,2]`), Items: 2}, ""},
		{"negative items", store.NewTask{Items: -1}, "items -1 is negative"},
		{"bad payload", store.NewTask{Payload: []byte(`nope`)}, "payload is not valid JSON"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateNewTask(tc.task)); got != tc.want {
			t.Errorf("%s: ValidateNewTask = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateClaim(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		owner      string
		leaseUntil time.Time
		want       string
	}{
		{"valid", "w1", now.Add(time.Nanosecond), ""},
		{"no owner", "", now.Add(time.Minute), "owner is required"},
		{"lease at now", "w1", now, "lease until 2030-01-01 00:00:00 +0000 UTC is not after now"},
		{"lease before now", "w1", now.Add(-time.Second), "lease until 2029-12-31 23:59:59 +0000 UTC is not after now"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateClaim(tc.owner, now, tc.leaseUntil)); got != tc.want {
			t.Errorf("%s: ValidateClaim = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		retry store.Retry
		want  string
	}{
		{"valid", store.Retry{Owner: "w1"}, ""},
		{"no owner", store.Retry{Requests: 1}, "owner is required"},
		{"negative requests", store.Retry{Owner: "w1", Requests: -2}, "requests -2 is negative"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateRetry(tc.retry)); got != tc.want {
			t.Errorf("%s: ValidateRetry = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failure store.Failure
		want    string
	}{
		{"valid", store.Failure{Owner: "w1", Finish: finishOK}, ""},
		{"no owner", store.Failure{Finish: finishOK}, "owner is required"},
		{"no finish", store.Failure{Owner: "w1"}, "finish func is required"},
		{"negative requests", store.Failure{Owner: "w1", Finish: finishOK, Requests: -1}, "requests -1 is negative"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateFailure(tc.failure)); got != tc.want {
			t.Errorf("%s: ValidateFailure = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateCompletion(t *testing.T) {
	t.Parallel()
	ok := func(key, data string) store.Result {
		return store.Result{Key: key, Status: store.ResultOK, Data: []byte(data)}
	}
	valid := func(results ...store.Result) store.Completion {
		return store.Completion{Owner: "w1", Finish: finishOK, Results: results}
	}
	tests := []struct {
		name    string
		c       store.Completion
		want    []store.Result // the results returned when there is no error
		wantErr string
	}{
		{"no results", valid(), nil, ""},
		{"distinct keys keep order", valid(ok("b", `1`), ok("a", `2`)), []store.Result{ok("b", `1`), ok("a", `2`)}, ""},
		{"last key wins", valid(ok("a", `1`), ok("b", `2`), ok("a", `3`)), []store.Result{ok("b", `2`), ok("a", `3`)}, ""},
		{"last of three wins", valid(ok("a", `1`), ok("a", `2`), ok("a", `3`)), []store.Result{ok("a", `3`)}, ""},
		{"not found without data", valid(store.Result{Key: "a", Status: store.ResultNotFound, Error: "gone"}),
			[]store.Result{{Key: "a", Status: store.ResultNotFound, Error: "gone"}}, ""},
		{"no owner", store.Completion{Finish: finishOK}, nil, "owner is required"},
		{"no finish", store.Completion{Owner: "w1"}, nil, "finish func is required"},
		{"negative requests", store.Completion{Owner: "w1", Finish: finishOK, Requests: -1}, nil, "requests -1 is negative"},
		{"bad follow-up", store.Completion{Owner: "w1", Finish: finishOK,
			FollowUps: []store.NewTask{{}, {Items: -3}}}, nil, "follow-up 1: items -3 is negative"},
		{"no key", valid(ok("a", `1`), store.Result{Status: store.ResultOK}), nil, "result 1: key is required"},
		{"unknown status", valid(store.Result{Key: "a", Status: "maybe"}), nil, `result "a": unknown status "maybe"`},
		{"bad data", valid(ok("a", `{`)), nil, `result "a": data is not valid JSON`},
	}
	for _, tc := range tests {
		got, err := store.ValidateCompletion(tc.c)
		if errText(err) != tc.wantErr {
			t.Errorf("%s: ValidateCompletion error = %q, want %q", tc.name, errText(err), tc.wantErr)
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b store.Result) bool {
			return a.Key == b.Key && a.Status == b.Status && string(a.Data) == string(b.Data) && a.Error == b.Error
		}) {
			t.Errorf("%s: ValidateCompletion = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCheckLease(t *testing.T) {
	t.Parallel()
	expired := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		task    store.Task
		owner   string
		wantErr string // "" for nil; otherwise the error also wraps ErrConflict
	}{
		{"held", store.Task{State: store.TaskPending, LeaseOwner: "w1"}, "w1", ""},
		{"held, expired", store.Task{State: store.TaskPending, LeaseOwner: "w1", LeaseUntil: &expired}, "w1", ""},
		{"held, job cancelled", store.Task{State: store.TaskCancelled, LeaseOwner: "w1"}, "w1", ""},
		{"other owner", store.Task{State: store.TaskPending, LeaseOwner: "w2"}, "w1",
			`task is pending and leased to "w2": conflict`},
		{"not leased", store.Task{State: store.TaskPending}, "w1", `task is pending and leased to "": conflict`},
		{"done", store.Task{State: store.TaskDone, LeaseOwner: "w1"}, "w1", `task is done and leased to "w1": conflict`},
		{"failed", store.Task{State: store.TaskFailed, LeaseOwner: "w1"}, "w1", `task is failed and leased to "w1": conflict`},
	}
	for _, tc := range tests {
		err := store.CheckLease(tc.task, tc.owner)
		if errText(err) != tc.wantErr {
			t.Errorf("%s: CheckLease = %q, want %q", tc.name, errText(err), tc.wantErr)
		}
		if err != nil && !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: CheckLease = %v, not ErrConflict", tc.name, err)
		}
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	returns := func(s store.JobState) store.FinishFunc {
		return func(store.Job) (store.JobState, string) { return s, "summary" }
	}
	ended := store.Job{State: store.JobRunning, TasksTotal: 3, TasksDone: 2, TasksFailed: 1}
	tests := []struct {
		name        string
		job         store.Job
		finish      store.FinishFunc
		wantState   store.JobState
		wantSummary string
		wantErr     string
	}{
		{"succeeded", ended, returns(store.JobSucceeded), store.JobSucceeded, "summary", ""},
		{"failed", ended, returns(store.JobFailed), store.JobFailed, "summary", ""},
		{"paused finishes", store.Job{State: store.JobPaused, TasksTotal: 1, TasksDone: 1},
			returns(store.JobSucceeded), store.JobSucceeded, "summary", ""},
		{"no finish func", ended, nil, "", "", ""},
		{"tasks left", store.Job{State: store.JobRunning, TasksTotal: 3, TasksDone: 2}, returns(store.JobSucceeded), "", "", ""},
		{"cancelled stays", store.Job{State: store.JobCancelled, TasksTotal: 1, TasksDone: 1}, returns(store.JobSucceeded), "", "", ""},
		{"bad state", ended, returns(store.JobCancelled), "", "", `finish func returned state "cancelled", want succeeded or failed`},
		{"empty state", ended, returns(""), "", "", `finish func returned state "", want succeeded or failed`},
	}
	for _, tc := range tests {
		state, summary, err := store.Verdict(tc.job, tc.finish)
		if state != tc.wantState || summary != tc.wantSummary || errText(err) != tc.wantErr {
			t.Errorf("%s: Verdict = %q, %q, %q; want %q, %q, %q",
				tc.name, state, summary, errText(err), tc.wantState, tc.wantSummary, tc.wantErr)
		}
	}
}

func TestValidateSpend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		key      string
		limit, n int
		span     time.Duration
		want     string
	}{
		{"valid", "k", 5, 5, time.Minute, ""},
		{"no key", "", 5, 1, time.Minute, "key is required"},
		{"zero limit", "k", 0, 1, time.Minute, "limit 0 is not positive"},
		{"negative span", "k", 5, 1, -time.Second, "span -1s is not positive"},
		{"zero n", "k", 5, 0, time.Minute, "n 0 is not positive"},
		{"n over limit", "k", 5, 6, time.Minute, "6 requests can never fit a limit of 5"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateSpend(tc.key, tc.limit, tc.span, tc.n)); got != tc.want {
			t.Errorf("%s: ValidateSpend = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDecideSpend covers the ledger arithmetic without a database.
func TestDecideSpend(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	tests := []struct {
		name    string
		spends  []store.Spend
		limit   int
		n       int
		ok      bool
		retryAt time.Time
	}{
		{"empty", nil, 5, 5, true, time.Time{}},
		{"fits exactly", []store.Spend{{At: at(0), N: 3}}, 5, 2, true, time.Time{}},
		{"oldest leaves", []store.Spend{{At: at(0), N: 3}, {At: at(10), N: 2}}, 5, 1, false, at(60)},
		{"two must leave", []store.Spend{{At: at(0), N: 1}, {At: at(10), N: 3}, {At: at(20), N: 1}}, 5, 4, false, at(70)},
		{"ties leave together", []store.Spend{{At: at(0), N: 2}, {At: at(0), N: 2}, {At: at(5), N: 1}}, 5, 4, false, at(60)},
		{"rounds up to the microsecond", []store.Spend{{At: at(0).Add(time.Nanosecond), N: 5}}, 5, 1, false,
			at(60).Add(time.Microsecond)},
		{"whole microsecond kept", []store.Spend{{At: at(0).Add(7 * time.Microsecond), N: 5}}, 5, 1, false,
			at(60).Add(7 * time.Microsecond)},
		{"in UTC", []store.Spend{{At: at(0).In(time.FixedZone("X", 3600)), N: 5}}, 5, 1, false, at(60)},
	}
	for _, tc := range tests {
		ok, retryAt := store.DecideSpend(tc.spends, tc.limit, time.Minute, tc.n, at(30))
		if ok != tc.ok || !retryAt.Equal(tc.retryAt) {
			t.Errorf("%s: DecideSpend = %v, %v; want %v, %v", tc.name, ok, retryAt, tc.ok, tc.retryAt)
		}
		if !ok && retryAt.Location() != time.UTC {
			t.Errorf("%s: DecideSpend retryAt %v is not in UTC", tc.name, retryAt)
		}
	}
}

// TestDecideSpendRetryAt checks SpendQuota's promise at its boundary: a call
// at retryAt fits and one a microsecond earlier does not. As the drivers do,
// each call sees only the spends inside its window (At > now-span).
func TestDecideSpendRetryAt(t *testing.T) {
	t.Parallel()
	const span = 15 * time.Minute
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	window := func(spends []store.Spend, now time.Time) []store.Spend {
		return slices.DeleteFunc(slices.Clone(spends), func(s store.Spend) bool {
			return !s.At.After(now.Add(-span))
		})
	}
	tests := []struct {
		name   string
		spends []store.Spend
		limit  int
		n      int
	}{
		{"one spend fills", []store.Spend{{At: t0, N: 900}}, 900, 1},
		{"second must leave", []store.Spend{{At: t0, N: 300}, {At: t0.Add(time.Minute), N: 500}, {At: t0.Add(2 * time.Minute), N: 100}}, 900, 400},
		{"sub-microsecond spend", []store.Spend{{At: t0.Add(500 * time.Nanosecond), N: 10}}, 10, 10},
		{"equal times", []store.Spend{{At: t0, N: 2}, {At: t0, N: 2}, {At: t0.Add(time.Second), N: 1}}, 5, 4},
	}
	for _, tc := range tests {
		now := t0.Add(5 * time.Minute)
		ok, retryAt := store.DecideSpend(window(tc.spends, now), tc.limit, span, tc.n, now)
		if ok {
			t.Errorf("%s: DecideSpend at %v fits; the case wants a refusal", tc.name, now)
			continue
		}
		if !retryAt.Equal(retryAt.Truncate(time.Microsecond)) {
			t.Errorf("%s: retryAt %v is finer than a microsecond", tc.name, retryAt)
		}
		if ok, _ := store.DecideSpend(window(tc.spends, retryAt), tc.limit, span, tc.n, retryAt); !ok {
			t.Errorf("%s: DecideSpend at retryAt %v does not fit", tc.name, retryAt)
		}
		early := retryAt.Add(-time.Microsecond)
		if ok, _ := store.DecideSpend(window(tc.spends, early), tc.limit, span, tc.n, early); ok {
			t.Errorf("%s: DecideSpend a microsecond before retryAt %v fits", tc.name, retryAt)
		}
	}
}

func TestValidateTake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		key            string
		limit, n       int
		window, margin time.Duration
		want           string
	}{
		{"valid", "k", 5, 5, time.Minute, time.Second, ""},
		{"no margin", "k", 5, 1, time.Minute, 0, ""},
		{"no key", "", 5, 1, time.Minute, 0, "key is required"},
		{"zero limit", "k", 0, 1, time.Minute, 0, "limit 0 is not positive"},
		{"zero window", "k", 5, 1, 0, 0, "window 0s is not positive"},
		{"negative margin", "k", 5, 1, time.Minute, -time.Second, "margin -1s is negative"},
		{"zero n", "k", 5, 0, time.Minute, 0, "n 0 is not positive"},
		{"n over limit", "k", 5, 6, time.Minute, 0, "6 requests can never fit a limit of 5"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateTake(tc.key, tc.limit, tc.window, tc.margin, tc.n)); got != tc.want {
			t.Errorf("%s: ValidateTake = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateObserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                      string
		key                       string
		generation                int64
		ordinal, limit, remaining int
		want                      string
	}{
		{"valid", "k", 1, 1, 0, -1, ""},
		{"all said", "k", 3, 7, 900, 0, ""},
		{"no key", "", 1, 1, 0, -1, "key is required"},
		{"zero generation", "k", 0, 1, 0, -1, "generation 0 is not positive"},
		{"zero ordinal", "k", 1, 0, 0, -1, "ordinal 0 is not positive"},
		{"negative limit", "k", 1, 1, -1, -1, "limit -1 is negative"},
		{"remaining below -1", "k", 1, 1, 0, -2, "remaining -2 is below -1"},
	}
	for _, tc := range tests {
		if got := errText(store.ValidateObserve(tc.key, tc.generation, tc.ordinal, tc.limit, tc.remaining)); got != tc.want {
			t.Errorf("%s: ValidateObserve = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateBlock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		key     string
		until   time.Time
		want    time.Time
		wantErr string
	}{
		{"kept", "k", t0, t0, ""},
		{"to UTC", "k", t0.In(time.FixedZone("X", 3600)), t0, ""},
		{"rounded up", "k", t0.Add(time.Nanosecond), t0.Add(time.Microsecond), ""},
		{"zero blocks nothing", "k", time.Time{}, time.Time{}, ""},
		{"no key", "", t0, time.Time{}, "key is required"},
	}
	for _, tc := range tests {
		got, err := store.ValidateBlock(tc.key, tc.until)
		if errText(err) != tc.wantErr || !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("%s: ValidateBlock = %v, %q; want %v, %q", tc.name, got, errText(err), tc.want, tc.wantErr)
		}
	}
}

// windowStr renders every field of w, for comparisons.
func windowStr(w store.Window) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("15:04:05.999999999 MST")
	}
	return fmt.Sprintf("{gen %d closes %s taken %d late %d limit %d cap %d@%d blocked %s}",
		w.Generation, ts(w.ClosesAt), w.Taken, w.Late, w.Limit, w.Cap, w.CapOrdinal, ts(w.BlockedUntil))
}

// TestWindowTake covers TakeWindow's arithmetic without a database: a window
// of one minute, a margin of two seconds and a declared limit of 5.
func TestWindowTake(t *testing.T) {
	t.Parallel()
	const window, margin, limit = time.Minute, 2 * time.Second, 5
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	open := store.Window{Generation: 1, ClosesAt: at(window), Taken: 2}
	with := func(f func(w *store.Window)) store.Window {
		w := open
		f(&w)
		return w
	}
	tests := []struct {
		name    string
		w       store.Window
		now     time.Time
		n       int
		ok      bool
		ordinal int
		retryAt time.Time
		want    store.Window // w after the take
	}{
		{"first take opens", store.Window{}, t0, 2, true, 2, time.Time{}, open},
		{"fits", open, at(time.Second), 3, true, 5, time.Time{}, with(func(w *store.Window) { w.Taken = 5 })},
		{"does not fit", open, at(time.Second), 4, false, 0, at(window), open},
		{"a microsecond before the close", with(func(w *store.Window) { w.Taken = 5 }), at(window - time.Microsecond), 1,
			false, 0, at(window), with(func(w *store.Window) { w.Taken = 5 })},
		{"at the close opens the next", with(func(w *store.Window) { w.Taken = 5 }), at(window), 1, true, 1, time.Time{},
			store.Window{Generation: 2, ClosesAt: at(2 * window), Taken: 1}},
		{"a microsecond before the margin", open, at(window - margin - time.Microsecond), 1, true, 3, time.Time{},
			with(func(w *store.Window) { w.Taken = 3 })},
		{"at the margin is late", open, at(window - margin), 2, true, 4, time.Time{},
			with(func(w *store.Window) { w.Taken, w.Late = 4, 2 })},
		{"late ones carry over", with(func(w *store.Window) { w.Taken, w.Late = 5, 2 }), at(window + time.Second), 1, true, 3, time.Time{},
			store.Window{Generation: 2, ClosesAt: at(2*window + time.Second), Taken: 3}},
		{"carried ones may fill the next", with(func(w *store.Window) { w.Taken, w.Late = 5, 5 }), at(window), 1, false, 0, at(2 * window),
			store.Window{Generation: 2, ClosesAt: at(2 * window), Taken: 5}},
		{"late ones carry over whenever it opens", with(func(w *store.Window) { w.Taken, w.Late = 5, 2 }), at(time.Hour), 1, true, 3, time.Time{},
			store.Window{Generation: 2, ClosesAt: at(time.Hour + window), Taken: 3}},
		{"new window drops limit and cap", with(func(w *store.Window) { w.Limit, w.Cap, w.CapOrdinal = 2, 2, 1 }), at(window), 5, true, 5, time.Time{},
			store.Window{Generation: 2, ClosesAt: at(2 * window), Taken: 5}},
		{"observed limit lower", with(func(w *store.Window) { w.Limit = 3 }), at(time.Second), 2, false, 0, at(window),
			with(func(w *store.Window) { w.Limit = 3 })},
		{"observed limit higher", with(func(w *store.Window) { w.Limit = 8 }), at(time.Second), 6, true, 8, time.Time{},
			with(func(w *store.Window) { w.Limit, w.Taken = 8, 8 })},
		{"cap lowers", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 3, 1 }), at(time.Second), 2, false, 0, at(window),
			with(func(w *store.Window) { w.Cap, w.CapOrdinal = 3, 1 })},
		{"cap never raises", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 50, 1 }), at(time.Second), 4, false, 0, at(window),
			with(func(w *store.Window) { w.Cap, w.CapOrdinal = 50, 1 })},
		{"cap of zero", with(func(w *store.Window) { w.Taken, w.Cap, w.CapOrdinal = 0, 0, 1 }), at(time.Second), 1, false, 0, at(window),
			with(func(w *store.Window) { w.Taken, w.Cap, w.CapOrdinal = 0, 0, 1 })},
		{"blocked", store.Window{BlockedUntil: at(10 * time.Second)}, t0, 1, false, 0, at(10 * time.Second),
			store.Window{BlockedUntil: at(10 * time.Second)}},
		{"at the block's end", store.Window{BlockedUntil: at(10 * time.Second)}, at(10 * time.Second), 1, true, 1, time.Time{},
			store.Window{Generation: 1, ClosesAt: at(window + 10*time.Second), Taken: 1, BlockedUntil: at(10 * time.Second)}},
		{"blocked, full past the block", with(func(w *store.Window) { w.Taken, w.BlockedUntil = 5, at(10*time.Second) }), t0, 1,
			false, 0, at(window), with(func(w *store.Window) { w.Taken, w.BlockedUntil = 5, at(10*time.Second) })},
		{"blocked, room after the block", with(func(w *store.Window) { w.BlockedUntil = at(10 * time.Second) }), t0, 1,
			false, 0, at(10 * time.Second), with(func(w *store.Window) { w.BlockedUntil = at(10 * time.Second) })},
		{"blocked past the close", with(func(w *store.Window) { w.Taken, w.BlockedUntil = 5, at(2*window) }), t0, 1,
			false, 0, at(2 * window), with(func(w *store.Window) { w.Taken, w.BlockedUntil = 5, at(2*window) })},
	}
	for _, tc := range tests {
		w := tc.w
		ok, ordinal, retryAt := w.Take(limit, window, margin, tc.n, tc.now)
		if ok != tc.ok || ordinal != tc.ordinal || !retryAt.Equal(tc.retryAt) {
			t.Errorf("%s: Take = %v, %d, %v; want %v, %d, %v", tc.name, ok, ordinal, retryAt, tc.ok, tc.ordinal, tc.retryAt)
		}
		if got, want := windowStr(w), windowStr(tc.want); got != want {
			t.Errorf("%s: window after Take\n got  %s\n want %s", tc.name, got, want)
		}
	}
}

// TestWindowTakeSubMicro checks that a window that is not a whole number of
// microseconds closes at the next microsecond, in UTC.
func TestWindowTakeSubMicro(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3600))
	var w store.Window
	if ok, _, _ := w.Take(1, time.Minute+time.Nanosecond, 0, 1, now); !ok {
		t.Fatal("first Take refused")
	}
	want := time.Date(2030, 1, 1, 0, 1, 0, 1000, time.UTC)
	if !w.ClosesAt.Equal(want) || w.ClosesAt.Location() != time.UTC {
		t.Errorf("ClosesAt = %v, want %v", w.ClosesAt, want)
	}
}

func TestWindowObserve(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	now := at(10 * time.Second)
	base := store.Window{Generation: 2, ClosesAt: at(time.Minute), Taken: 4, Late: 1, BlockedUntil: at(time.Second)}
	with := func(f func(w *store.Window)) store.Window {
		w := base
		f(&w)
		return w
	}
	type obs struct {
		generation                int64
		ordinal, limit, remaining int
		reset                     time.Time
	}
	tests := []struct {
		name    string
		w       store.Window
		o       obs
		changed bool
		want    store.Window
	}{
		{"nothing said", base, obs{2, 3, 0, -1, time.Time{}}, false, base},
		{"stale generation", base, obs{1, 3, 9, 0, at(time.Hour)}, false, base},
		{"future generation", base, obs{3, 3, 9, 0, at(time.Hour)}, false, base},
		{"no window yet", store.Window{}, obs{1, 1, 9, 0, at(time.Hour)}, false, store.Window{}},
		{"reset later", base, obs{2, 3, 0, -1, at(2 * time.Minute)}, true,
			with(func(w *store.Window) { w.ClosesAt = at(2 * time.Minute) })},
		{"reset earlier", base, obs{2, 3, 0, -1, at(30 * time.Second)}, true,
			with(func(w *store.Window) { w.ClosesAt = at(30 * time.Second) })},
		{"reset rounded up", base, obs{2, 3, 0, -1, at(30*time.Second + time.Nanosecond)}, true,
			with(func(w *store.Window) { w.ClosesAt = at(30*time.Second + time.Microsecond) })},
		{"reset at now is stale", base, obs{2, 3, 0, -1, now}, false, base},
		{"reset in the past is stale", base, obs{2, 3, 0, -1, at(time.Second)}, false, base},
		{"same reset", base, obs{2, 3, 0, -1, at(time.Minute)}, false, base},
		{"limit", base, obs{2, 3, 900, -1, time.Time{}}, true, with(func(w *store.Window) { w.Limit = 900 })},
		{"same limit", with(func(w *store.Window) { w.Limit = 900 }), obs{2, 3, 900, -1, time.Time{}}, false,
			with(func(w *store.Window) { w.Limit = 900 })},
		{"remaining caps", base, obs{2, 3, 0, 2, time.Time{}}, true, with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 })},
		{"remaining zero", base, obs{2, 3, 0, 0, time.Time{}}, true, with(func(w *store.Window) { w.Cap, w.CapOrdinal = 3, 3 })},
		{"lower ordinal ignored", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 }), obs{2, 2, 0, 9, time.Time{}}, false,
			with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 })},
		{"same ordinal replaces", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 }), obs{2, 3, 0, 1, time.Time{}}, true,
			with(func(w *store.Window) { w.Cap, w.CapOrdinal = 4, 3 })},
		{"higher ordinal raises", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 }), obs{2, 4, 0, 3, time.Time{}}, true,
			with(func(w *store.Window) { w.Cap, w.CapOrdinal = 7, 4 })},
		{"all at once", base, obs{2, 4, 10, 6, at(90 * time.Second)}, true,
			with(func(w *store.Window) { w.ClosesAt, w.Limit, w.Cap, w.CapOrdinal = at(90*time.Second), 10, 10, 4 })},
	}
	for _, tc := range tests {
		w := tc.w
		changed := w.Observe(tc.o.generation, tc.o.ordinal, tc.o.limit, tc.o.remaining, tc.o.reset, now)
		if changed != tc.changed {
			t.Errorf("%s: Observe changed = %v, want %v", tc.name, changed, tc.changed)
		}
		if got, want := windowStr(w), windowStr(tc.want); got != want {
			t.Errorf("%s: window after Observe\n got  %s\n want %s", tc.name, got, want)
		}
	}
}

func TestDecideBlockedSpend(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	tests := []struct {
		name        string
		ok          bool
		retryAt     time.Time
		blocked     time.Time
		wantOK      bool
		wantRetryAt time.Time
	}{
		{"no block, fits", true, time.Time{}, time.Time{}, true, time.Time{}},
		{"no block, full", false, at(60), time.Time{}, false, at(60)},
		{"block over", true, time.Time{}, at(10), true, time.Time{}},
		{"block ends now", true, time.Time{}, at(30), true, time.Time{}},
		{"blocked, fits", true, time.Time{}, at(31), false, at(31)},
		{"blocked, room before its end", false, at(40), at(50), false, at(50)},
		{"blocked, room after its end", false, at(60), at(50), false, at(60)},
	}
	for _, tc := range tests {
		ok, retryAt := store.DecideBlockedSpend(tc.ok, tc.retryAt, tc.blocked, at(30))
		if ok != tc.wantOK || !retryAt.Equal(tc.wantRetryAt) {
			t.Errorf("%s: DecideBlockedSpend = %v, %v; want %v, %v", tc.name, ok, retryAt, tc.wantOK, tc.wantRetryAt)
		}
	}
}

func TestValidateQuotaState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		span time.Duration
		want string
	}{
		{"valid", "k", time.Minute, ""},
		{"no span", "k", 0, ""},
		{"no key", "", time.Minute, "key is required"},
		{"negative span", "k", -time.Second, "span -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := errText(store.ValidateQuotaState(tc.key, tc.span)); got != tc.want {
				t.Errorf("ValidateQuotaState = %q, want %q", got, tc.want)
			}
		})
	}
}

// quotaStateStr renders every field of s, for comparisons.
func quotaStateStr(s store.QuotaState) string {
	ts := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.Format("15:04:05.999999999 MST")
	}
	return fmt.Sprintf("{key %q taken %d limit %d closes %s blocked %s sliding %d}",
		s.Key, s.Taken, s.Limit, ts(s.ClosesAt), ts(s.BlockedUntil), s.SlidingTaken)
}

func TestWindowState(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ptr := func(t time.Time) *time.Time { return &t }
	open := store.Window{Generation: 2, ClosesAt: at(time.Minute), Taken: 4, Late: 1}
	with := func(f func(w *store.Window)) store.Window {
		w := open
		f(&w)
		return w
	}
	now := at(10 * time.Second)
	tests := []struct {
		name string
		w    store.Window
		now  time.Time
		want store.QuotaState
	}{
		{"never used", store.Window{}, now, store.QuotaState{}},
		{"open", open, now, store.QuotaState{Taken: 4, ClosesAt: ptr(at(time.Minute))}},
		{"a microsecond before the close", open, at(time.Minute - time.Microsecond),
			store.QuotaState{Taken: 4, ClosesAt: ptr(at(time.Minute))}},
		{"at the close", open, at(time.Minute), store.QuotaState{}},
		{"after the close", with(func(w *store.Window) { w.Limit, w.Cap, w.CapOrdinal = 9, 5, 3 }), at(time.Hour),
			store.QuotaState{}},
		{"observed limit", with(func(w *store.Window) { w.Limit = 9 }), now,
			store.QuotaState{Taken: 4, Limit: 9, ClosesAt: ptr(at(time.Minute))}},
		{"cap alone", with(func(w *store.Window) { w.Cap, w.CapOrdinal = 5, 3 }), now,
			store.QuotaState{Taken: 4, Limit: 5, ClosesAt: ptr(at(time.Minute))}},
		{"cap below limit", with(func(w *store.Window) { w.Limit, w.Cap, w.CapOrdinal = 9, 5, 3 }), now,
			store.QuotaState{Taken: 4, Limit: 5, ClosesAt: ptr(at(time.Minute))}},
		{"cap above limit", with(func(w *store.Window) { w.Limit, w.Cap, w.CapOrdinal = 9, 50, 3 }), now,
			store.QuotaState{Taken: 4, Limit: 9, ClosesAt: ptr(at(time.Minute))}},
		{"blocked, no window", store.Window{BlockedUntil: at(time.Hour)}, now,
			store.QuotaState{BlockedUntil: ptr(at(time.Hour))}},
		{"blocked, window open", with(func(w *store.Window) { w.BlockedUntil = at(time.Hour) }), now,
			store.QuotaState{Taken: 4, ClosesAt: ptr(at(time.Minute)), BlockedUntil: ptr(at(time.Hour))}},
		{"a microsecond before the block's end", store.Window{BlockedUntil: at(time.Hour)}, at(time.Hour - time.Microsecond),
			store.QuotaState{BlockedUntil: ptr(at(time.Hour))}},
		{"at the block's end", store.Window{BlockedUntil: at(time.Hour)}, at(time.Hour), store.QuotaState{}},
		{"block over, window open", with(func(w *store.Window) { w.BlockedUntil = at(time.Second) }), now,
			store.QuotaState{Taken: 4, ClosesAt: ptr(at(time.Minute))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := tc.w
			if got, want := quotaStateStr(w.State(tc.now)), quotaStateStr(tc.want); got != want {
				t.Errorf("State\n got  %s\n want %s", got, want)
			}
			if got, want := windowStr(w), windowStr(tc.w); got != want {
				t.Errorf("State changed the window\n got  %s\n want %s", got, want)
			}
		})
	}
}
