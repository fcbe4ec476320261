package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// maxTargetLength bounds a webhook URL or an email address.
const maxTargetLength = 2048

// Allowlist is the set of hosts webhooks may be sent to. The zero value
// allows none.
type Allowlist struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	text     string
}

// ParseAllowlist reads host patterns: a host name or IP address
// ("hooks.example.org", "127.0.0.1"), matched exactly and without regard to
// case or port, or "*.example.com", which matches any subdomain of
// example.com but not example.com itself. The error names the bad entry by
// its index.
func ParseAllowlist(hosts []string) (Allowlist, error) {
	al := Allowlist{exact: map[string]bool{}}
	for i, h := range hosts {
		p := strings.ToLower(strings.TrimSpace(h))
		if err := checkHostPattern(p); err != nil {
			return Allowlist{}, fmt.Errorf("allow_hosts[%d] %q: %w", i, h, err)
		}
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			al.suffixes = append(al.suffixes, "."+rest)
		} else {
			al.exact[p] = true
		}
	}
	al.text = strings.Join(hosts, ", ")
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

// Allows reports whether host (without port) is on the allowlist.
func (al Allowlist) Allows(host string) bool {
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

// refusal says why host may not receive webhooks.
func (al Allowlist) refusal(host string) string {
	if al.text == "" {
		return fmt.Sprintf("host %s is not on the allowlist, which is empty: list webhook hosts in the config file's [notify] allow_hosts", host)
	}
	return fmt.Sprintf("host %s is not on the allowlist (allowed: %s)", host, al.text)
}

// CheckWebhookURL checks that raw is an absolute http or https URL without
// user info or fragment, whose host al allows. The error says why, without
// the URL's secrets.
func CheckWebhookURL(raw string, al Allowlist) error {
	if len(raw) > maxTargetLength {
		return fmt.Errorf("longer than %d bytes", maxTargetLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an absolute http or https URL")
	case u.Hostname() == "":
		return errors.New("no host")
	case u.User != nil:
		return errors.New("credentials do not belong in the URL: pacer signs each POST instead")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("a fragment is never sent; leave it out")
	case !al.Allows(u.Hostname()):
		return errors.New(al.refusal(u.Hostname()))
	}
	return nil
}

// CheckEmail parses an email address with net/mail and returns its bare
// form ("owner@example.org", display name dropped). It refuses lists and
// anything that is not one address.
func CheckEmail(addr string) (string, error) {
	if len(addr) > maxTargetLength {
		return "", fmt.Errorf("longer than %d bytes", maxTargetLength)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return "", fmt.Errorf("not an email address: %v", err)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(a.Address, "\r\n<>, \t\"\\") {
		return "", errors.New("not an email address pacer can send to (quoted local parts are not supported)")
	}
	// net/mail unquotes a quoted local part; what it returns must stand on
	// its own in an SMTP command and a header.
	if again, err := mail.ParseAddress(a.Address); err != nil || again.Address != a.Address {
		return "", errors.New("not an email address pacer can send to (quoted local parts are not supported)")
	}
	return a.Address, nil
}
