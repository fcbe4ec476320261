package httpkind

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultMaxBodyBytes is how much of one answer Do keeps when
// [Config.MaxBodyBytes] is 0: 10 MiB.
const DefaultMaxBodyBytes = 10 << 20

// MaxRedirects is how many redirects one request may follow.
const MaxRedirects = 5

// Config configures a [Get]. The zero value is valid, but its empty
// allowlist refuses every URL.
type Config struct {
	// AllowHosts are the hosts jobs may send requests to: a host name or IP
	// address ("api.example.org", "127.0.0.1"), matched exactly and without
	// regard to case or port, or "*.example.com", which matches any
	// subdomain of example.com but not example.com itself. Empty refuses
	// every URL: the kind sends the job's credential with each request, so
	// the operator must name the hosts that may receive it.
	AllowHosts []string
	// MaxBodyBytes caps one answer's body; a longer one fails the task for
	// good. 0 means [DefaultMaxBodyBytes]; negative is an error.
	MaxBodyBytes int64
	// Timeout bounds one request, redirects and body included. 0 means no
	// bound of the kind's own: the worker's task timeout still holds.
	Timeout time.Duration
}

// allowlist is a validated Config.AllowHosts.
type allowlist struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	text     string   // for messages
}

func (c Config) validate() (allowlist, error) {
	if c.MaxBodyBytes < 0 {
		return allowlist{}, fmt.Errorf("max body bytes: %d is negative", c.MaxBodyBytes)
	}
	if c.Timeout < 0 {
		return allowlist{}, fmt.Errorf("timeout: %s is negative", c.Timeout)
	}
	al := allowlist{exact: map[string]bool{}}
	for i, h := range c.AllowHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if err := checkHostPattern(h); err != nil {
			return allowlist{}, fmt.Errorf("allow_hosts[%d] %q: %w", i, c.AllowHosts[i], err)
		}
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			al.suffixes = append(al.suffixes, "."+rest)
		} else {
			al.exact[h] = true
		}
	}
	al.text = strings.Join(c.AllowHosts, ", ")
	return al, nil
}

func checkHostPattern(h string) error {
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

// allows reports whether host (without port) is on the allowlist.
func (al allowlist) allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if al.exact[host] {
		return true
	}
	for _, s := range al.suffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return false
}

// refusal says why host may not be reached, and how to allow it.
func (al allowlist) refusal(host string) string {
	if al.text == "" {
		return fmt.Sprintf("host %s is not on the allowlist, which is empty: list the hosts jobs may reach in the config file's [http] allow_hosts", host)
	}
	return fmt.Sprintf("host %s is not on the allowlist (allowed: %s)", host, al.text)
}
