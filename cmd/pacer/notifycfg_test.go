package main

import (
	"os"
	"strings"
	"testing"
)

const credsTOML = "[credentials.a]\ntoken_env = \"X_TOKEN\"\n"

func TestNotifyConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"X_TOKEN": "tok", "HOOK": "hook-s3cret", "SMTP_PW": "pw-s3cret"}
	getenv := func(k string) string { return env[k] }
	readFile := func(p string) ([]byte, error) {
		switch p {
		case "/run/hook":
			return []byte("file-secret\n"), nil
		case "/ca.pem":
			return []byte("not pem"), nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct {
		name    string
		toml    string
		wantErr string // of parseConfig; "" for success
		sendErr string // of senders; "" for success
	}{
		{"none", "", "", ""},
		{"webhooks", "[notify]\nallow_hosts = [\"hooks.example.org\"]\nwebhook_secret_env = \"HOOK\"\npublic_url = \"https://pacer.example.org\"\n", "", ""},
		{"secret file", "[notify]\nallow_hosts = [\"*.example.org\"]\nwebhook_secret_file = \"/run/hook\"\n", "", ""},
		{"unset secret env", "[notify]\nallow_hosts = [\"x.org\"]\nwebhook_secret_env = \"NOPE\"\n", "", "notify.webhook_secret_env: environment variable NOPE is not set"},
		{"missing secret file", "[notify]\nallow_hosts = [\"x.org\"]\nwebhook_secret_file = \"/nope\"\n", "", "notify.webhook_secret_file"},
		{"hosts without secret", "[notify]\nallow_hosts = [\"x.org\"]\n", "notify.allow_hosts: webhooks need a secret", ""},
		{"both secret sources", "[notify]\nwebhook_secret_env = \"HOOK\"\nwebhook_secret_file = \"/run/hook\"\n", "notify.webhook_secret_env: set webhook_secret_env or webhook_secret_file, not both", ""},
		{"bad host", "[notify]\nallow_hosts = [\"https://x.org\"]\nwebhook_secret_env = \"HOOK\"\n", "notify.allow_hosts[0]", ""},
		{"bad public url", "[notify]\npublic_url = \"pacer.example.org\"\n", "notify.public_url", ""},
		{"smtp", "[notify.smtp]\nhost = \"smtp.example.org\"\nfrom = \"pacer@example.org\"\nusername = \"u\"\npassword_env = \"SMTP_PW\"\n", "", ""},
		{"smtp no host", "[notify.smtp]\nfrom = \"pacer@example.org\"\n", "notify.smtp.host", ""},
		{"smtp bad from", "[notify.smtp]\nhost = \"h\"\nfrom = \"pacer\"\n", "notify.smtp.from", ""},
		{"smtp bad port", "[notify.smtp]\nhost = \"h\"\nport = 99999\nfrom = \"p@x.org\"\n", "notify.smtp.port", ""},
		{"smtp user without password", "[notify.smtp]\nhost = \"h\"\nfrom = \"p@x.org\"\nusername = \"u\"\n", "notify.smtp.password_env", ""},
		{"smtp password without user", "[notify.smtp]\nhost = \"h\"\nfrom = \"p@x.org\"\npassword_env = \"SMTP_PW\"\n", "notify.smtp.username", ""},
		{"smtp unset password", "[notify.smtp]\nhost = \"h\"\nfrom = \"p@x.org\"\nusername = \"u\"\npassword_env = \"NOPE\"\n", "", "notify.smtp.password_env"},
		{"smtp bad ca", "[notify.smtp]\nhost = \"h\"\nfrom = \"p@x.org\"\nca_file = \"/ca.pem\"\n", "", "notify.smtp.ca_file: /ca.pem holds no PEM certificate"},
		{"unknown key", "[notify]\nsecret = \"inline\"\n", "unknown key notify.secret", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig([]byte(credsTOML+tc.toml), getenv, readFile)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseConfig: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			// serve checks the table without its secrets too.
			if _, err := parseConfig([]byte(credsTOML+tc.toml), nil, nil); err != nil {
				t.Fatalf("names-only parseConfig: %v", err)
			}
			nc, err := cfg.notify.senders(getenv, readFile, nil)
			if tc.sendErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.sendErr) {
					t.Fatalf("senders: %v, want %q", err, tc.sendErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("senders: %v", err)
			}
			p := cfg.notify.policy()
			if p.Webhooks != (nc.Webhook != nil) || p.Email != (nc.Email != nil) {
				t.Fatalf("policy %+v disagrees with the senders %+v", p, nc)
			}
		})
	}
}

func TestNotifyConfigNeverLeaksSecrets(t *testing.T) {
	t.Parallel()
	_, err := parseConfig([]byte(credsTOML+"[notify]\nwebhook_secret_env = \"HOOK\"\nwebhook_secret = \"inline-s3cret\"\n"), nil, nil)
	if err == nil || strings.Contains(err.Error(), "inline-s3cret") {
		t.Fatalf("an inline secret: %v", err)
	}
}
