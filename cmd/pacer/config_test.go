package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{"X_TOKEN": "s3cret-token"}
	getenv := func(k string) string { return env[k] }
	readFile := func(p string) ([]byte, error) {
		if p == "/run/secrets/x" {
			return []byte("file-token\n"), nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct {
		name    string
		toml    string
		wantErr string // substring; "" for success
	}{
		{"env token with quota", "[credentials.research]\ntoken_env = \"X_TOKEN\"\nquota = \"900/15m\"\n", ""},
		{"file token without quota", "[credentials.app]\ntoken_file = \"/run/secrets/x\"\n", ""},
		{"unset env", "[credentials.a]\ntoken_env = \"NOPE\"\n", "credentials.a.token_env: environment variable NOPE is not set"},
		{"unreadable file", "[credentials.a]\ntoken_file = \"/nope\"\n", "credentials.a.token_file"},
		{"both sources", "[credentials.a]\ntoken_env = \"X_TOKEN\"\ntoken_file = \"/run/secrets/x\"\n", "not both"},
		{"no source", "[credentials.a]\nquota = \"1/s\"\n", "set token_env or token_file"},
		{"bad quota", "[credentials.a]\ntoken_env = \"X_TOKEN\"\nquota = \"lots\"\n", "credentials.a.quota"},
		{"unknown key", "[credentials.a]\ntoken_env = \"X_TOKEN\"\ntoken = \"inline\"\n", "unknown key credentials.a.token"},
		{"bad name", "[credentials.\"Bad Name\"]\ntoken_env = \"X_TOKEN\"\n", "a name is"},
		{"empty", "", "no [credentials.<name>] declared"},
		{"not toml", "[[[", "config:"},
		{"several quotas", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[[credentials.a.quotas]]\nname = \"a-15m\"\nlimit = \"900/15m\"\n[[credentials.a.quotas]]\nname = \"a-1s\"\nlimit = \"1/s\"\nsliding = true\n", ""},
		{"quota and quotas", "[credentials.a]\ntoken_env = \"X_TOKEN\"\nquota = \"1/s\"\n[[credentials.a.quotas]]\nname = \"a-1s\"\nlimit = \"1/s\"\n", "not both"},
		{"unnamed quota", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[[credentials.a.quotas]]\nlimit = \"1/s\"\n", "credentials.a.quotas[0].name"},
		{"bad quota limit", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[[credentials.a.quotas]]\nname = \"q\"\nlimit = \"often\"\n", "credentials.a.quotas[0].limit"},
		{"pool", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[credentials.b]\ntoken_env = \"X_TOKEN\"\n[pools.both]\ncredentials = [\"a\", \"b\"]\n", ""},
		{"pool of unknown", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[pools.both]\ncredentials = [\"a\", \"c\"]\n", `pools.both.credentials: "c" is not a declared credential`},
		{"empty pool", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[pools.none]\ncredentials = []\n", "pools.none.credentials: empty"},
		{"pool named like a credential", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[pools.a]\ncredentials = [\"a\"]\n", "pools.a: a pool may not have the name of a credential"},
		{"learned name taken", "[credentials.a]\ntoken_env = \"X_TOKEN\"\n[credentials.b]\ntoken_env = \"X_TOKEN\"\n[[credentials.b.quotas]]\nname = \"a\"\nlimit = \"1/s\"\n", "pacer learns it under the name"},
		{"quota name twice", "[credentials.a]\ntoken_env = \"X_TOKEN\"\nquota = \"1/s\"\n[credentials.b]\ntoken_env = \"X_TOKEN\"\n[[credentials.b.quotas]]\nname = \"a\"\nlimit = \"1/s\"\n", `quota "a" is already declared by credential a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig([]byte(tt.toml), getenv, readFile)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseConfig: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseConfig error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks a token: %v", err)
			}
			_ = cfg
		})
	}
	cfg, err := parseConfig([]byte("[credentials.research]\ntoken_env = \"X_TOKEN\"\nquota = \"900/15m\"\n"), getenv, readFile)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.creds["research"]
	if c.Token != "s3cret-token" || len(c.Quotas) != 1 || c.Quotas[0] != (ratelimit.Quota{Key: "research", Limit: 900, Window: 15 * time.Minute}) {
		t.Fatalf("credential = %+v", c)
	}
	if s := c.String(); strings.Contains(s, "s3cret") {
		t.Fatalf("String leaks the token: %s", s)
	}
}

func TestParseConfigNamesOnly(t *testing.T) {
	cfg, err := parseConfig([]byte("[credentials.research]\ntoken_env = \"UNSET_HERE\"\nquota = \"900/15m\"\n"), nil, nil)
	if err != nil {
		t.Fatalf("names-only parse needs no token: %v", err)
	}
	if c := cfg.creds["research"]; c.Token != "" || len(c.Quotas) != 1 || c.Quotas[0].Limit != 900 {
		t.Fatalf("credential %+v", c)
	}
	if _, err := parseConfig([]byte("[credentials.a]\nquota = \"1/s\"\n"), nil, nil); err == nil {
		t.Fatal("a credential without a token source passed the names-only parse")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("[credentials.research]\ntoken_env = \"X_TOKEN\"\nquota = \"900/15m\"\n")
	f.Add("[credentials.a]\ntoken_file = \"/run/secrets/x\"\n")
	f.Add("[credentials]\na = 1\n")
	f.Add("x = [1, 2")
	f.Fuzz(func(t *testing.T, text string) {
		getenv := func(string) string { return "tok-secret" }
		readFile := func(string) ([]byte, error) { return nil, errors.New("no files here") }
		cfg, err := parseConfig([]byte(text), getenv, readFile)
		if err != nil {
			if strings.Contains(err.Error(), "tok-secret") {
				t.Fatalf("error leaks a token: %v", err)
			}
			return
		}
		for name, c := range cfg.creds {
			if c.Name != name || c.Token == "" {
				t.Fatalf("credential %q parsed as %+v", name, c)
			}
			for _, q := range c.Quotas {
				if err := q.Validate(); err != nil {
					t.Fatalf("credential %q has an invalid quota: %v", name, err)
				}
			}
		}
	})
}

func TestFlagsEnvironmentTwins(t *testing.T) {
	env := map[string]string{"PACER_DATABASE_URL": "postgres://env", "PACER_CONCURRENCY": "3"}
	var o options
	f := newFlagSet("work", "work", func(k string) string { return env[k] }, &strings.Builder{})
	o.storeFlags(f, "")
	o.workerFlags(f)
	if err := f.parse([]string{"-concurrency", "7"}); err != nil {
		t.Fatal(err)
	}
	if o.databaseURL != "postgres://env" {
		t.Errorf("database-url = %q, want the environment's", o.databaseURL)
	}
	if o.concurrency != 7 {
		t.Errorf("concurrency = %d, want the flag's 7 over the environment's 3", o.concurrency)
	}
	env["PACER_MAX_ATTEMPTS"] = "many"
	f = newFlagSet("work", "work", func(k string) string { return env[k] }, &strings.Builder{})
	o.workerFlags(f)
	if err := f.parse(nil); err == nil || !strings.Contains(err.Error(), "PACER_MAX_ATTEMPTS") {
		t.Errorf("bad environment value: err = %v, want it to name PACER_MAX_ATTEMPTS", err)
	}
}

func TestListenRefusesBeyondLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "localhost:0", "[::1]:80"} {
		if err := loopbackOnly(addr); err != nil {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "10.0.0.5:80", "example.com:80"} {
		if err := loopbackOnly(addr); err == nil {
			t.Errorf("loopbackOnly(%s) = nil, want a refusal", addr)
		}
	}
}
