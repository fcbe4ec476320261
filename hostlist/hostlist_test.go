package hostlist_test

import (
	"strings"
	"testing"

	"github.com/pacerhq/pacer/hostlist"
)

func TestAllows(t *testing.T) {
	t.Parallel()
	l, err := hostlist.Parse([]string{"API.example.org", "*.example.com", " 127.0.0.1 "})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"api.example.org", true},
		{"API.Example.ORG.", true}, // case and a trailing dot don't matter
		{"example.org", false},
		{"x.api.example.org", false}, // exact means exact
		{"a.example.com", true},
		{"a.b.example.com", true},
		{"example.com", false}, // "*." wants a subdomain
		{"badexample.com", false},
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := l.Allows(tc.host); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	if got := l.String(); got != "API.example.org, *.example.com,  127.0.0.1 " {
		t.Errorf("String() = %q, want the patterns as configured", got)
	}
	if (hostlist.List{}).Allows("api.example.org") {
		t.Error("the zero List allows a host")
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "https://api.example.org", "api.example.org:443", "api.example.org/x",
		"*", "*.com", "a..b", ".example.org", "user@host", "ex ample.org", "*.*.example.com", "[::1]"} {
		_, err := hostlist.Parse([]string{"ok.example.org", bad})
		if err == nil || !strings.HasPrefix(err.Error(), "allow_hosts[1] ") {
			t.Errorf("Parse(%q) = %v, want an error naming allow_hosts[1]", bad, err)
		}
	}
}

// FuzzAllows: whatever the patterns and the host, Parse and Allows don't
// panic, a "*." pattern never allows its bare domain, and a list never
// allows a host that differs from every exact pattern and has no listed
// suffix.
func FuzzAllows(f *testing.F) {
	f.Add("*.example.com", "example.com")
	f.Add("api.example.org", "API.EXAMPLE.ORG.")
	f.Add("127.0.0.1", "127.0.0.1")
	f.Fuzz(func(t *testing.T, pattern, host string) {
		l, err := hostlist.Parse([]string{pattern})
		if err != nil {
			return
		}
		got := l.Allows(host)
		p := strings.ToLower(strings.TrimSpace(pattern))
		h := strings.ToLower(strings.TrimSuffix(host, "."))
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if want := strings.HasSuffix(h, "."+rest) && h != "."+rest; got != want {
				t.Fatalf("pattern %q, host %q: Allows = %v, want %v", pattern, host, got, want)
			}
			return
		}
		if want := h != "" && h == p; got != want {
			t.Fatalf("pattern %q, host %q: Allows = %v, want %v", pattern, host, got, want)
		}
	})
}
