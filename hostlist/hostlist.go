// Package hostlist is the host allowlist that guards every URL pacer reaches
// on a user's say-so: the pages http_get fetches and the webhooks notify
// posts to. A server that fetches any URL a form names is a server-side
// request forgery hole, so both refuse a host the operator did not list.
//
// hostlist imports only the standard library.
package hostlist

import (
	"errors"
	"fmt"
	"strings"
)

// List is a validated set of host patterns. The zero value allows no host.
// A List is immutable and safe for concurrent use.
type List struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	text     string
}

// Parse reads host patterns: a host name or IP address ("api.example.org",
// "127.0.0.1"), matched exactly and without regard to case or a trailing
// dot, or "*.example.com", which matches any subdomain of example.com but
// not example.com itself. A pattern has no scheme, port or path. The error
// names the bad entry as allow_hosts[i], the config key both users read it
// from.
func Parse(hosts []string) (List, error) {
	l := List{exact: map[string]bool{}}
	for i, h := range hosts {
		p := strings.ToLower(strings.TrimSpace(h))
		if err := checkPattern(p); err != nil {
			return List{}, fmt.Errorf("allow_hosts[%d] %q: %w", i, h, err)
		}
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			l.suffixes = append(l.suffixes, "."+rest)
		} else {
			l.exact[p] = true
		}
	}
	l.text = strings.Join(hosts, ", ")
	return l, nil
}

func checkPattern(h string) error {
	rest := strings.TrimPrefix(h, "*.")
	switch {
	case h == "":
		return errors.New("empty")
	case strings.ContainsAny(rest, "*/:@?#[] \t"):
		return errors.New(`want a host name, an IP address or "*.domain", without scheme, port or path`)
	case strings.HasPrefix(rest, ".") || strings.HasSuffix(rest, ".") || strings.Contains(rest, ".."):
		return errors.New("not a host name")
	case strings.HasPrefix(h, "*.") && !strings.Contains(rest, "."):
		return errors.New(`"*." must be followed by a domain of at least two labels, as *.example.com`)
	}
	return nil
}

// Allows reports whether host (a URL's Hostname(), without port) is on the
// list.
func (l List) Allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if l.exact[host] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return false
}

// String returns the patterns as configured, joined by ", "; "" for an
// empty list. Error messages quote it so a user sees what is allowed.
func (l List) String() string { return l.text }
