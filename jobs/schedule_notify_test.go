package jobs_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/notify/notifytest"
	"github.com/pacerhq/pacer/store"
)

// TestScheduleNotifies checks that a schedule's notify settings are checked
// as a submission's and that each run's job carries them, so its ending is
// POSTed and mailed.
func TestScheduleNotifies(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	receiver := notifytest.NewReceiver(t, hookSecret)
	smtpSrv := notifytest.NewSMTPServer(t, nil)
	hook, mail := senders(t, smtpSrv, nil)
	al, _ := notify.ParseAllowlist([]string{"127.0.0.1"})
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: r.store, Kinds: r.kinds, Credentials: r.creds, Nudge: r.disp.Nudge,
		Notify: jobs.NotifyPolicy{Webhooks: true, WebhookHosts: al, Email: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: schedT0}
	sc, err := jobs.NewScheduler(jobs.SchedulerConfig{Service: svc, NowFunc: c.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	spec := jobs.ScheduleSpec{Name: "hourly", Kind: "tweet_lookup", Credential: "main", Items: ids(3), Every: "1m",
		NotifyWebhook: "https://evil.example.org/"}
	var ve *jobs.ValidationError
	if _, err := sc.Create(t.Context(), spec); !errors.As(err, &ve) || ve.Field != "notify_webhook" {
		t.Fatalf("a webhook off the allowlist: %v, want a notify_webhook error", err)
	}
	spec.NotifyWebhook, spec.NotifyEmail = receiver.URL, "Owner <owner@example.org>"
	s, err := sc.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Get(t.Context(), s.ID); err != nil || got.NotifyWebhook != receiver.URL || got.NotifyEmail != "owner@example.org" {
		t.Fatalf("stored schedule %+v, %v", got, err)
	}
	spec.NotifyEmail = "not-an-address"
	if _, err := sc.Update(t.Context(), s.ID, spec); !errors.As(err, &ve) || ve.Field != "notify_email" {
		t.Fatalf("update with a bad email: %v", err)
	}

	r.start(t)
	newNotifier(t, r.store, hook, mail, nil, nil)
	c.set(s.NextDue)
	if n := fireOnce(t, sc); n != 1 {
		t.Fatalf("fired %d, want 1", n)
	}
	jobID := firedJobs(t, r.store, s.ID)[0]
	j := r.waitFinished(t, jobID)
	if j.NotifyWebhook != receiver.URL || j.NotifyEmail != "owner@example.org" {
		t.Fatalf("the run's job notifies %q, %q", j.NotifyWebhook, j.NotifyEmail)
	}
	for _, n := range waitSettled(t, r.store, jobID) {
		if n.State != store.NotificationSent {
			t.Fatalf("notification %+v", n)
		}
	}
	got := receiver.WaitAccepted(t, 1, time.Minute)
	var m notify.Message
	if err := json.Unmarshal(got[0].Body, &m); err != nil || m.JobID != jobID || m.State != "succeeded" || got[0].VerifyErr != nil {
		t.Fatalf("POST %+v (%v): want job %d succeeded, signed", m, err, jobID)
	}
	if mails := smtpSrv.Mails(); len(mails) != 1 {
		t.Fatalf("%d emails, want 1", len(mails))
	}
}
