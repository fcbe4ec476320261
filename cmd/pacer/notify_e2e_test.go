package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/notify/notifytest"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/sqlite"
)

// TestNotifyEmbedded runs pacer run with a [notify] config: a job submitted
// with -webhook and -email that succeeds, and one that is cancelled, each
// get exactly one signed POST (the receiver failing twice first) and one
// email over STARTTLS, verified against the config's ca_file.
func TestNotifyEmbedded(t *testing.T) {
	secret := "hook-s3cret"
	receiver := notifytest.NewReceiver(t, []byte(secret), notifytest.Fail500, notifytest.Drop)
	tlsConf, _, caPEM := notifytest.SelfSigned(t)
	smtpSrv := notifytest.NewSMTPServer(t, tlsConf)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	pwFile := filepath.Join(dir, "smtp-password")
	for path, data := range map[string][]byte{caFile: caPEM, pwFile: []byte("smtp-pw\n")} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "pacer.toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `[credentials.extra]
token_env = "EXTRA_TOKEN"

[notify]
allow_hosts = ["127.0.0.1"]
webhook_secret_env = "HOOK_SECRET"
public_url = "https://pacer.example.org"

[notify.smtp]
host = "127.0.0.1"
port = %d
from = "pacer@example.org"
username = "pacer"
password_file = %q
ca_file = %q
`, smtpSrv.Port, pwFile, caFile), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXTRA_TOKEN": "x", "HOOK_SECRET": secret}

	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	dbPath := filepath.Join(dir, "pacer.db")
	go func() {
		done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", "sqlite:" + dbPath, "-demo-quota", "40/2s", "-config", config},
			func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, logs)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pacer run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	server := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]

	out, errOut, err := cli(t, "submit", "-server", server, "-credential", "demo", "-ids-file", writeIDs(t, 300),
		"-webhook", receiver.URL, "-email", "owner@example.org", "-wait", "-interval", "100ms")
	if err != nil || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit: %v\n%s\n%s", err, out, errOut)
	}
	ok := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)[1]
	// A long job (100 requests at 40 per 2 s), cancelled at once.
	out, errOut, err = cli(t, "submit", "-server", server, "-credential", "demo", "-ids-file", writeIDs(t, 10000),
		"-webhook", receiver.URL, "-email", "owner@example.org")
	if err != nil {
		t.Fatalf("submit: %v\n%s\n%s", err, out, errOut)
	}
	long := regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)[1]
	resp, err := http.Post(server+"/api/v1/jobs/"+long+"/cancel", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %v %v", resp, err)
	}
	resp.Body.Close()

	// Refused at the door, naming the field.
	_, errOut, err = cli(t, "submit", "-server", server, "-credential", "demo", "-ids", "1", "-webhook", "https://evil.example.org/")
	if err == nil || !strings.Contains(err.Error()+errOut, "notify_webhook") {
		t.Fatalf("a webhook off the allowlist: %v %s", err, errOut)
	}

	accepted := receiver.WaitAccepted(t, 2, time.Minute)
	mails := smtpSrv.WaitMails(t, 2, time.Minute)
	// /metrics counts what the loop recorded: two refused attempts, then
	// two POSTs and two emails sent.
	want := []string{
		`pacer_notifications_total{channel="webhook",outcome="retried"} 2`,
		`pacer_notifications_total{channel="webhook",outcome="sent"} 2`,
		`pacer_notifications_total{channel="email",outcome="sent"} 2`,
		`pacer_notifications_total{channel="email",outcome="failed"} 0`,
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(server + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := ""
		for _, w := range want {
			if !strings.Contains(string(body), w+"\n") {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop() // the notifier settles what it sent before run returns

	states := map[string]string{}
	for _, d := range accepted {
		if d.VerifyErr != nil {
			t.Fatalf("POST %s: %v", d.ID, d.VerifyErr)
		}
		var m notify.Message
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatal(err)
		}
		states[fmt.Sprint(m.JobID)] = m.State
		if m.URL != "https://pacer.example.org/jobs/"+fmt.Sprint(m.JobID) {
			t.Fatalf("message links to %q", m.URL)
		}
	}
	if len(accepted) != 2 || states[ok] != "succeeded" || states[long] != "cancelled" {
		t.Fatalf("accepted POSTs for %v, want %s succeeded and %s cancelled", states, ok, long)
	}
	if n := len(receiver.Deliveries()); n != 4 {
		t.Fatalf("%d POSTs, want 4: two refused, two accepted", n)
	}
	if len(mails) != 2 || !mails[0].TLS || !mails[1].TLS || mails[0].User != "pacer" || mails[0].Pass != "smtp-pw" {
		t.Fatalf("mails %+v: want two over STARTTLS with the login", mails)
	}

	// The store agrees: every notification sent, and none pending.
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{ok, long} {
		var jobID int64
		fmt.Sscan(id, &jobID)
		ns, err := s.ListNotifications(t.Context(), jobID)
		if err != nil || len(ns) != 2 {
			t.Fatalf("job %d notifications %+v, %v", jobID, ns, err)
		}
		for _, n := range ns {
			if n.State != store.NotificationSent {
				t.Fatalf("notification %+v not sent", n)
			}
		}
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "smtp-pw") {
		t.Fatal("a secret reached the log")
	}
}
