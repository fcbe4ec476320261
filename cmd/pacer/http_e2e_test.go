package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store/postgres/pgtest"
	"github.com/pacerhq/pacer/web"
)

// TestHTTPGet: an http_get job over 5,000 ids through pacer run stores
// 5,000 rows, each fetched once with the credential's own header; a URL
// template off the allowlist is refused at submission, and a redirect that
// leaves the allowlist fails its task without following it.
//
// pacer run keeps its store in PostgreSQL here, not SQLite: the job is 5,000
// one-item tasks, and under -race the pure-Go SQLite engine is instrumented
// too, which made the test take minutes on a loaded machine. The embedded
// store runs the same code path in TestEmbedded.
func TestHTTPGet(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Schema(t)
	var requests, badKey atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("X-Api-Key") != "k3y" {
			badKey.Add(1)
		}
		if r.URL.Path == "/records/leave" {
			http.Redirect(w, r, "http://evil.invalid/steal", http.StatusFound)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/records/")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"ok":true}`, id)
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	config := filepath.Join(dir, "pacer.toml")
	if err := os.WriteFile(config, []byte(`
[credentials.records]
token_env = "RECORDS_KEY"
header = "X-Api-Key"
quota = "1000000/1s"

[http]
allow_hosts = ["127.0.0.1"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RECORDS_KEY": "k3y"}
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", dbURL, "-config", config},
			func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() { cancel(); <-done })
	server := logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1]

	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "rec-%d\n", i)
	}
	ids := filepath.Join(dir, "ids.txt")
	if err := os.WriteFile(ids, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	submit := func(params string, file string) (int64, error) {
		out, _, err := cli(t, "submit", "-server", server, "-kind", "http_get", "-credential", "records", "-params", params, "-ids-file", file)
		if err != nil {
			return 0, err
		}
		id, _ := strconv.ParseInt(regexp.MustCompile(`job (\d+)`).FindStringSubmatch(out)[1], 10, 64)
		return id, nil
	}
	c := &cluster{t: t, server: server}

	id, err := submit(fmt.Sprintf(`{"url_template":%q}`, upstream.URL+"/records/{id}"), ids)
	if err != nil {
		t.Fatal(err)
	}
	v := c.waitFor(id, "succeeded", 2*time.Minute, succeeded)
	if v.ItemsDone != 5000 {
		t.Fatalf("job %+v: want 5000 items", v)
	}
	if results := allResults(t, server, id); len(results) != 5000 || !strings.Contains(string(results[0].Data), `"body":{"id":`) {
		t.Fatalf("%d results (first %+v): want 5000 with the JSON body kept as JSON", len(results), results[0])
	}
	if n := requests.Load(); n != 5000 || badKey.Load() != 0 {
		t.Fatalf("%d requests, %d without the credential's header: want 5000, 0", n, badKey.Load())
	}

	// Off the allowlist: refused at the door, naming the param.
	if _, err := submit(`{"url_template":"http://evil.invalid/{id}"}`, ids); err == nil || !strings.Contains(err.Error(), "params.url_template") || !strings.Contains(err.Error(), "allowlist") {
		t.Fatalf("submit off the allowlist: %v", err)
	}
	// A redirect off the allowlist is not followed: the task fails for good.
	one := filepath.Join(dir, "one.txt")
	os.WriteFile(one, []byte("leave\n"), 0o600)
	id, err = submit(fmt.Sprintf(`{"url_template":%q}`, upstream.URL+"/records/{id}"), one)
	if err != nil {
		t.Fatal(err)
	}
	v = c.waitFor(id, "failed", time.Minute, func(v web.JobView) bool { return v.State == "failed" })
	if !strings.Contains(v.Summary, "evil.invalid") {
		t.Fatalf("redirect job %+v: want it failed, naming the host it refused", v)
	}
}
