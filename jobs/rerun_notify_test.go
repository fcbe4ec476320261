package jobs_test

import (
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/store"
)

// A re-run notifies the same webhook and address as the job it re-runs, as
// far as the notify policy still allows: a target the config no longer
// allows is dropped, not a reason to refuse the re-run.
func TestRerunKeepsNotifyTargets(t *testing.T) {
	r := newRig(t, rigConfig{token: "revoked-token"}) // every request 401s: the job fails
	al, err := notify.ParseAllowlist([]string{"hooks.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	service := func(p jobs.NotifyPolicy) *jobs.Service {
		svc, err := jobs.NewService(jobs.ServiceConfig{Store: r.store, Kinds: r.kinds, Credentials: r.creds, Notify: p, Nudge: r.disp.Nudge})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	full := service(jobs.NotifyPolicy{Webhooks: true, WebhookHosts: al, Email: true})
	j, err := full.Submit(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(10)),
		NotifyWebhook: "https://hooks.example.org/pacer", NotifyEmail: "owner@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	r.start(t)
	if j = r.waitFinished(t, j.ID); j.State != store.JobFailed {
		t.Fatalf("job %+v: want it failed", j)
	}
	again, err := full.Rerun(t.Context(), j.ID)
	if err != nil || again.NotifyWebhook != "https://hooks.example.org/pacer" || again.NotifyEmail != "owner@example.org" {
		t.Fatalf("Rerun = %+v, %v; want the same webhook and address", again, err)
	}
	r.waitFinished(t, again.ID)
	// Email is no longer configured: the re-run keeps the webhook only.
	mailless := service(jobs.NotifyPolicy{Webhooks: true, WebhookHosts: al})
	third, err := mailless.Rerun(t.Context(), again.ID)
	if err != nil || third.NotifyWebhook != "https://hooks.example.org/pacer" || third.NotifyEmail != "" {
		t.Fatalf("Rerun without email configured = %+v, %v; want the webhook alone", third, err)
	}
}
