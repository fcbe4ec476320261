package web

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// noJobs and noReader satisfy New; the requests below never reach them.
type noJobs struct{ JobService }
type noReader struct{ Reader }

// A client that has not shown the token cannot hold a connection by
// trickling its body: the login form's, or that of a request refused for
// want of a token or session, which the server reads before it would reuse
// the connection.
func TestSlowBodyWithoutTokenIsCut(t *testing.T) {
	s, err := New(Config{Jobs: noJobs{}, Reader: noReader{}, AdminToken: "slow-body-admin-token", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.anonReadTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(s)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, path := range []string{"/login", "/jobs/1/cancel", "/api/v1/jobs/1/cancel"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// 1000 bytes promised, 8 sent, and then nothing.
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=ab", path, addr)
		c.SetReadDeadline(time.Now().Add(30 * time.Second)) // generous: the server's limit is 100 ms
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("POST %s with a stalled body: the server still held the connection: %v", path, err)
		}
		c.Close()
	}
}
