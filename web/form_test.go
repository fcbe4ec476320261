package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/web"
)

func multipartBody(t testing.TB, fields [][2]string, file string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("ids_file", "ids.txt")
		io.WriteString(fw, file)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// The form asks for each kind's params by name; what they say becomes the
// job's params.
func TestFormAsksForEachKindsParams(t *testing.T) {
	e := newEnv(t)
	_, page := e.do(t, "GET", "/jobs/new?kind=user_tweets", "", nil)
	for _, s := range []string{`<form id="new-job" method="post" action="/jobs" enctype="multipart/form-data">`,
		`<select id="kind" name="kind">`, `<option selected>user_tweets</option>`, `<select id="credential" name="credential">`,
		`<textarea id="ids" name="ids"`, `<input type="file" id="ids_file" name="ids_file">`, "at most 1 MiB",
		`<fieldset class="kind-params" data-kind="tweet_lookup">`, `<fieldset class="kind-params" data-kind="http_get">`,
		`<fieldset class="kind-params" data-kind="annotate">`, `name="user_tweets.start_time"`, `name="http_get.headers"`,
		`<input type="checkbox" name="http_get.follow_link">`, `<button type="submit" id="estimate" formaction="/jobs/estimate">`} {
		if !strings.Contains(page, s) {
			t.Fatalf("the form lacks %q:\n%s", s, page)
		}
	}
	body, ctype := multipartBody(t, [][2]string{{"kind", "user_tweets"}, {"credential", "demo"},
		{"user_tweets.max_results", "50"}, {"user_tweets.tweet_fields", "created_at, author_id"},
		{"tweet_lookup.tweet_fields", "ignored: another kind's"}, {"params", `{"max_items": 7}`}}, "4242\n")
	resp, out := e.do(t, "POST", "/jobs", ctype, body)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %s\n%s", resp.Status, out)
	}
	j, err := e.store.GetJob(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	json.Unmarshal(j.Params, &params)
	if params["max_results"] != 50.0 || params["max_items"] != 7.0 || len(params["tweet_fields"].([]any)) != 2 {
		t.Fatalf("params %s", j.Params)
	}
}

// An error shows beside the field that caused it, with the input kept.
func TestFormErrorBesideItsField(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		fields [][2]string
		field  string
		kept   string
	}{
		{[][2]string{{"kind", "user_tweets"}, {"credential", "demo"}, {"user_tweets.max_results", "many"}, {"ids", "4242"}}, "params.max_results", `value="many"`},
		{[][2]string{{"kind", "user_tweets"}, {"credential", "demo"}, {"user_tweets.max_results", "5000"}, {"ids", "4242"}}, "params.max_results", `value="5000"`},
		{[][2]string{{"kind", "user_tweets"}, {"credential", "demo"}, {"user_tweets.start_time", "yesterday"}, {"ids", "4242"}}, "params.start_time", `value="yesterday"`},
		{[][2]string{{"kind", "http_get"}, {"credential", "demo"}, {"http_get.headers", "no colon here"}, {"ids", "1"}}, "params.headers", "no colon here</textarea>"},
		{[][2]string{{"kind", "tweet_lookup"}, {"credential", "nobody"}, {"ids", "1\n2"}}, "credential", "1\n2</textarea>"},
		{[][2]string{{"kind", "tweet_lookup"}, {"credential", "demo"}, {"ids", "1\n<i>x</i>"}}, "ids", "1\n&lt;i&gt;x&lt;/i&gt;</textarea>"},
	} {
		body, ctype := multipartBody(t, tc.fields, "")
		resp, page := e.do(t, "POST", "/jobs", ctype, body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `<span class="field-error" data-field="`+tc.field+`">`) || !strings.Contains(page, tc.kept) {
			t.Errorf("%v: %s; want the error beside %s and %q kept:\n%s", tc.fields, resp.Status, tc.field, tc.kept, page)
		}
		if n := strings.Count(page, `class="field-error"`); n != 1 {
			t.Errorf("%v: %d field errors shown, want 1", tc.fields, n)
		}
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatalf("bad forms created %d jobs", len(list))
	}
}

// The ETA shows before the job is accepted, and nothing is written.
func TestFormEstimateFirst(t *testing.T) {
	e := newEnv(t)
	var ids strings.Builder
	for i := range 250 {
		fmt.Fprintln(&ids, 1000+i)
	}
	body, ctype := multipartBody(t, [][2]string{{"kind", "tweet_lookup"}, {"credential", "quota"}, {"tweet_lookup.tweet_fields", "created_at"}}, ids.String())
	resp, page := e.do(t, "POST", "/jobs/estimate", ctype, body)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="estimate-result"`) ||
		!strings.Contains(page, "<strong>3</strong> requests for <strong>250</strong> items") || !strings.Contains(page, "<strong>0s</strong>") ||
		!strings.Contains(page, "Quota q-15m (quota): 100 of 100 left") || !strings.Contains(page, `name="tweet_lookup.tweet_fields" value="created_at"`) {
		t.Fatalf("estimate: %s\n%s", resp.Status, page)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatal("an estimate created a job")
	}
	// The API: the same numbers as JSON; errors name the field.
	resp, out := e.do(t, "POST", "/api/v1/jobs/estimate", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"quota","ids":["1","2"]}`))
	var est web.EstimateView
	if err := json.Unmarshal([]byte(out), &est); err != nil || resp.StatusCode != 200 || est.Tasks != 1 || est.Items != 2 ||
		est.ETASeconds == nil || *est.ETASeconds != 0 || len(est.Quotas) != 1 || est.Quotas[0].Remaining != 100 {
		t.Fatalf("API estimate: %s %s", resp.Status, out)
	}
	resp, out = e.do(t, "POST", "/api/v1/jobs/estimate", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1","b"]}`))
	if resp.StatusCode != 400 || !strings.Contains(out, `"field":"ids"`) {
		t.Fatalf("bad estimate: %s %s", resp.Status, out)
	}
	// A job's quota state shows while it runs.
	e.submitIDs(t, []string{"1"})
	form := url.Values{"kind": {"tweet_lookup"}, "credential": {"quota"}, "ids": {"5"}}
	e.do(t, "POST", "/jobs", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if ok, _, _, _, err := e.store.TakeWindow(t.Context(), "q-15m", 100, 15*time.Minute, 0, 40, time.Now()); err != nil || !ok {
		t.Fatalf("TakeWindow: %v %v", ok, err)
	}
	_, page = e.do(t, "GET", "/jobs/2", "", nil)
	if !strings.Contains(page, "Quota q-15m: 60 of 100 left, resets ") {
		t.Fatalf("job page without its quota state:\n%s", page)
	}
	_, page = e.do(t, "GET", "/", "", nil)
	if !strings.Contains(page, `<span class="muted" data-live="quota">q-15m: 60 of 100 left, resets `) {
		t.Fatalf("jobs page without the quota state:\n%s", page)
	}
}
