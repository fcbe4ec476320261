package notify_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/notify/notifytest"
)

func newMailer(t *testing.T, srv *notifytest.SMTPServer, cfg notify.MailerConfig) *notify.Mailer {
	t.Helper()
	cfg.Host, cfg.Port = srv.Host, srv.Port
	if cfg.From == "" {
		cfg.From = "pacer@example.org"
	}
	m, err := notify.NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMailerPlain(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMTPServer(t, nil)
	m := newMailer(t, srv, notify.MailerConfig{})
	if err := m.Send(t.Context(), "Owner <owner@example.org>", message()); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "pacer@example.org" || len(got.To) != 1 || got.To[0] != "owner@example.org" || got.TLS {
		t.Fatalf("envelope %+v", got)
	}
	for _, want := range []string{
		"Subject: pacer: job 42 (tweet_lookup) succeeded\r\n",
		"Message-ID: <pacer.7@example.org>\r\n",
		"Content-Type: text/plain",
		"Job 42 (tweet_lookup) succeeded.",
		"100 of 100 items in 1 requests",
		"https://pacer.example.org/jobs/42",
	} {
		if !strings.Contains(got.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, got.Data)
		}
	}
}

func TestMailerStartTLS(t *testing.T) {
	t.Parallel()
	conf, pool, _ := notifytest.SelfSigned(t)
	srv := notifytest.NewSMTPServer(t, conf)

	// Verified against the CA: sent over TLS, with the login.
	m := newMailer(t, srv, notify.MailerConfig{RootCAs: pool, Username: "pacer", Password: "pw"})
	if err := m.Send(t.Context(), "owner@example.org", message()); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 || !mails[0].TLS || mails[0].User != "pacer" || mails[0].Pass != "pw" {
		t.Fatalf("mails %+v, want one over TLS with the login", mails)
	}

	// A certificate the client does not trust stops it before MAIL.
	m = newMailer(t, srv, notify.MailerConfig{RootCAs: x509.NewCertPool()})
	if err := m.Send(t.Context(), "owner@example.org", message()); err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("untrusted certificate: %v, want a starttls error", err)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails after a failed handshake, want 1", n)
	}
}

func TestMailerRefusals(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMTPServer(t, nil)
	// A password is never sent in the clear.
	m := newMailer(t, srv, notify.MailerConfig{Username: "pacer", Password: "pw"})
	if err := m.Send(t.Context(), "owner@example.org", message()); !notify.IsPermanent(err) || strings.Contains(err.Error(), "pw") {
		t.Fatalf("login without TLS: %v, want a permanent refusal", err)
	}
	// A temporary failure is an error to retry.
	srv.FailData(1)
	m = newMailer(t, srv, notify.MailerConfig{})
	if err := m.Send(t.Context(), "owner@example.org", message()); err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("451 after DATA: %v", err)
	}
	if err := m.Send(t.Context(), "owner@example.org", message()); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), "not an address", message()); !notify.IsPermanent(err) {
		t.Fatalf("bad address: %v, want permanent", err)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
	for _, bad := range []notify.MailerConfig{{Host: "", From: "a@b.org"}, {Host: "x", From: "nobody"}, {Host: "x", Port: 70000, From: "a@b.org"}} {
		if _, err := notify.NewMailer(bad); err == nil || !strings.Contains(err.Error(), "smtp ") {
			t.Errorf("NewMailer(%+v) = %v, want an error naming the field", bad, err)
		}
	}
}
