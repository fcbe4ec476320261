package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/annotate"
	httpkind "github.com/pacerhq/pacer/jobs/http"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/sqlite"
	"github.com/pacerhq/pacer/web"
)

type env struct {
	store   store.Store
	server  *httptest.Server
	handler *web.Server
	ready   error
	svc     *jobs.Service
}

func newEnv(t testing.TB, opts ...func(*web.Config)) *env {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "web.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	lookup, err := tweets.NewLookup(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := &jobs.Registry{}
	kinds.Register(lookup)
	ut, _ := tweets.NewUserTweets(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	uf, _ := tweets.NewUserFollowers(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	get, err := httpkind.NewGet(httpkind.Config{AllowHosts: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	kinds.Register(ut)
	kinds.Register(uf)
	kinds.Register(get)
	kinds.Register(annotate.New())
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds, Credentials: jobs.Credentials{
		"demo":  {Name: "demo", Token: "t0ken"},
		"quota": {Name: "quota", Token: "t0ken", Quotas: []ratelimit.Quota{{Key: "q-15m", Limit: 100, Window: 15 * time.Minute}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	jobs.NewMetrics(reg, kinds.Names(), []string{"demo"})
	reg.MustRegister(jobs.NewJobsCollector(s, kinds.Names(), time.Second), jobs.NewCredentialsCollector(s, []string{"demo", "user-token"}, time.Second))
	e := &env{store: s, svc: svc}
	cfg := web.Config{Jobs: svc, Reader: s, Gatherer: reg, MaxUploadBytes: 1 << 20,
		Ready: func(context.Context) error { return e.ready }}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	e.server = httptest.NewServer(newValidator(t, h))
	t.Cleanup(e.server.Close)
	t.Cleanup(h.Close)
	return e
}

func (e *env) do(t testing.TB, method, path, contentType string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.server.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPISubmitGetListCancel(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json",
		strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","params":{"tweet_fields":"created_at"},"ids":["20","21",22]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, body)
	}
	var job web.JobView
	if err := json.Unmarshal([]byte(body), &job); err != nil {
		t.Fatal(err)
	}
	if job.ItemsTotal != 3 || job.State != store.JobQueued || resp.Header.Get("Location") != "/api/v1/jobs/1" {
		t.Fatalf("created %+v at %q", job, resp.Header.Get("Location"))
	}
	_, body = e.do(t, "GET", "/api/v1/jobs", "", nil)
	if !strings.Contains(body, `"id":1`) {
		t.Fatalf("list: %s", body)
	}
	resp, body = e.do(t, "POST", "/api/v1/jobs/1/cancel", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"state":"cancelled"`) {
		t.Fatalf("cancel: %s %s", resp.Status, body)
	}
	resp, body = e.do(t, "POST", "/api/v1/jobs/1/cancel", "", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"field":"state"`) {
		t.Fatalf("second cancel: %s %s", resp.Status, body)
	}
}

func TestAPIErrorsNameTheField(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		field                           string
	}{
		{"bad id", "POST", "/api/v1/jobs", "application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["1","x2"]}`, 400, "ids"},
		{"no ids", "POST", "/api/v1/jobs", "application/json", `{"kind":"tweet_lookup","credential":"demo"}`, 400, "ids"},
		{"unknown field", "POST", "/api/v1/jobs", "application/json", `{"kind":"tweet_lookup","credentials":"demo"}`, 400, "body"},
		{"not json", "POST", "/api/v1/jobs", "application/json", `{"kind":`, 400, "body"},
		{"wrong content type", "POST", "/api/v1/jobs", "text/csv", `1,2`, 400, "Content-Type"},
		{"too large", "POST", "/api/v1/jobs", "application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["` + strings.Repeat("1", 2<<20) + `"]}`, 413, "ids"},
		{"unknown job", "GET", "/api/v1/jobs/99", "", "", 404, "id"},
		{"bad job id", "GET", "/api/v1/jobs/abc", "", "", 400, "id"},
		{"bad state filter", "GET", "/api/v1/jobs?state=done", "", "", 400, "state"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", "", "", 400, "limit"},
		{"unknown action", "POST", "/api/v1/jobs/1/explode", "", "", 404, "action"},
		{"bad before", "GET", "/api/v1/jobs?before=x", "", "", 400, "before"},
		{"bad results limit", "GET", "/api/v1/jobs/1/results?limit=20000", "", "", 400, "limit"},
		{"bad results status", "GET", "/api/v1/jobs/1/results?status=lost", "", "", 400, "status"},
		{"bad stream status", "GET", "/api/v1/jobs/1/results.jsonl?status=lost", "", "", 400, "status"},
		{"bad stream id", "GET", "/api/v1/jobs/x/results.jsonl", "", "", 400, "id"},
		{"results of no job", "GET", "/api/v1/jobs/99/results", "", "", 404, "id"},
		{"pause no job", "POST", "/api/v1/jobs/99/pause", "", "", 404, "id"},
		{"resume no job", "POST", "/api/v1/jobs/99/resume", "", "", 404, "id"},
		{"rerun no job", "POST", "/api/v1/jobs/99/rerun", "", "", 404, "id"},
		{"estimate bad id", "POST", "/api/v1/jobs/estimate", "application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["1","x2"]}`, 400, "ids"},
		{"estimate unknown kind", "POST", "/api/v1/jobs/estimate", "application/json", `{"kind":"nope","credential":"demo","ids":["1"]}`, 400, "kind"},
		{"estimate bad params", "POST", "/api/v1/jobs/estimate", "application/json", `{"kind":"user_tweets","credential":"demo","params":{"max_results":1},"ids":["1"]}`, 400, "params.max_results"},
		{"estimate too large", "POST", "/api/v1/jobs/estimate", "application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["` + strings.Repeat("1", 2<<20) + `"]}`, 413, "ids"},
		{"bad params", "POST", "/api/v1/jobs", "application/json", `{"kind":"user_tweets","credential":"demo","params":{"start_time":"soon"},"ids":["1"]}`, 400, "params.start_time"},
		{"oversized control body", "POST", "/api/v1/jobs/1/pause", "application/json", strings.Repeat(" ", 1<<20+1), 413, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, tt.method, tt.path, tt.ctype, strings.NewReader(tt.body))
			var out struct {
				Error struct{ Field, Reason string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", body, err)
			}
			if resp.StatusCode != tt.status || out.Error.Field != tt.field || out.Error.Reason == "" {
				t.Fatalf("%s %s: %s %s; want %d naming %q", tt.method, tt.path, resp.Status, body, tt.status, tt.field)
			}
		})
	}
	list, err := e.store.ListJobs(t.Context(), store.JobFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("bad submissions left jobs behind: %d, %v", len(list), err)
	}
}

func TestFormStreamsFileAndShowsErrorsByTheField(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("kind", "tweet_lookup")
	mw.WriteField("credential", "demo")
	mw.WriteField("ids", "5\n6")
	fw, _ := mw.CreateFormFile("ids_file", "ids.txt")
	io.WriteString(fw, "7\n8\n")
	mw.Close()
	resp, body := e.do(t, "POST", "/jobs", mw.FormDataContentType(), &buf)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/1" {
		t.Fatalf("form submit: %s %s", resp.Status, body)
	}
	j, err := e.store.GetJob(t.Context(), 1)
	if err != nil || j.ItemsTotal != 4 {
		t.Fatalf("job %+v, %v: want the pasted and the uploaded ids, 4", j, err)
	}

	form := url.Values{"kind": {"tweet_lookup"}, "credential": {"demo"}, "ids": {"9\n<b>bad</b>"}}
	resp, body = e.do(t, "POST", "/jobs", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad form: %s", resp.Status)
	}
	if !strings.Contains(body, `class="field-error" data-field="ids">— line 2`) {
		t.Fatalf("the error is not next to the ids field:\n%s", body)
	}
	if !strings.Contains(body, "9\n&lt;b&gt;bad&lt;/b&gt;</textarea>") {
		t.Fatalf("the user's input was not kept (escaped):\n%s", body)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"kind": {"tweet_lookup"}, "credential": {"demo"}, "ids": {"9"}}
	resp, _ := e.do(t, "POST", "/jobs", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %s, want 403", resp.Status)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatal("a cross-site POST created a job")
	}
}

// Upstream data is untrusted: a tweet whose text is a script shows as text.
func TestPagesEscapeUpstreamData(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1"]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s %s", resp.Status, body)
	}
	now := time.Now()
	if _, _, err := e.store.ClaimTask(ctx, 1, "w", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err := e.store.CompleteTask(ctx, store.Completion{TaskID: 1, Owner: "w", Now: now, Finish: jobs.Finish,
		Results: []store.Result{{Key: "1", Status: store.ResultOK, Data: []byte(`{"id":"1","text":"<script>alert(1)</script>"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = e.do(t, "GET", "/jobs/1", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s", resp.Status, body)
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the script was not escaped:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy = %q", csp)
	}
	if !strings.Contains(body, "100.0%") || !strings.Contains(body, "succeeded") {
		t.Fatalf("job page does not show the finished job:\n%s", body)
	}
	_, body = e.do(t, "GET", "/", "", nil)
	if !strings.Contains(body, "100.0%") || !strings.Contains(body, `href="/jobs/1"`) {
		t.Fatalf("jobs page:\n%s", body)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t)
	if resp, _ := e.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz %s", resp.Status)
	}
	if resp, _ := e.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 200 {
		t.Fatalf("readyz %s", resp.Status)
	}
	e.ready = errors.New("store down")
	if resp, body := e.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 503 || strings.Contains(body, "store down") {
		t.Fatalf("readyz when not ready: %s %q", resp.Status, body)
	}
	resp, body := e.do(t, "GET", "/metrics", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `pacer_jobs{kind="tweet_lookup",state="queued"} 0`) || !strings.Contains(body, "pacer_upstream_requests_total") {
		t.Fatalf("metrics:\n%s", body)
	}
}

func TestMetricsLint(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	jobs.NewMetrics(reg, []string{"tweet_lookup"}, []string{"demo"})
	reg.MustRegister(jobs.NewJobsCollector(e.store, []string{"tweet_lookup"}, time.Second), jobs.NewCredentialsCollector(e.store, []string{"demo"}, time.Second))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

// FuzzAPISubmit: whatever arrives as a submission gets a clear answer (201,
// a 4xx naming a field, or 413), never an internal error.
func FuzzAPISubmit(f *testing.F) {
	f.Add("application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["20","21"]}`)
	f.Add("application/json", `{"kind":"tweet_lookup","credential":"demo","params":{"tweet_fields":"created_at"},"ids":[20]}`)
	f.Add("application/json", `{"kind":"tweet_lookup","credential":"demo","ids":["1\n2"]}`)
	f.Add("application/json", `{"kind":"tweet_lookup","credential":"demo","params":"x","ids":["1"]}`)
	f.Add("application/x-www-form-urlencoded", "kind=tweet_lookup&credential=demo&ids=1%0A2")
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ntweet_lookup\r\n--X--\r\n")
	f.Add("text/plain", "1\n2\n")
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		if strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Skip("not a header value a client can send")
		}
		resp, out := e.do(t, "POST", "/api/v1/jobs", contentType, strings.NewReader(body))
		switch resp.StatusCode {
		case http.StatusCreated, http.StatusRequestEntityTooLarge:
		case http.StatusBadRequest:
			var v struct {
				Error struct{ Field, Reason string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Error.Field == "" || v.Error.Reason == "" {
				t.Fatalf("400 without a field and a reason: %q", out)
			}
		default:
			t.Fatalf("%s for %q %q: %s", resp.Status, contentType, body, out)
		}
	})
}

// A job waiting for its quota says so, and until when, on both pages and in
// the API.
func TestRateLimitedJobShowsItsWait(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1","2"]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s %s", resp.Status, body)
	}
	now := time.Now()
	if _, _, err := e.store.ClaimTask(ctx, 1, "w", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	until := now.Add(10 * time.Minute).Truncate(time.Second)
	if err := e.store.RetryTask(ctx, store.Retry{TaskID: 1, Owner: "w", RunAt: until, Refund: true, WaitQuota: "x-user-lookup", Now: now}); err != nil {
		t.Fatal(err)
	}
	want := "rate-limited until " + until.UTC().Format("15:04:05") + " UTC (quota x-user-lookup)"
	for _, path := range []string{"/", "/jobs/1"} {
		if _, body := e.do(t, "GET", path, "", nil); !strings.Contains(body, want) {
			t.Fatalf("%s does not say %q:\n%s", path, want, body)
		}
	}
	_, body = e.do(t, "GET", "/api/v1/jobs/1", "", nil)
	var v web.JobView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.RateLimitedQuota != "x-user-lookup" || v.RateLimitedUntil == nil || !v.RateLimitedUntil.Equal(until) {
		t.Fatalf("API job %+v: want rate-limited until %s by x-user-lookup", v, until)
	}
}

func TestRetiredCredentialsShown(t *testing.T) {
	e := newEnv(t)
	if _, body := e.do(t, "GET", "/api/v1/credentials/retired", "", nil); body != "{\"retired\":[]}\n" {
		t.Fatalf("no retired credentials: %q", body)
	}
	if err := e.store.RetireCredential(t.Context(), "user-token", "upstream answered 401 Unauthorized", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, body := e.do(t, "GET", "/", "", nil); !strings.Contains(body, "user-token: upstream answered 401 Unauthorized") {
		t.Fatalf("the jobs page does not show the retired credential:\n%s", body)
	}
	if _, body := e.do(t, "GET", "/metrics", "", nil); !strings.Contains(body, `pacer_credentials_retired{credential="user-token"} 1`) || !strings.Contains(body, `pacer_credentials_retired{credential="demo"} 0`) {
		t.Fatalf("/metrics does not show the retired credential:\n%s", body)
	}
	_, body := e.do(t, "GET", "/api/v1/credentials/retired", "", nil)
	var out struct {
		Retired []store.RetiredCredential `json:"retired"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Retired) != 1 || out.Retired[0].Name != "user-token" {
		t.Fatalf("API: %s (%v)", body, err)
	}
	if resp, body := e.do(t, "POST", "/api/v1/credentials/user-token/restore", "", nil); resp.StatusCode != 200 {
		t.Fatalf("restore: %s %s", resp.Status, body)
	}
	if resp, body := e.do(t, "POST", "/api/v1/credentials/user-token/restore", "", nil); resp.StatusCode != 400 || !strings.Contains(body, `"field":"name"`) {
		t.Fatalf("restoring again: %s %s", resp.Status, body)
	}
	if _, body := e.do(t, "GET", "/", "", nil); strings.Contains(body, "Retired credentials") {
		t.Fatal("a restored credential is still shown as retired")
	}
}

func TestRerunAPI(t *testing.T) {
	e := newEnv(t)
	if resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1","2","3"]}`)); resp.StatusCode != 201 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	if resp, body := e.do(t, "POST", "/api/v1/jobs/1/rerun", "", nil); resp.StatusCode != 400 || !strings.Contains(body, `"field":"state"`) {
		t.Fatalf("rerun of a queued job: %s %s", resp.Status, body)
	}
	e.do(t, "POST", "/api/v1/jobs/1/cancel", "", nil)
	resp, body := e.do(t, "POST", "/api/v1/jobs/1/rerun", "", nil)
	var v web.JobView
	if err := json.Unmarshal([]byte(body), &v); err != nil || resp.StatusCode != 201 || v.ID != 2 || v.ItemsTotal != 3 {
		t.Fatalf("rerun of a cancelled job: %s %s", resp.Status, body)
	}
	if _, page := e.do(t, "GET", "/jobs/1", "", nil); !strings.Contains(page, "Re-run failed") {
		t.Fatal("a cancelled job's page offers no re-run")
	}
}
