package jobs_test

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/notify/notifytest"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
	"github.com/pacerhq/pacer/store/postgres/pgtest"
)

var hookSecret = []byte("hook-secret")

// senders returns a webhook sender that may reach 127.0.0.1 and a mailer for
// srv (verifying its certificate with pool, if any).
func senders(t *testing.T, srv *notifytest.SMTPServer, pool *x509.CertPool) (*notify.Webhook, *notify.Mailer) {
	t.Helper()
	al, err := notify.ParseAllowlist([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := notify.NewWebhook(notify.WebhookConfig{Secret: hookSecret, Allow: al, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mail, err := notify.NewMailer(notify.MailerConfig{Host: srv.Host, Port: srv.Port, From: "pacer@example.org", RootCAs: pool, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return hook, mail
}

// newNotifier starts a fast notifier over s; it stops in t.Cleanup.
func newNotifier(t *testing.T, s jobs.NotificationStore, hook, mail jobs.NotifySender, reg prometheus.Registerer, tweak func(*jobs.NotifierConfig)) *jobs.Notifier {
	t.Helper()
	cfg := jobs.NotifierConfig{
		Store: s, Webhook: hook, Email: mail, Interval: 10 * time.Millisecond,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		PublicURL: "https://pacer.example.org/", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if reg != nil {
		cfg.Metrics = jobs.NewNotifierMetrics(reg)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := jobs.NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(t.Context()) })
	return n
}

// waitSettled waits until every notification of the jobs is sent or failed
// for good, and returns them.
func waitSettled(t *testing.T, s store.Store, ids ...int64) []store.Notification {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var all []store.Notification
		pending := 0
		for _, id := range ids {
			ns, err := s.ListNotifications(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ns {
				if n.State == store.NotificationPending {
					pending++
				}
			}
			all = append(all, ns...)
		}
		if pending == 0 {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications still pending: %+v", pending, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkWebhooks checks that the receiver accepted exactly one verified POST
// per job, with the state it ended in, and returns them by job id.
func checkWebhooks(t *testing.T, r *notifytest.Receiver, want map[int64]store.JobState) map[int64]notify.Message {
	t.Helper()
	got := map[int64]notify.Message{}
	for _, d := range r.Accepted() {
		if d.VerifyErr != nil {
			t.Fatalf("POST %s: signature: %v", d.ID, d.VerifyErr)
		}
		var m notify.Message
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatalf("POST %s: %v", d.ID, err)
		}
		if _, dup := got[m.JobID]; dup {
			t.Fatalf("job %d notified twice", m.JobID)
		}
		if m.DeliveryID != d.ID || d.Event != "job."+m.State {
			t.Fatalf("POST headers %q %q disagree with its body %s", d.ID, d.Event, d.Body)
		}
		got[m.JobID] = m
	}
	if len(got) != len(want) {
		t.Fatalf("receiver accepted POSTs for %d jobs, want %d", len(got), len(want))
	}
	for id, state := range want {
		if m, ok := got[id]; !ok || m.State != string(state) {
			t.Fatalf("job %d: POST %+v, want state %s", id, m, state)
		}
	}
	return got
}

// checkMails checks that the server got exactly one email per job, each
// naming its job's ending.
func checkMails(t *testing.T, srv *notifytest.SMTPServer, to string, want map[int64]store.JobState) {
	t.Helper()
	mails := srv.Mails()
	if len(mails) != len(want) {
		t.Fatalf("%d emails, want %d", len(mails), len(want))
	}
	seen := map[int64]bool{}
	for _, m := range mails {
		if len(m.To) != 1 || m.To[0] != to {
			t.Fatalf("email to %v, want %s", m.To, to)
		}
		var id int64
		var kind, state string
		for line := range strings.SplitSeq(m.Data, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: pacer: job "); ok {
				fmt.Sscanf(s, "%d %s %s", &id, &kind, &state)
			}
		}
		if want[id] == "" || string(want[id]) != state || seen[id] {
			t.Fatalf("email about job %d %s (seen before: %v), want one for each of %v", id, state, seen[id], want)
		}
		seen[id] = true
	}
}

// TestNotifyEveryEnding runs jobs through the embedded pipeline (SQLite, the
// in-process queue, a worker) to each ending a job can have, with a
// webhook receiver that fails twice first (500, then a dropped connection)
// and an SMTP server that speaks STARTTLS with a self-signed certificate:
// each ending gets exactly one signed POST and one email.
func TestNotifyEveryEnding(t *testing.T) {
	receiver := notifytest.NewReceiver(t, hookSecret, notifytest.Fail500, notifytest.Drop)
	tlsConf, pool, _ := notifytest.SelfSigned(t)
	smtpSrv := notifytest.NewSMTPServer(t, tlsConf)
	hook, mail := senders(t, smtpSrv, pool)
	al, _ := notify.ParseAllowlist([]string{"127.0.0.1"})
	policy := jobs.NotifyPolicy{Webhooks: true, WebhookHosts: al, Email: true}

	ok := newRig(t, rigConfig{})
	bad := newRig(t, rigConfig{token: "revoked-token"})
	submit := func(r *rig, n int) store.Job {
		svc, err := jobs.NewService(jobs.ServiceConfig{Store: r.store, Kinds: r.kinds, Credentials: r.creds, Notify: policy, Nudge: r.disp.Nudge})
		if err != nil {
			t.Fatal(err)
		}
		j, err := svc.Submit(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(n)),
			NotifyWebhook: receiver.URL, NotifyEmail: "Owner <owner@example.org>"})
		if err != nil {
			t.Fatal(err)
		}
		if j.NotifyWebhook != receiver.URL || j.NotifyEmail != "owner@example.org" {
			t.Fatalf("job notifies %q, %q", j.NotifyWebhook, j.NotifyEmail)
		}
		return j
	}
	cancelled := submit(ok, 10)
	if _, err := ok.service.Cancel(t.Context(), cancelled.ID); err != nil {
		t.Fatal(err)
	}
	succeeded := submit(ok, 150)
	failed := submit(bad, 10)
	ok.start(t)
	bad.start(t)
	for _, r := range []*rig{ok, bad} {
		newNotifier(t, r.store, hook, mail, nil, nil)
	}
	ok.waitFinished(t, succeeded.ID)
	bad.waitFinished(t, failed.ID)

	// Job ids restart in each store; key the ending by rig.
	okNs := waitSettled(t, ok.store, cancelled.ID, succeeded.ID)
	badNs := waitSettled(t, bad.store, failed.ID)
	for _, n := range append(okNs, badNs...) {
		if n.State != store.NotificationSent {
			t.Fatalf("notification %+v not sent", n)
		}
	}
	// The receiver refuses the first two POSTs, whichever endings they
	// carry (the three end concurrently); each is sent again, with its
	// delivery id, and accepted. Delivery ids restart in each store, so an
	// ending is its id and event.
	all := receiver.Deliveries()
	if len(all) != 5 || all[0].Accepted || all[1].Accepted {
		t.Fatalf("POSTs %+v: want 5, the first two refused", all)
	}
	for i, d := range all[:2] {
		if !slices.ContainsFunc(all[i+1:], func(a notifytest.Delivery) bool { return a.Accepted && a.ID == d.ID && a.Event == d.Event }) {
			t.Fatalf("POSTs %+v: refused delivery %s (%s) never sent again and accepted", all, d.ID, d.Event)
		}
	}
	if len(receiver.Accepted()) != 3 || len(smtpSrv.Mails()) != 3 {
		t.Fatalf("%d POSTs accepted and %d emails, want 3 each", len(receiver.Accepted()), len(smtpSrv.Mails()))
	}
	states := map[string]int{}
	for _, d := range receiver.Accepted() {
		if d.VerifyErr != nil {
			t.Fatalf("POST %s: %v", d.ID, d.VerifyErr)
		}
		var m notify.Message
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatal(err)
		}
		states[m.State]++
		if m.URL != fmt.Sprintf("https://pacer.example.org/jobs/%d", m.JobID) || m.FinishedAt == nil {
			t.Fatalf("message %+v", m)
		}
		if m.State == "succeeded" && (m.ItemsDone != 150 || !strings.Contains(m.Summary, "150 of 150 items")) {
			t.Fatalf("success message %+v", m)
		}
	}
	if states["succeeded"] != 1 || states["failed"] != 1 || states["cancelled"] != 1 {
		t.Fatalf("endings notified %v, want one each", states)
	}
	for _, m := range smtpSrv.Mails() {
		if !m.TLS {
			t.Fatal("an email went without STARTTLS")
		}
	}
}

// TestNotifierTwoLoopsOnePostgres runs two notifiers on one PostgreSQL store
// over many endings: each is POSTed and mailed exactly once.
func TestNotifierTwoLoopsOnePostgres(t *testing.T) {
	ctx := t.Context()
	s, err := postgres.Open(ctx, postgres.Config{URL: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	receiver := notifytest.NewReceiver(t, hookSecret, notifytest.Fail500, notifytest.Drop)
	smtpSrv := notifytest.NewSMTPServer(t, nil)
	smtpSrv.FailData(1)
	hook, mail := senders(t, smtpSrv, nil)

	const jobsN = 24
	want := map[int64]store.JobState{}
	now := time.Now()
	finish := func(store.Job) (store.JobState, string) { return store.JobSucceeded, "done" }
	failNow := func(store.Job) (store.JobState, string) { return store.JobFailed, "gave up" }
	for i := range jobsN {
		j, err := s.CreateJob(ctx, store.NewJob{Kind: "k", Params: []byte(`{}`), Credential: "c",
			NotifyWebhook: receiver.URL, NotifyEmail: "owner@example.org"}, now, from1())
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := s.ListTasks(ctx, j.ID, nil, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			if _, _, err := s.ClaimTask(ctx, tasks[0].ID, "w", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			_, err = s.CompleteTask(ctx, store.Completion{TaskID: tasks[0].ID, Owner: "w", Now: now, Finish: finish})
			want[j.ID] = store.JobSucceeded
		case 1:
			if _, _, err := s.ClaimTask(ctx, tasks[0].ID, "w", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			_, err = s.FailTask(ctx, store.Failure{TaskID: tasks[0].ID, Owner: "w", Error: "boom", Now: now, Finish: failNow})
			want[j.ID] = store.JobFailed
		case 2:
			_, err = s.CancelJob(ctx, j.ID, now)
			want[j.ID] = store.JobCancelled
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	newNotifier(t, s, hook, mail, reg, nil)
	reg2 := prometheus.NewRegistry()
	newNotifier(t, s, hook, mail, reg2, nil)
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, n := range waitSettled(t, s, ids...) {
		if n.State != store.NotificationSent {
			t.Fatalf("notification %+v not sent", n)
		}
	}
	checkWebhooks(t, receiver, want)
	checkMails(t, smtpSrv, "owner@example.org", want)
	if n := len(receiver.Deliveries()); n != jobsN+2 {
		t.Fatalf("%d POSTs, want %d: one per ending and the two refused", n, jobsN+2)
	}
	if n := testutil.CollectAndCount(reg, "pacer_notifications_total"); n != 6 {
		t.Fatalf("%d pacer_notifications_total series, want 6 (2 channels × 3 outcomes)", n)
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Fatalf("lint: %v, %v", probs, err)
	}
	for _, c := range []string{"webhook", "email"} {
		if got := counter(t, reg, c, "sent") + counter(t, reg2, c, "sent"); got != jobsN {
			t.Fatalf("the two loops counted %v %s notifications sent, want %d", got, c, jobsN)
		}
	}
}

// from1 yields one task of one item.
func from1() func() (store.NewTask, error) {
	done := false
	return func() (store.NewTask, error) {
		if done {
			return store.NewTask{}, io.EOF
		}
		done = true
		return store.NewTask{Items: 1}, nil
	}
}

// TestNotifierGivesUp checks that a notification whose receiver never
// accepts fails for good after MaxAttempts, with its last error, and that a
// target the allowlist refuses fails at once.
func TestNotifierGivesUp(t *testing.T) {
	r := newRig(t, rigConfig{})
	receiver := notifytest.NewReceiver(t, hookSecret, notifytest.Fail500, notifytest.Fail500, notifytest.Fail500, notifytest.Fail500)
	smtpSrv := notifytest.NewSMTPServer(t, nil)
	hook, mail := senders(t, smtpSrv, nil)
	ctx := t.Context()
	now := time.Now()
	j, err := r.store.CreateJob(ctx, store.NewJob{Kind: "tweet_lookup", Params: []byte(`{}`), Credential: "main",
		NotifyWebhook: receiver.URL}, now, from1())
	if err != nil {
		t.Fatal(err)
	}
	off, err := r.store.CreateJob(ctx, store.NewJob{Kind: "tweet_lookup", Params: []byte(`{}`), Credential: "main",
		NotifyWebhook: "http://localhost:1/hook"}, now, from1())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{j.ID, off.ID} {
		if _, err := r.store.CancelJob(ctx, id, now); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	newNotifier(t, r.store, hook, mail, reg, func(c *jobs.NotifierConfig) { c.MaxAttempts = 3 })
	ns := waitSettled(t, r.store, j.ID, off.ID)
	if len(ns) != 2 || ns[0].State != store.NotificationFailed || ns[0].Attempts != 3 || !strings.Contains(ns[0].LastError, "500") {
		t.Fatalf("after 3 refusals: %+v", ns[0])
	}
	if ns[1].State != store.NotificationFailed || ns[1].Attempts != 1 || !strings.Contains(ns[1].LastError, "allowlist") {
		t.Fatalf("a refused target: %+v", ns[1])
	}
	if n := len(receiver.Deliveries()); n != 3 {
		t.Fatalf("%d POSTs, want 3", n)
	}
	if got := counter(t, reg, "webhook", "failed"); got != 2 {
		t.Fatalf("failed webhooks counted %v, want 2", got)
	}
	if got := counter(t, reg, "webhook", "retried"); got != 2 {
		t.Fatalf("retried webhooks counted %v, want 2", got)
	}
}

// counter reads pacer_notifications_total{channel, outcome} from reg.
func counter(t *testing.T, reg *prometheus.Registry, channel, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pacer_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == channel && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no pacer_notifications_total{channel=%q,outcome=%q}", channel, outcome)
	return 0
}
