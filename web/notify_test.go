package web_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/web"
)

// withNotify serves, over the env's own store, a job service that allows
// webhooks to hooks.example.org and email.
func withNotify(t *testing.T) func(*web.Config) {
	return func(c *web.Config) {
		al, err := notify.ParseAllowlist([]string{"hooks.example.org"})
		if err != nil {
			t.Fatal(err)
		}
		lookup, err := tweets.NewLookup(tweets.Config{BaseURL: "http://127.0.0.1:9"})
		if err != nil {
			t.Fatal(err)
		}
		kinds := &jobs.Registry{}
		kinds.Register(lookup)
		svc, err := jobs.NewService(jobs.ServiceConfig{Store: c.Reader.(store.Store), Kinds: kinds,
			Credentials: jobs.Credentials{"demo": {Name: "demo", Token: "t0ken"}},
			Notify:      jobs.NotifyPolicy{Webhooks: true, WebhookHosts: al, Email: true}})
		if err != nil {
			t.Fatal(err)
		}
		c.Jobs = svc
	}
}

func TestSubmitNotifyTargets(t *testing.T) {
	e := newEnv(t, withNotify(t))
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(
		`{"kind":"tweet_lookup","credential":"demo","ids":["20"],"notify_webhook":"https://hooks.example.org/p?k=1","notify_email":"Owner <owner@example.org>"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, body)
	}
	j, err := e.store.GetJob(t.Context(), 1)
	if err != nil || j.NotifyWebhook != "https://hooks.example.org/p?k=1" || j.NotifyEmail != "owner@example.org" {
		t.Fatalf("job %+v, %v", j, err)
	}
	// The API's job tells what it will notify, without the webhook's query
	// (it may hold the receiver's token); the list leaves them out.
	resp, body = e.do(t, "GET", "/api/v1/jobs/1", "", nil)
	var got web.JobView
	if err := json.Unmarshal([]byte(body), &got); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("get job: %s %s (%v)", resp.Status, body, err)
	}
	if len(got.Notifications) != 2 || got.Notifications[0].To != "https://hooks.example.org/p" || got.Notifications[1].To != "owner@example.org" ||
		got.Notifications[0].State != "at the end" || strings.Contains(body, "k=1") {
		t.Fatalf("notifications %+v in %s: want the webhook (no query) and the address, both at the end", got.Notifications, body)
	}
	if _, body = e.do(t, "GET", "/api/v1/jobs", "", nil); strings.Contains(body, `"notifications"`) {
		t.Fatalf("the job list carries notifications: %s", body)
	}

	// The API names the field and the reason, and creates nothing.
	for _, tc := range []struct{ body, field, reason string }{
		{`"notify_webhook":"https://evil.org/"`, "notify_webhook", "not on the allowlist"},
		{`"notify_webhook":"ftp://hooks.example.org/"`, "notify_webhook", "http or https"},
		{`"notify_email":"owner"`, "notify_email", "not an email address"},
	} {
		resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(
			`{"kind":"tweet_lookup","credential":"demo","ids":["21"],`+tc.body+`}`))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field":"`+tc.field+`"`) || !strings.Contains(body, tc.reason) {
			t.Errorf("%s: %s %s", tc.body, resp.Status, body)
		}
	}

	// The form: a multipart submission with the fields, and a bad one that
	// shows its error next to the field and keeps the input.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "tweet_lookup", "credential": "demo", "ids": "5", "notify_webhook": "https://x.example.org/", "notify_email": "a@example.org"} {
		mw.WriteField(k, v)
	}
	mw.Close()
	resp, body = e.do(t, "POST", "/jobs", mw.FormDataContentType(), &buf)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `data-field="notify_webhook"`) || !strings.Contains(body, `value="https://x.example.org/"`) {
		t.Fatalf("bad form: %s\n%s", resp.Status, body)
	}
	form := url.Values{"kind": {"tweet_lookup"}, "credential": {"demo"}, "ids": {"6"}, "notify_webhook": {"https://hooks.example.org/x"}, "notify_email": {"b@example.org"}}
	resp, body = e.do(t, "POST", "/jobs", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form: %s %s", resp.Status, body)
	}
	if j, err := e.store.GetJob(t.Context(), 2); err != nil || j.NotifyWebhook != "https://hooks.example.org/x" || j.NotifyEmail != "b@example.org" {
		t.Fatalf("job from the form %+v, %v", j, err)
	}
	_, page := e.do(t, "GET", "/jobs/new", "", nil)
	if !strings.Contains(page, `name="notify_webhook"`) || !strings.Contains(page, `name="notify_email"`) {
		t.Fatal("the form has no notify fields")
	}
}

func TestSubmitNotifyNotConfigured(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(
		`{"kind":"tweet_lookup","credential":"demo","ids":["20"],"notify_email":"owner@example.org"}`))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field":"notify_email"`) || !strings.Contains(body, "not configured") {
		t.Fatalf("%s %s", resp.Status, body)
	}
}

func TestJobPageShowsNotifications(t *testing.T) {
	e := newEnv(t, withNotify(t))
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(
		`{"kind":"tweet_lookup","credential":"demo","ids":["20"],"notify_webhook":"https://hooks.example.org/p?token=s3cret","notify_email":"owner@example.org"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, body)
	}
	_, page := e.do(t, "GET", "/jobs/1", "", nil)
	if !strings.Contains(page, `<table id="notifications">`) || !strings.Contains(page, "https://hooks.example.org/p</td>") ||
		!strings.Contains(page, "owner@example.org") || strings.Count(page, "at the end") != 2 {
		t.Fatalf("job page before the end:\n%s", page)
	}
	if resp, body := e.do(t, "POST", "/api/v1/jobs/1/cancel", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %s %s", resp.Status, body)
	}
	_, page = e.do(t, "GET", "/jobs/1", "", nil)
	if strings.Count(page, "<td>pending, next try") != 2 {
		t.Fatalf("job page after cancel:\n%s", page)
	}
	if strings.Contains(page, "s3cret") {
		t.Fatal("the webhook's query reached the page")
	}
	// A job that names nothing shows no notifications.
	e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["21"]}`))
	if _, page := e.do(t, "GET", "/jobs/2", "", nil); strings.Contains(page, `id="notifications"`) {
		t.Fatal("a job without targets shows a notifications table")
	}
}

// Past its first segment a webhook's path may be its secret (Slack's
// /services/T…/B…/<token>): the API and the job page show the scheme, the
// host and the first segment only.
func TestWebhookPathNotShown(t *testing.T) {
	e := newEnv(t, withNotify(t))
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(
		`{"kind":"tweet_lookup","credential":"demo","ids":["21"],"notify_webhook":"https://hooks.example.org/services/T0/B0/s3cr3t"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, body)
	}
	for _, path := range []string{"/api/v1/jobs/1", "/jobs/1"} {
		if _, body = e.do(t, "GET", path, "", nil); strings.Contains(body, "s3cr3t") || strings.Contains(body, "/T0") || !strings.Contains(body, "https://hooks.example.org/services/…") {
			t.Fatalf("GET %s shows the webhook's path, or not its host: %s", path, body)
		}
	}
}
