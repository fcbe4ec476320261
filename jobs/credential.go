package jobs

import (
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
	Token string // sent as "Authorization: Bearer <Token>"; "" sends none
	// Quotas are what the upstream grants this credential; every request
	// spends one of each. The upstream's rate-limit headers describe the
	// first. None for an upstream without a quota.
	Quotas []ratelimit.Quota
}

// LogValue redacts the token, so a Credential can be logged safely.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", c.Name), slog.Bool("token_set", c.Token != "")}
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

// authTransport adds a credential's bearer token to each request.
type authTransport struct {
	base  http.RoundTripper
	token string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}
