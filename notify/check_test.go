package notify_test

import (
	"strings"
	"testing"

	"github.com/pacerhq/pacer/notify"
)

func TestCheckWebhookURL(t *testing.T) {
	t.Parallel()
	al, err := notify.ParseAllowlist([]string{"hooks.example.org", "*.example.com", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string // "" for ok, else a part of the error
	}{
		{"https://hooks.example.org/pacer?token=x", ""},
		{"http://127.0.0.1:8080/hook", ""},
		{"https://a.b.example.com/", ""},
		{"https://HOOKS.example.org./x", ""},
		{"https://example.com/", "not on the allowlist"},
		{"https://evil.org/", "not on the allowlist"},
		{"https://hooks.example.org.evil.org/", "not on the allowlist"},
		{"ftp://hooks.example.org/", "http or https"},
		{"/relative", "http or https"},
		{"https://user:pw@hooks.example.org/", "credentials"},
		{"https://hooks.example.org/#frag", "fragment"},
		{"https://hooks.example.org/%zz", "not a URL"},
		{"https:///path", "no host"},
		{"https://hooks.example.org/" + strings.Repeat("a", 3000), "longer than"},
	}
	for _, tc := range tests {
		err := notify.CheckWebhookURL(tc.url, al)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckWebhookURL(%.60q) = %v, want %q", tc.url, err, tc.want)
		}
	}
	if err := notify.CheckWebhookURL("https://hooks.example.org/", notify.Allowlist{}); err == nil || !strings.Contains(err.Error(), "allowlist, which is empty") {
		t.Errorf("the zero Allowlist: %v", err)
	}
}

func TestParseAllowlist(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{{""}, {"https://x.org"}, {"x.org:80"}, {"*.com"}, {"a..b"}, {"*"}} {
		if _, err := notify.ParseAllowlist(bad); err == nil || !strings.Contains(err.Error(), "allow_hosts[0]") {
			t.Errorf("ParseAllowlist(%q) = %v, want an error naming allow_hosts[0]", bad, err)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"owner@example.org", "owner@example.org"},
		{"Owner <owner@example.org>", "owner@example.org"},
		{"  owner@example.org ", "owner@example.org"},
		{"", ""},
		{"owner", ""},
		{"owner@", ""},
		{"a@example.org, b@example.org", ""},
		{"owner@example.org\r\nBcc: x@evil.org", ""},
		{"<>", ""},
	}
	for _, tc := range tests {
		got, err := notify.CheckEmail(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("CheckEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzCheckEmail checks that what CheckEmail accepts is one bare address
// that cannot break out of a header or an SMTP command.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"owner@example.org", "Owner <o@x.org>", "\"a b\"@x.org", "a@b\r\nc", "=?utf-8?q?x?= <a@b.c>", "a@[127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := notify.CheckEmail(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "\r\n<>,") || strings.Count(got, "@") < 1 {
			t.Fatalf("CheckEmail(%q) accepted %q", in, got)
		}
		if again, err := notify.CheckEmail(got); err != nil || again != got {
			t.Fatalf("CheckEmail(%q) = %q, but that gives %q, %v", in, got, again, err)
		}
	})
}

// FuzzCheckWebhookURL checks that an accepted URL is http(s), carries no
// user info, and names an allowed host.
func FuzzCheckWebhookURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.org/x", "http://127.0.0.1:1/", "https://a@hooks.example.org/", "https://hooks.example.org\\@evil.org/", "http://[::1]/"} {
		f.Add(s)
	}
	al, err := notify.ParseAllowlist([]string{"hooks.example.org", "127.0.0.1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if err := notify.CheckWebhookURL(raw, al); err != nil {
			return
		}
		lower := strings.ToLower(raw)
		if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			t.Fatalf("accepted %q", raw)
		}
	})
}
