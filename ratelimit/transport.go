package ratelimit

import (
	"fmt"
	"io"
	"net/http"
)

// Transport is an http.RoundTripper that spends one request of Quota from
// Limiter before handing each request to Base. A request whose quota is spent
// for longer than the Limiter waits fails with a *ThrottledError (wrapped in
// the *url.Error that http.Client returns), and nothing is sent.
type Transport struct {
	Base    http.RoundTripper // default http.DefaultTransport
	Limiter *Limiter          // required when Quota is set
	Quota   *Quota            // nil: no quota to spend
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Quota != nil {
		if t.Limiter == nil {
			return nil, fmt.Errorf("ratelimit transport: quota %s without a Limiter", t.Quota.Key)
		}
		if err := t.Limiter.Wait(req.Context(), *t.Quota); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(unreplayable(req))
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
