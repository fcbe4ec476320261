package notify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/notify/notifytest"
)

func message() notify.Message {
	fin := time.Date(2030, 6, 1, 12, 5, 0, 0, time.UTC)
	return notify.Message{DeliveryID: "7", Event: "job.succeeded", JobID: 42, Kind: "tweet_lookup", State: "succeeded",
		Summary: "100 of 100 items in 1 requests", ItemsTotal: 100, ItemsDone: 100, Requests: 1,
		CreatedAt: fin.Add(-5 * time.Minute), FinishedAt: &fin, URL: "https://pacer.example.org/jobs/42"}
}

func newWebhook(t *testing.T, hosts ...string) *notify.Webhook {
	t.Helper()
	al, err := notify.ParseAllowlist(hosts)
	if err != nil {
		t.Fatal(err)
	}
	w, err := notify.NewWebhook(notify.WebhookConfig{Secret: secret, Allow: al, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookSend(t *testing.T) {
	t.Parallel()
	r := notifytest.NewReceiver(t, secret, notifytest.Fail500, notifytest.Drop)
	w := newWebhook(t, "127.0.0.1")
	m := message()

	var se *notify.StatusError
	if err := w.Send(t.Context(), r.URL, m); !errors.As(err, &se) || se.Code != 500 || !strings.Contains(se.Body, "receiver down") {
		t.Fatalf("first send: %v, want a 500 StatusError with the body", err)
	}
	if err := w.Send(t.Context(), r.URL, m); err == nil || errors.As(err, &se) || notify.IsPermanent(err) {
		t.Fatalf("second send (connection dropped): %v, want a transport error", err)
	}
	if err := w.Send(t.Context(), r.URL, m); err != nil {
		t.Fatalf("third send: %v", err)
	}
	all := r.Deliveries()
	if len(all) != 3 {
		t.Fatalf("receiver got %d POSTs, want 3", len(all))
	}
	d := all[2]
	if !d.Accepted || d.VerifyErr != nil || d.ID != "7" || d.Event != "job.succeeded" || d.ContentType != "application/json" {
		t.Fatalf("delivery %+v", d)
	}
	var got notify.Message
	if err := json.Unmarshal(d.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.JobID != 42 || got.State != "succeeded" || got.Summary != m.Summary || got.URL != m.URL || !got.FinishedAt.Equal(*m.FinishedAt) {
		t.Fatalf("body %s", d.Body)
	}
	for _, d := range all {
		if d.ID != "7" || d.VerifyErr != nil {
			t.Fatalf("attempt %+v: every attempt carries the same delivery id and a good signature", d)
		}
	}
}

func TestWebhookRefusals(t *testing.T) {
	t.Parallel()
	redirected := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected = true }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(strings.Repeat("x", 10<<20)))
	}))
	defer huge.Close()
	w := newWebhook(t, "127.0.0.1")

	var se *notify.StatusError
	if err := w.Send(t.Context(), redirect.URL, message()); !errors.As(err, &se) || se.Code != http.StatusTemporaryRedirect || redirected {
		t.Fatalf("redirect: %v (followed: %v), want a 307 StatusError and no hop", err, redirected)
	}
	if err := w.Send(t.Context(), huge.URL, message()); !errors.As(err, &se) || se.Code != http.StatusBadGateway || len(se.Body) > 300 {
		t.Fatalf("huge answer: %v", err)
	}
	u, _ := url.Parse(target.URL)
	u.Host = "localhost:" + u.Port()
	if err := w.Send(t.Context(), u.String(), message()); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "allowlist") {
		t.Fatalf("a host off the allowlist: %v, want a permanent refusal", err)
	}
	if redirected {
		t.Fatal("a refused POST reached its target")
	}
	if _, err := notify.NewWebhook(notify.WebhookConfig{}); err == nil {
		t.Fatal("NewWebhook without a secret succeeded")
	}
}
