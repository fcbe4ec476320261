package web_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/web"
)

// submitIDs submits a tweet_lookup job of the ids through the API.
func (e *env) submitIDs(t testing.TB, ids []string, header ...string) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"kind": "tweet_lookup", "credential": "demo", "ids": ids})
	resp, out := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(string(body)), header...)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, out)
	}
	var v web.JobView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// work claims every due task and runs do on it, as a worker would.
func (e *env) work(t testing.TB, do func(task store.Task, ids []string)) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	due, err := e.store.DispatchDue(ctx, now, time.Hour, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range due {
		task, _, err := e.store.ClaimTask(ctx, id, "w", now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ IDs []string }
		if err := json.Unmarshal(task.Payload, &p); err != nil {
			t.Fatal(err)
		}
		do(task, p.IDs)
	}
}

// complete commits a result for every id of the task: not_found for ids
// ending in 7, ok otherwise, with data from text.
func (e *env) complete(t testing.TB, task store.Task, ids []string, text func(id string) string) {
	t.Helper()
	var rs []store.Result
	for _, id := range ids {
		if strings.HasSuffix(id, "7") {
			rs = append(rs, store.Result{Key: id, Status: store.ResultNotFound, Error: "Not Found Error: " + id})
			continue
		}
		data, _ := json.Marshal(map[string]string{"id": id, "text": text(id)})
		rs = append(rs, store.Result{Key: id, Status: store.ResultOK, Data: data})
	}
	if _, err := e.store.CompleteTask(t.Context(), store.Completion{TaskID: task.ID, Owner: "w", Now: time.Now(), Finish: jobs.Finish, Results: rs, Requests: 1}); err != nil {
		t.Fatal(err)
	}
}

var nextLink = regexp.MustCompile(`<a rel="next" href="([^"]+)">`)
var resultRow = regexp.MustCompile(`<tr><td>([^<]*)</td><td>(ok|not_found)</td>`)

func TestJobPageResultsAndExports(t *testing.T) {
	e := newEnv(t)
	const n = 5100 // more than an export page
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(100000 + i)
	}
	id := e.submitIDs(t, ids)
	failedTask := int64(0)
	e.work(t, func(task store.Task, ids []string) {
		if failedTask == 0 {
			failedTask = task.ID
			if _, err := e.store.FailTask(t.Context(), store.Failure{TaskID: task.ID, Owner: "w", Error: "upstream answered 500", Now: time.Now(), Finish: jobs.Finish}); err != nil {
				t.Fatal(err)
			}
			return
		}
		e.complete(t, task, ids, func(id string) string { return "=HYPERLINK(\"x\") " + id })
	})
	want, err := e.store.ListResults(t.Context(), id, store.ResultFilter{Limit: 10000})
	if err != nil || len(want) != n-100 {
		t.Fatalf("store has %d results, %v", len(want), err)
	}

	// The page: counters, the failed task with its items, results by key.
	resp, page := e.do(t, "GET", fmt.Sprintf("/jobs/%d", id), "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s\n%s", resp.Status, page)
	}
	for _, s := range []string{`<progress id="progress" value="5100" max="5100">`, `<span id="items-failed">100</span>`,
		`<table id="errors">`, "100000, 100001, 100002, 100003, 100004 … (100 items)", "upstream answered 500",
		`id="export-csv" href="/jobs/1/results.csv"`, `id="export-jsonl" href="/jobs/1/results.jsonl"`} {
		if !strings.Contains(page, s) {
			t.Fatalf("job page lacks %q:\n%s", s, page)
		}
	}
	// Page through the not_found results by the next links.
	var got []string
	path := fmt.Sprintf("/jobs/%d?status=not_found", id)
	for pages := 0; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("the next links do not end")
		}
		_, page := e.do(t, "GET", path, "", nil)
		for _, m := range resultRow.FindAllStringSubmatch(page, -1) {
			if m[2] != "not_found" {
				t.Fatalf("status filter let %q through", m[0])
			}
			got = append(got, m[1])
		}
		path = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			path = fmt.Sprintf("/jobs/%d", id) + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	var wantNF []string
	for _, r := range want {
		if r.Status == store.ResultNotFound {
			wantNF = append(wantNF, r.Key)
		}
	}
	if strings.Join(got, ",") != strings.Join(wantNF, ",") {
		t.Fatalf("paging the not_found results gave %d keys, want %d", len(got), len(wantNF))
	}

	// CSV: every row, in key order, formulas defused.
	resp, body := e.do(t, "GET", fmt.Sprintf("/jobs/%d/results.csv", id), "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "job-1-results.csv") {
		t.Fatalf("CSV: %s %v", resp.Status, resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != len(want)+1 || strings.Join(recs[0], ",") != "key,status,fetched_at,error,data" {
		t.Fatalf("CSV: %d records, %v", len(recs), err)
	}
	for i, r := range want {
		rec := recs[i+1]
		if rec[0] != r.Key || rec[1] != string(r.Status) || rec[3] != r.Error || rec[4] != string(r.Data) {
			t.Fatalf("CSV row %d = %q, want %+v", i+1, rec, r)
		}
	}
	// JSON Lines, from the page and from the API: the API's result objects.
	for _, path := range []string{"/jobs/1/results.jsonl", "/api/v1/jobs/1/results.jsonl"} {
		resp, body := e.do(t, "GET", path, "", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%s: %s %v", path, resp.Status, resp.Header)
		}
		sc := bufio.NewScanner(strings.NewReader(body))
		i := 0
		for ; sc.Scan(); i++ {
			var v web.ResultView
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Key != want[i].Key || v.Status != want[i].Status {
				t.Fatalf("%s line %d = %s (%v), want key %s", path, i+1, sc.Text(), err, want[i].Key)
			}
		}
		if i != len(want) {
			t.Fatalf("%s: %d lines, want %d", path, i, len(want))
		}
	}
	_, body = e.do(t, "GET", "/jobs/1/results.jsonl?status=not_found", "", nil)
	if lines := strings.Count(body, "\n"); lines != len(wantNF) {
		t.Fatalf("filtered JSON Lines: %d lines, want %d", lines, len(wantNF))
	}
	if resp, _ := e.do(t, "GET", "/jobs/99/results.csv", "", nil); resp.StatusCode != 404 {
		t.Fatalf("export of no job: %s", resp.Status)
	}
	if resp, body := e.do(t, "GET", "/api/v1/jobs/1/results.jsonl?status=bad", "", nil); resp.StatusCode != 400 || !strings.Contains(body, `"field":"status"`) {
		t.Fatalf("bad status: %s %s", resp.Status, body)
	}
}

// The live stream sends a job's progress as it changes and ends when the
// job finishes; the list's stream sends every job shown.
func TestLiveEvents(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.LiveInterval = 10 * time.Millisecond })
	id := e.submitIDs(t, []string{"1", "2", "3"})
	_, page := e.do(t, "GET", "/jobs/1", "", nil)
	if !strings.Contains(page, `data-events="/jobs/1/events"`) || !strings.Contains(page, `<script src="/static/pacer.js" defer></script>`) ||
		!strings.Contains(page, `<noscript><meta http-equiv="refresh"`) {
		t.Fatalf("the job page does not wire its live updates:\n%s", page)
	}
	resp, err := http.Get(e.server.URL + "/jobs/1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	events := make(chan string)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- sc.Text()[len("data: "):]
			}
		}
	}()
	first := <-events
	if !strings.Contains(first, `"pct":"0.0%"`) || !strings.Contains(first, `"state":"queued"`) {
		t.Fatalf("first event %s", first)
	}
	e.work(t, func(task store.Task, ids []string) { e.complete(t, task, ids, func(string) string { return "hi" }) })
	var last string
	for ev := range events { // ends when the stream does
		last += ev + "\n"
	}
	if !strings.Contains(last, `"pct":"100.0%"`) || !strings.Contains(last, `"state":"succeeded"`) || !strings.Contains(last, `"done":"3"`) {
		t.Fatalf("events after the job finished:\n%s", last)
	}
	_ = id

	// The list's stream never ends by itself: Close ends it.
	resp2, err := http.Get(e.server.URL + "/events?kind=tweet_lookup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	sc := bufio.NewScanner(resp2.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	if !strings.Contains(sc.Text(), `"id":1`) {
		t.Fatalf("list event %q", sc.Text())
	}
	e.handler.Close()
	for sc.Scan() {
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("the list's stream did not end cleanly on Close: %v", err)
	}
	if resp, body := e.do(t, "GET", "/jobs/99/events", "", nil); resp.StatusCode != 404 {
		t.Fatalf("events of no job: %s %s", resp.Status, body)
	}
}

// Pause, resume and the results pages through the API, as the CLI uses
// them.
func TestAPIPauseResumeAndResultPages(t *testing.T) {
	e := newEnv(t)
	id := e.submitIDs(t, []string{"11", "12", "13", "14", "17"})
	for _, step := range []struct{ action, state string }{{"pause", "paused"}, {"resume", "queued"}} {
		resp, body := e.do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/%s", id, step.action), "", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `"state":"`+step.state+`"`) {
			t.Fatalf("%s: %s %s", step.action, resp.Status, body)
		}
	}
	e.work(t, func(task store.Task, ids []string) { e.complete(t, task, ids, func(string) string { return "<b>" }) })
	var keys []string
	after := ""
	for pages := 0; ; pages++ {
		_, body := e.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d/results?limit=2&after=%s", id, after), "", nil)
		var page struct {
			Results []web.ResultView `json:"results"`
			Next    string           `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil || pages > 5 {
			t.Fatalf("page %d: %s %v", pages, body, err)
		}
		for _, r := range page.Results {
			keys = append(keys, r.Key)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if strings.Join(keys, ",") != "11,12,13,14,17" {
		t.Fatalf("paged keys %v", keys)
	}
	_, body := e.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d/results?status=not_found", id), "", nil)
	if !strings.Contains(body, `"key":"17"`) || strings.Contains(body, `"key":"11"`) {
		t.Fatalf("status filter: %s", body)
	}
}
