package ratelimit

import (
	"io"
	"net/http"
)

// Unreplayable returns req in a form that http.Transport will not resend on
// its own. http.Transport silently retries a bodiless GET once when a reused
// connection fails; that second request reaches the upstream and spends its
// quota without passing through the Limiter, so one Wait would cover two
// requests on the wire. A body that is not http.NoBody and has no GetBody
// makes the request unreplayable; being empty, it is probed away and nothing
// is sent for it. Every request that spends a quota must go out this way.
func Unreplayable(req *http.Request) *http.Request {
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
