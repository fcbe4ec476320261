package httpkind

import (
	"fmt"
	"time"

	"github.com/pacerhq/pacer/hostlist"
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
type allowlist = hostlist.List

func (c Config) validate() (allowlist, error) {
	if c.MaxBodyBytes < 0 {
		return allowlist{}, fmt.Errorf("max body bytes: %d is negative", c.MaxBodyBytes)
	}
	if c.Timeout < 0 {
		return allowlist{}, fmt.Errorf("timeout: %s is negative", c.Timeout)
	}
	al, err := hostlist.Parse(c.AllowHosts)
	if err != nil {
		return allowlist{}, err
	}
	return al, nil
}

// refusal says why host may not be reached, and how to allow it.
func refusal(al allowlist, host string) string {
	if al.String() == "" {
		return fmt.Sprintf("host %s is not on the allowlist, which is empty: list the hosts jobs may reach in the config file's [http] allow_hosts", host)
	}
	return fmt.Sprintf("host %s is not on the allowlist (allowed: %s)", host, al)
}
