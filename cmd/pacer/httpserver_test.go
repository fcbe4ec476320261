package main

import (
	"net/http"
	"testing"
)

// Idle kept-alive connections are closed: an http.Server with neither
// IdleTimeout nor ReadTimeout keeps them for ever.
func TestHTTPServerTimeouts(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Fatalf("ReadHeaderTimeout %v, IdleTimeout %v: both must be set", s.ReadHeaderTimeout, s.IdleTimeout)
	}
}
