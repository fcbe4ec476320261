package main

import (
	"strings"
	"testing"

	httpkind "github.com/pacerhq/pacer/jobs/http"
)

// TestParseConfigHTTP covers the keys of the http_get kind: a credential's
// header and [http] allow_hosts.
func TestParseConfigHTTP(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "s3cret-token" }
	const cred = "[credentials.a]\ntoken_env = \"T\"\n"
	tests := []struct {
		name, toml, wantErr string
		header              string
		allow               []string
	}{
		{"defaults", cred, "", "", nil},
		{"header and allowlist", "[credentials.a]\ntoken_env = \"T\"\nheader = \"X-Api-Key\"\n[http]\nallow_hosts = [\"api.example.org\", \"*.example.com\"]\n", "", "X-Api-Key", []string{"api.example.org", "*.example.com"}},
		{"bad header", "[credentials.a]\ntoken_env = \"T\"\nheader = \"X Api\"\n", "credentials.a.header: \"X Api\" is not a header name", "", nil},
		{"cookie header", "[credentials.a]\ntoken_env = \"T\"\nheader = \"cookie\"\n", "credentials.a.header: Cookie cannot carry a token", "", nil},
		{"bad host", cred + "[http]\nallow_hosts = [\"https://api.example.org/\"]\n", "http.allow_hosts[0]", "", nil},
		{"bare wildcard", cred + "[http]\nallow_hosts = [\"*\"]\n", "http.allow_hosts[0]", "", nil},
		{"unknown http key", cred + "[http]\nhosts = [\"a\"]\n", "unknown key http.hosts", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig([]byte(tt.toml), getenv, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if got := cfg.creds["a"].Header; got != tt.header {
				t.Errorf("header = %q, want %q", got, tt.header)
			}
			if strings.Join(cfg.allowHosts, ",") != strings.Join(tt.allow, ",") {
				t.Errorf("allowHosts = %q, want %q", cfg.allowHosts, tt.allow)
			}
		})
	}
}

// TestNewRegistryHTTPGet checks that the http_get kind is registered with
// the config's allowlist.
func TestNewRegistryHTTPGet(t *testing.T) {
	t.Parallel()
	kinds, err := newRegistry("https://api.x.com", "api.example.org")
	if err != nil {
		t.Fatal(err)
	}
	k, ok := kinds.Lookup(httpkind.Name)
	if !ok {
		t.Fatalf("kinds %v lack %s", kinds.Names(), httpkind.Name)
	}
	if _, err := k.Prepare([]byte(`{"url_template":"https://api.example.org/v1/{id}"}`)); err != nil {
		t.Errorf("allowed host refused: %v", err)
	}
	if _, err := k.Prepare([]byte(`{"url_template":"https://evil.example/{id}"}`)); err == nil || !strings.Contains(err.Error(), "not on the allowlist") {
		t.Errorf("other host: %v", err)
	}
}
