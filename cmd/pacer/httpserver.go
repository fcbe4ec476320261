package main

import (
	"net/http"
	"time"
)

// newHTTPServer is the http.Server of every process's listener: the pages
// and the API (serve, run) and a worker's /metrics (work). Headers must
// arrive within 10 s, and a kept-alive connection that sends no next
// request is closed after 2 minutes: without IdleTimeout (and with no
// ReadTimeout, which would cut long uploads) an idle connection stays open
// for ever, and a client that opens thousands of them, without any token,
// uses up the process's file descriptors.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}
