package ratelimit

import (
	"fmt"
	"io"
	"net/http"
)

// Transport is an http.RoundTripper that spends one request of each of
// Quotas from Limiter before handing a request to Base, and reads the
// upstream's rate-limit headers from the answer to correct the ledger (see
// [Limiter.Observe]). A request whose quota is spent for longer than the
// Limiter waits fails with a *ThrottledError, and nothing is sent. So does a
// request the upstream refused for its rate (a 429): its body is closed, the
// quota is blocked in every process until the upstream's reset, and the
// caller retries the request later without counting it as a failure.
type Transport struct {
	Base    http.RoundTripper // default http.DefaultTransport
	Limiter *Limiter          // required when Quotas are set
	// Quotas are the credential's quotas, as declared; the upstream's
	// headers describe the first. None: nothing to spend or observe.
	Quotas []Quota
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if len(t.Quotas) == 0 {
		// Unreplayable even so: every request on the wire must be one the
		// caller counted.
		return base.RoundTrip(unreplayable(req))
	}
	if t.Limiter == nil {
		return nil, fmt.Errorf("ratelimit transport: quota %s without a Limiter", t.Quotas[0].Key)
	}
	ctx := req.Context()
	g, err := t.Limiter.Wait(ctx, t.Quotas...)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := base.RoundTrip(unreplayable(req))
	if err != nil {
		return nil, err
	}
	if err := t.Limiter.Observe(ctx, g, Observe(resp, t.Limiter.now())); err != nil {
		// Throttled, or the ledger is unreachable: either way this answer
		// is not one to act on.
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// unreplayable returns req in a form that http.Transport will not resend on
// its own. http.Transport silently retries a bodiless GET once when a reused
// connection fails; that second request reaches the upstream and spends its
// quota without passing through the Limiter, so one Wait would cover two
// requests on the wire. A body that is not http.NoBody and has no GetBody
// makes the request unreplayable; being empty, it is probed away and nothing
// is sent for it.
func unreplayable(req *http.Request) *http.Request {
	if req.Body != nil && req.Body != http.NoBody {
		return req
	}
	r := req.Clone(req.Context())
	r.Body = emptyBody{}
	r.GetBody = nil
	r.ContentLength = 0
	return r
}

type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }
