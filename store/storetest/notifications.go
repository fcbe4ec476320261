package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

const (
	hookURL = "https://hooks.example.org/pacer"
	mailTo  = "owner@example.org"
)

// createNotifying creates a job with tasks that names webhook and email
// (either may be "").
func createNotifying(t testing.TB, s store.Store, webhook, email string, now time.Time, tasks ...store.NewTask) store.Job {
	t.Helper()
	j, err := s.CreateJob(t.Context(), store.NewJob{Kind: "k", Params: []byte(`{}`), Credential: "cred",
		NotifyWebhook: webhook, NotifyEmail: email}, now, from(tasks...))
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	return j
}

// firstTask returns the id of job's first task.
func firstTask(t testing.TB, s store.Store, jobID int64) int64 {
	t.Helper()
	tasks, err := s.ListTasks(t.Context(), jobID, nil, 0, 1)
	if err != nil || len(tasks) == 0 {
		t.Fatalf("ListTasks(%d): %v, %v", jobID, tasks, err)
	}
	return tasks[0].ID
}

func listNotifications(t testing.TB, s store.Store, jobID int64) []store.Notification {
	t.Helper()
	ns, err := s.ListNotifications(t.Context(), jobID)
	if err != nil {
		t.Fatalf("ListNotifications(%d): %v", jobID, err)
	}
	return ns
}

// notificationStr renders what a test compares of n: everything but its ids.
func notificationStr(n store.Notification) string {
	return fmt.Sprintf("{%s %q job:%s state:%s attempts:%d run:%s err:%q lease:%q until %s created:%s updated:%s done:%s}",
		n.Channel, n.Target, n.JobState, n.State, n.Attempts, timeStr(n.RunAt), n.LastError,
		n.LeaseOwner, ptrStr(n.LeaseUntil), timeStr(n.CreatedAt), timeStr(n.UpdatedAt), ptrStr(n.DoneAt))
}

func wantNotifications(t testing.TB, what string, got []store.Notification, jobID int64, want ...store.Notification) {
	t.Helper()
	var g, w []string
	for _, n := range got {
		if n.JobID != jobID || n.ID == 0 {
			t.Fatalf("%s: notification %+v has job %d (want %d) or no id", what, n, n.JobID, jobID)
		}
		g = append(g, notificationStr(n))
	}
	for _, n := range want {
		w = append(w, notificationStr(n))
	}
	if !slices.Equal(g, w) {
		t.Fatalf("%s:\n got  %v\n want %v", what, g, w)
	}
}

// pendingAt is the row an ending at now inserts for channel.
func pendingAt(channel store.Channel, target string, state store.JobState, now time.Time) store.Notification {
	return store.Notification{Channel: channel, Target: target, JobState: state, State: store.NotificationPending,
		RunAt: now, CreatedAt: now, UpdatedAt: now}
}

// testNotificationsOnEnd checks that each way a job ends (CompleteTask,
// FailTask, CancelJob) inserts one row per channel the job names, in the
// transaction that ends it, and that nothing inserts a second.
func (su suite) testNotificationsOnEnd(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	end := at(time.Minute)

	// Succeeded: both channels, and the job keeps what it named.
	ok := createNotifying(t, s, hookURL, mailTo, t0, numbered(1, 2)...)
	if ok.NotifyWebhook != hookURL || ok.NotifyEmail != mailTo {
		t.Fatalf("CreateJob returned notify %q, %q", ok.NotifyWebhook, ok.NotifyEmail)
	}
	if g := getJob(t, s, ok.ID); g.NotifyWebhook != hookURL || g.NotifyEmail != mailTo {
		t.Fatalf("GetJob returned notify %q, %q", g.NotifyWebhook, g.NotifyEmail)
	}
	task := firstTask(t, s, ok.ID)
	claim(t, s, task, "w", t0)
	wantNotifications(t, "before the job ends", listNotifications(t, s, ok.ID), ok.ID)
	if j := complete(t, s, store.Completion{TaskID: task, Owner: "w", Now: end}); j.State != store.JobSucceeded {
		t.Fatalf("job is %s, want succeeded", j.State)
	}
	wantNotifications(t, "after success", listNotifications(t, s, ok.ID), ok.ID,
		pendingAt(store.ChannelWebhook, hookURL, store.JobSucceeded, end),
		pendingAt(store.ChannelEmail, mailTo, store.JobSucceeded, end))

	// Failed, by FailTask: only the channel named.
	bad := createNotifying(t, s, "", mailTo, t0, numbered(1, 1)...)
	task = firstTask(t, s, bad.ID)
	claim(t, s, task, "w", t0)
	if j, err := s.FailTask(ctx, store.Failure{TaskID: task, Owner: "w", Error: "boom", Now: end, Finish: finish}); err != nil || j.State != store.JobFailed {
		t.Fatalf("FailTask: %v, %v", j.State, err)
	}
	wantNotifications(t, "after failure", listNotifications(t, s, bad.ID), bad.ID,
		pendingAt(store.ChannelEmail, mailTo, store.JobFailed, end))

	// Cancelled while a task runs; the task's late completion ends nothing
	// again, so adds no row.
	gone := createNotifying(t, s, hookURL, "", t0, numbered(2, 1)...)
	task = firstTask(t, s, gone.ID)
	claim(t, s, task, "w", t0)
	if _, err := s.CancelJob(ctx, gone.ID, end); err != nil {
		t.Fatal(err)
	}
	complete(t, s, store.Completion{TaskID: task, Owner: "w", Now: end.Add(time.Minute)})
	wantNotifications(t, "after cancel", listNotifications(t, s, gone.ID), gone.ID,
		pendingAt(store.ChannelWebhook, hookURL, store.JobCancelled, end))
	if _, err := s.CancelJob(ctx, gone.ID, end.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("cancelling again: %v, want ErrConflict", err)
	}
	wantNotifications(t, "after a second cancel", listNotifications(t, s, gone.ID), gone.ID,
		pendingAt(store.ChannelWebhook, hookURL, store.JobCancelled, end))

	// A job that names nothing gets nothing.
	quiet, ids := create(t, s, "k", t0, numbered(1, 1)...)
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: end})
	wantNotifications(t, "a job that names nothing", listNotifications(t, s, quiet.ID), quiet.ID)
	if ns := listNotifications(t, s, 1<<40); len(ns) != 0 {
		t.Fatalf("an unknown job lists %v", ns)
	}
}

// testNotificationsRollback checks that an ending that does not commit leaves
// no notification behind.
func (su suite) testNotificationsRollback(t *testing.T) {
	s := su.newStore(t)
	j := createNotifying(t, s, hookURL, mailTo, t0, numbered(1, 1)...)
	task := firstTask(t, s, j.ID)
	claim(t, s, task, "w", t0)
	broken := func(store.Job) (store.JobState, string) { return store.JobRunning, "" }
	if _, err := s.CompleteTask(t.Context(), store.Completion{TaskID: task, Owner: "w", Now: at(time.Minute), Finish: broken}); err == nil {
		t.Fatal("CompleteTask with a finish func that returns running succeeded")
	}
	wantNotifications(t, "after a rolled-back ending", listNotifications(t, s, j.ID), j.ID)
	if got := getJob(t, s, j.ID); got.State.Finished() {
		t.Fatalf("job is %s after a rolled-back ending", got.State)
	}
}

// endWithWebhooks creates n jobs that name a webhook and cancels them at now,
// returning their ids.
func endWithWebhooks(t testing.TB, s store.Store, n int, now time.Time) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		j := createNotifying(t, s, hookURL, "", t0, numbered(1, 1)...)
		if _, err := s.CancelJob(t.Context(), j.ID, now); err != nil {
			t.Fatal(err)
		}
		ids[i] = j.ID
	}
	return ids
}

func claimNotifications(t testing.TB, s store.Store, owner string, now time.Time, limit int) []store.Notification {
	t.Helper()
	ns, err := s.ClaimNotifications(t.Context(), owner, now, now.Add(time.Minute), limit)
	if err != nil {
		t.Fatalf("ClaimNotifications(%q): %v", owner, err)
	}
	return ns
}

func settle(t testing.TB, s store.Store, st store.Settlement) {
	t.Helper()
	if err := s.SettleNotification(t.Context(), st); err != nil {
		t.Fatalf("SettleNotification(%+v): %v", st, err)
	}
}

// testClaimNotifications walks one notification through a failed attempt,
// a retry, and a success, and checks the lease rules on the way.
func (su suite) testClaimNotifications(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	jobID := endWithWebhooks(t, s, 1, t0)[0]

	if ns := claimNotifications(t, s, "a", t0.Add(-time.Microsecond), 10); len(ns) != 0 {
		t.Fatalf("claimed %d notifications before they were due", len(ns))
	}
	if ns := claimNotifications(t, s, "a", t0, 0); len(ns) != 0 {
		t.Fatalf("a limit of 0 claimed %d", len(ns))
	}
	ns := claimNotifications(t, s, "a", t0, 10)
	leased := pendingAt(store.ChannelWebhook, hookURL, store.JobCancelled, t0)
	leased.Attempts, leased.LeaseOwner, leased.LeaseUntil = 1, "a", ptr(at(time.Minute))
	wantNotifications(t, "first claim", ns, jobID, leased)
	id := ns[0].ID

	// Leased: no one else gets it, and only its owner settles it.
	if again := claimNotifications(t, s, "b", at(30*time.Second), 10); len(again) != 0 {
		t.Fatalf("b claimed a leased notification: %+v", again)
	}
	err := s.SettleNotification(ctx, store.Settlement{ID: id, Owner: "b", State: store.NotificationSent, Now: at(time.Second)})
	wantErr(t, "settle by someone else", err, store.ErrConflict)
	err = s.SettleNotification(ctx, store.Settlement{ID: 1 << 40, Owner: "a", State: store.NotificationSent, Now: at(time.Second)})
	wantErr(t, "settle an unknown notification", err, store.ErrNotFound)
	for _, bad := range []store.Settlement{
		{ID: id, Owner: "", State: store.NotificationSent, Now: at(time.Second)},
		{ID: id, Owner: "a", State: "lost", Now: at(time.Second)},
	} {
		err := s.SettleNotification(ctx, bad)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SettleNotification(%+v): %v, want a plain error", bad, err)
		}
	}
	if _, err := s.ClaimNotifications(ctx, "", t0, at(time.Minute), 1); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("a claim without owner: %v, want a plain error", err)
	}

	// A failed attempt: pending again later, with its error.
	settle(t, s, store.Settlement{ID: id, Owner: "a", State: store.NotificationPending, RunAt: at(time.Hour), Error: "503 Service Unavailable", Now: at(time.Second)})
	retry := pendingAt(store.ChannelWebhook, hookURL, store.JobCancelled, at(time.Hour))
	retry.CreatedAt, retry.UpdatedAt = t0, at(time.Second)
	retry.Attempts, retry.LastError = 1, "503 Service Unavailable"
	wantNotifications(t, "after a failed attempt", listNotifications(t, s, jobID), jobID, retry)
	if again := claimNotifications(t, s, "b", at(59*time.Minute), 10); len(again) != 0 {
		t.Fatalf("claimed before the retry is due: %+v", again)
	}

	// The lease of a claimer that died expires, and another takes over.
	claimNotifications(t, s, "b", at(time.Hour), 10)
	ns = claimNotifications(t, s, "c", at(time.Hour+time.Minute), 10)
	if len(ns) != 1 || ns[0].Attempts != 3 || ns[0].LeaseOwner != "c" {
		t.Fatalf("claim after an expired lease: %+v", ns)
	}
	err = s.SettleNotification(ctx, store.Settlement{ID: id, Owner: "b", State: store.NotificationSent, Now: at(2 * time.Hour)})
	wantErr(t, "settle by the owner of an expired, retaken lease", err, store.ErrConflict)

	settle(t, s, store.Settlement{ID: id, Owner: "c", State: store.NotificationSent, Now: at(2 * time.Hour)})
	sent := retry
	sent.State, sent.Attempts, sent.UpdatedAt, sent.DoneAt = store.NotificationSent, 3, at(2*time.Hour), ptr(at(2*time.Hour))
	sent.RunAt = at(time.Hour)
	wantNotifications(t, "after sending", listNotifications(t, s, jobID), jobID, sent)
	if again := claimNotifications(t, s, "d", at(10*time.Hour), 10); len(again) != 0 {
		t.Fatalf("claimed a sent notification: %+v", again)
	}
	err = s.SettleNotification(ctx, store.Settlement{ID: id, Owner: "c", State: store.NotificationSent, Now: at(3 * time.Hour)})
	wantErr(t, "settle a sent notification", err, store.ErrConflict)

	// Failed for good.
	other := endWithWebhooks(t, s, 1, t0)[0]
	ns = claimNotifications(t, s, "a", t0, 10)
	settle(t, s, store.Settlement{ID: ns[0].ID, Owner: "a", State: store.NotificationFailed, Error: "gave up", Now: at(time.Second)})
	got := listNotifications(t, s, other)
	if len(got) != 1 || got[0].State != store.NotificationFailed || got[0].LastError != "gave up" || got[0].DoneAt == nil {
		t.Fatalf("after failing for good: %+v", got)
	}
}

// testClaimNotificationsOrder checks that claims go oldest run_at first, up
// to the limit.
func (su suite) testClaimNotificationsOrder(t *testing.T) {
	s := su.newStore(t)
	late := endWithWebhooks(t, s, 1, at(2*time.Second))[0]
	early := endWithWebhooks(t, s, 2, at(time.Second))
	ns := claimNotifications(t, s, "a", at(time.Minute), 2)
	if len(ns) != 2 || ns[0].JobID != early[0] || ns[1].JobID != early[1] {
		t.Fatalf("claimed jobs %v, want %v first", ns, early)
	}
	ns = claimNotifications(t, s, "a", at(time.Minute), 2)
	if len(ns) != 1 || ns[0].JobID != late {
		t.Fatalf("second claim: %+v, want job %d", ns, late)
	}
}

// testClaimNotificationsConcurrent checks that concurrent claimers never get
// the same notification.
func (su suite) testClaimNotificationsConcurrent(t *testing.T) {
	s := su.newStore(t)
	const jobs, claimers = 60, 6
	endWithWebhooks(t, s, jobs, t0)
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for c := range claimers {
		wg.Go(func() {
			for {
				ns, err := s.ClaimNotifications(t.Context(), fmt.Sprintf("c%d", c), t0, at(time.Minute), 4)
				if err != nil {
					t.Errorf("ClaimNotifications: %v", err)
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, n := range ns {
					got = append(got, n.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	if dup := firstDuplicate(got); dup != 0 {
		t.Fatalf("notification %d claimed twice", dup)
	}
	if len(got) != jobs {
		t.Fatalf("claimed %d notifications, want %d", len(got), jobs)
	}
}
