package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/pacerhq/pacer/hostlist"
)

// maxTargetLength bounds a webhook URL or an email address.
const maxTargetLength = 2048

// Allowlist is the set of hosts webhooks may be sent to: the same host
// patterns as http_get's (package hostlist). The zero value allows none.
type Allowlist = hostlist.List

// ParseAllowlist reads the config's [notify] allow_hosts; see
// [hostlist.Parse] for the patterns. The error names the bad entry by its
// index.
func ParseAllowlist(hosts []string) (Allowlist, error) { return hostlist.Parse(hosts) }

// refusal says why host may not receive webhooks.
func refusal(al Allowlist, host string) string {
	if al.String() == "" {
		return fmt.Sprintf("host %s is not on the allowlist, which is empty: list webhook hosts in the config file's [notify] allow_hosts", host)
	}
	return fmt.Sprintf("host %s is not on the allowlist (allowed: %s)", host, al)
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
		return errors.New(refusal(al, u.Hostname()))
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
