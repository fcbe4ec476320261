package jobs

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"

	"github.com/pacerhq/pacer/ratelimit"
)

// Credential is a named secret that authenticates upstream requests, with
// the quota the upstream grants it. The store and every page hold only its
// Name; Token never leaves the process (DESIGN.md, invariant 6).
type Credential struct {
	Name  string
	Token string // sent as "Authorization: Bearer <Token>" (see Header); "" sends none
	// Header is the request header that carries Token. Empty, or
	// "Authorization", sends "Authorization: Bearer <Token>"; any other name
	// (an API key header such as "X-Api-Key") sends the raw Token in it.
	Header string
	// Quotas are what the upstream grants this credential; every request
	// spends one of each. The upstream's rate-limit headers describe the
	// first. None for an upstream without a quota.
	Quotas []ratelimit.Quota
}

// LogValue redacts the token, so a Credential can be logged safely.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", c.Name), slog.Bool("token_set", c.Token != "")}
	if c.Header != "" {
		attrs = append(attrs, slog.String("header", c.Header))
	}
	for _, q := range c.Quotas {
		attrs = append(attrs, slog.String("quota", q.String()))
	}
	return slog.GroupValue(attrs...)
}

// String redacts the token too, for %v.
func (c Credential) String() string { return "credential " + c.Name }

// Credentials are the credentials a process knows, by name.
type Credentials map[string]Credential

// Names returns the credentials' names, sorted.
func (cs Credentials) Names() []string {
	names := make([]string, 0, len(cs))
	for n := range cs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Pools are named sets of credentials a job may spread its requests over:
// pool name → credential names, in order. A pool's name may not also be a
// credential's.
type Pools map[string][]string

// Validate reports what is wrong with ps given the declared credentials:
// a pool named like a credential, empty, naming an undeclared credential or
// one twice. Errors start with the pool's name.
func (ps Pools) Validate(creds Credentials) error {
	for name, members := range ps {
		if _, clash := creds[name]; clash {
			return fmt.Errorf("%s: a pool may not have the name of a credential", name)
		}
		if len(members) == 0 {
			return fmt.Errorf("%s.credentials: empty", name)
		}
		seen := map[string]bool{}
		for _, m := range members {
			if _, ok := creds[m]; !ok {
				return fmt.Errorf("%s.credentials: %q is not a declared credential", name, m)
			}
			if seen[m] {
				return fmt.Errorf("%s.credentials: %s is listed twice", name, m)
			}
			seen[m] = true
		}
	}
	return nil
}

// resolve returns the credentials that name stands for: the credential of
// that name, or the members of the pool of that name.
func (cs Credentials) resolve(name string, pools Pools) ([]Credential, bool) {
	if c, ok := cs[name]; ok {
		return []Credential{c}, true
	}
	members, ok := pools[name]
	if !ok {
		return nil, false
	}
	out := make([]Credential, 0, len(members))
	for _, m := range members {
		c, ok := cs[m]
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// setAuth adds c's token to h, in the header c names.
func (c Credential) setAuth(h http.Header) {
	name := http.CanonicalHeaderKey(c.Header)
	if name == "" || name == "Authorization" {
		h.Set("Authorization", "Bearer "+c.Token)
		return
	}
	h.Set(name, c.Token)
}
