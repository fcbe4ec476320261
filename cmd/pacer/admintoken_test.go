package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envFuncOf(kv ...string) func(string) string {
	m := map[string]string{}
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// Without an admin token, serve and run refuse to listen beyond loopback,
// and say why.
func TestServeRefusesBeyondLoopbackWithoutAToken(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "-listen", "0.0.0.0:0"},
		{"run", "-listen", "0.0.0.0:0", "-database-url", "sqlite:" + filepath.Join(t.TempDir(), "p.db")},
		{"serve", "-listen", ":8080"},
	} {
		_, _, err := cli(t, args...)
		if err == nil || !strings.Contains(err.Error(), "refuses to listen beyond loopback") || !strings.Contains(err.Error(), "PACER_ADMIN_TOKEN") {
			t.Errorf("pacer %v: %v; want a refusal naming PACER_ADMIN_TOKEN", args, err)
		}
	}
	// A token too short to be a secret is refused, wherever it comes from.
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"PACER_ADMIN_TOKEN=abc"}, nil, "PACER_ADMIN_TOKEN: the admin token is 3 characters"},
		{nil, []string{"-admin-token-file", short}, "-admin-token-file: the admin token is 3 characters"},
		{nil, []string{"-admin-token-file", empty}, "-admin-token-file: the file is empty"},
		{[]string{"PACER_ADMIN_TOKEN_FILE=" + filepath.Join(t.TempDir(), "none")}, nil, "-admin-token-file: open"},
	} {
		_, _, err := cliEnv(t, tc.env, append([]string{"serve", "-listen", "0.0.0.0:0"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v args %v: %v; want %q", tc.env, tc.args, err, tc.want)
		}
	}
}

// With a token (from a file here), run listens on every interface, and the
// API wants the token.
func TestRunWithATokenListensAnywhere(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "a-long-enough-admin-token"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-listen", "0.0.0.0:0", "-database-url", "sqlite:" + filepath.Join(t.TempDir(), "p.db")},
			envFuncOf("PACER_ADMIN_TOKEN_FILE="+tokenFile), strings.NewReader(""), io.Discard, logs)
	}()
	addr := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]
	if !strings.HasPrefix(addr, "http://0.0.0.0:") && !strings.HasPrefix(addr, "http://[::]:") {
		t.Fatalf("listening on %s, want every interface", addr)
	}
	base := "http://127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:]
	status := func(auth string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/jobs", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status(""), status("Bearer "+token); a != 401 || b != 200 {
		t.Fatalf("API without the token %d, with it %d; want 401 and 200", a, b)
	}
	// An open event stream does not hold the shutdown up: Shutdown would
	// give up after 10s, and run would return its error.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.AddCookie(resp.Cookies()[0])
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	if _, err := stream.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("event stream: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pacer run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("pacer run did not stop")
	}
}
