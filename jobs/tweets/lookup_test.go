package tweets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/sandbox"
)

// bearer is a test client transport that authenticates as the worker's
// does, and may rewrite a request first.
type bearer struct {
	token   string
	rewrite func(*http.Request)
	base    http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	if b.rewrite != nil {
		b.rewrite(req)
	}
	base := b.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

func client(token string) *http.Client { return &http.Client{Transport: &bearer{token: token}} }

// roundTripFunc is a stub transport for answers the sandbox cannot give.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newLookup(t testing.TB, baseURL string) *tweets.Lookup {
	t.Helper()
	l, err := tweets.NewLookup(tweets.Config{BaseURL: baseURL})
	if err != nil {
		t.Fatalf("NewLookup(%q): %v", baseURL, err)
	}
	return l
}

func serveSandbox(t testing.TB, cfg sandbox.Config) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}

// plan runs Plan over input and returns the tasks it emitted.
func plan(t testing.TB, l *tweets.Lookup, input io.Reader) ([]jobs.TaskSpec, error) {
	t.Helper()
	var tasks []jobs.TaskSpec
	err := l.Plan(t.Context(), nil, input, func(ts jobs.TaskSpec) error {
		tasks = append(tasks, ts)
		return nil
	})
	return tasks, err
}

func payloadIDs(t testing.TB, ts jobs.TaskSpec) []string {
	t.Helper()
	var p struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(ts.Payload, &p); err != nil {
		t.Fatalf("payload %s: %v", ts.Payload, err)
	}
	return p.IDs
}

// idLines returns n consecutive ids from start, one per line, and the ids.
func idLines(start uint64, n int) (string, []string) {
	var b strings.Builder
	ids := make([]string, n)
	for i := range n {
		ids[i] = strconv.FormatUint(start+uint64(i), 10)
		b.WriteString(ids[i] + "\n")
	}
	return b.String(), ids
}

func TestNewLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base    string
		wantErr string
	}{
		{"", ""},
		{"https://api.x.com", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://127.0.0.1:8080/mounted/x/", ""},
		{"api.x.com", "want an absolute http or https URL"},
		{"/2/tweets", "want an absolute http or https URL"},
		{"ftp://api.x.com", "want an absolute http or https URL"},
		{"http://", "no host"},
		{"https://user:hunter2@api.x.com", "credentials do not belong in a URL"},
		{"https://api.x.com?x=1", "no query or fragment"},
		{"https://api.x.com#top", "no query or fragment"},
		{"http://[::1", "base url"},
	}
	for _, tc := range tests {
		t.Run(tc.base, func(t *testing.T) {
			t.Parallel()
			l, err := tweets.NewLookup(tweets.Config{BaseURL: tc.base})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewLookup: %v", err)
				}
				if l.Name() != "tweet_lookup" {
					t.Errorf("Name() = %q", l.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewLookup(%q) = %v, want error %q", tc.base, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	tests := []struct {
		name      string
		params    string
		want      string
		wantField string
		wantIn    string
	}{
		{"nothing", ``, `{}`, "", ""},
		{"null", ` null `, `{}`, "", ""},
		{"empty object", `{}`, `{}`, "", ""},
		{"lists", `{"tweet_fields":["lang","created_at","lang"],"expansions":["author_id"],"user_fields":["username"]}`,
			`{"expansions":["author_id"],"tweet_fields":["created_at","lang"],"user_fields":["username"]}`, "", ""},
		{"comma string", `{"tweet_fields":" public_metrics, author_id,,created_at "}`,
			`{"tweet_fields":["author_id","created_at","public_metrics"]}`, "", ""},
		{"commas inside list items", `{"tweet_fields":["lang,text","id"]}`, `{"tweet_fields":["id","lang","text"]}`, "", ""},
		{"null and empty lists", `{"tweet_fields":null,"expansions":[],"user_fields":""}`, `{}`, "", ""},
		{"every tweet field", `{"tweet_fields":"article,attachments,author_id,card_uri,community_id,context_annotations,conversation_id,created_at,display_text_range,edit_controls,edit_history_tweet_ids,entities,geo,id,in_reply_to_user_id,lang,media_metadata,non_public_metrics,note_tweet,organic_metrics,possibly_sensitive,promoted_metrics,public_metrics,referenced_tweets,reply_settings,scopes,source,text,withheld"}`,
			`{"tweet_fields":["article","attachments","author_id","card_uri","community_id","context_annotations","conversation_id","created_at","display_text_range","edit_controls","edit_history_tweet_ids","entities","geo","id","in_reply_to_user_id","lang","media_metadata","non_public_metrics","note_tweet","organic_metrics","possibly_sensitive","promoted_metrics","public_metrics","referenced_tweets","reply_settings","scopes","source","text","withheld"]}`, "", ""},
		{"unknown tweet field", `{"tweet_fields":["created_at","likes"]}`, "", "params.tweet_fields", `unknown tweet field "likes"; X accepts article, attachments`},
		{"user field as tweet field", `{"tweet_fields":"username"}`, "", "params.tweet_fields", `unknown tweet field "username"`},
		{"unknown expansion", `{"expansions":"author"}`, "", "params.expansions", `unknown expansion "author"`},
		{"unknown user field", `{"user_fields":["shoe_size"]}`, "", "params.user_fields", `unknown user field "shoe_size"`},
		{"case matters", `{"tweet_fields":"Lang"}`, "", "params.tweet_fields", `unknown tweet field "Lang"`},
		{"number", `{"tweet_fields":3}`, "", "params.tweet_fields", "must be a list of strings or a comma-separated string"},
		{"list of numbers", `{"expansions":[1]}`, "", "params.expansions", "must be a list of strings"},
		{"object value", `{"user_fields":{}}`, "", "params.user_fields", "must be a list of strings"},
		{"unknown param", `{"max_results":10}`, "", "params.max_results", "unknown param; known params are expansions, tweet_fields, user_fields"},
		{"X's spelling", `{"tweet.fields":"lang"}`, "", "params.tweet.fields", "did you mean tweet_fields?"},
		{"not an object", `["lang"]`, "", "params", "must be a JSON object"},
		{"string", `"lang"`, "", "params", "must be a JSON object"},
		{"invalid JSON", `{"tweet_fields":`, "", "params", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := l.Prepare(json.RawMessage(tc.params))
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Prepare(%s): %v", tc.params, err)
				}
				if string(got) != tc.want {
					t.Fatalf("Prepare(%s) = %s, want %s", tc.params, got, tc.want)
				}
				again, err := l.Prepare(got)
				if err != nil || string(again) != string(got) {
					t.Fatalf("Prepare is not idempotent: %s → %s, %v", got, again, err)
				}
				return
			}
			var verr *jobs.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Prepare(%s) = %s, %v; want a *jobs.ValidationError", tc.params, got, err)
			}
			if verr.Field != tc.wantField || !strings.Contains(verr.Reason, tc.wantIn) {
				t.Fatalf("Prepare(%s): field %q reason %q; want %q containing %q", tc.params, verr.Field, verr.Reason, tc.wantField, tc.wantIn)
			}
		})
	}
}

func TestPlanBatches(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	input, ids := idLines(1_460_000_000_000_000_000, 250)
	tasks, err := plan(t, l, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("%d tasks, want 3", len(tasks))
	}
	for i, want := range [][]string{ids[:100], ids[100:200], ids[200:]} {
		got := payloadIDs(t, tasks[i])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("task %d ids %v, want %v", i, got, want)
		}
		if tasks[i].Items != len(want) {
			t.Errorf("task %d Items %d, want %d", i, tasks[i].Items, len(want))
		}
	}
}

func TestPlanLines(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	tests := []struct {
		name  string
		input string
		want  [][]string
	}{
		{"blank lines and comments",
			"# my ids\n\n20\n   \n  21  # a reply\n#22\n\t23\n", [][]string{{"20", "21", "23"}}},
		{"CRLF and no final newline", "20\r\n21\r\n22", [][]string{{"20", "21", "22"}}},
		{"byte order mark", "\uFEFF20\n21\n", [][]string{{"20", "21"}}},
		{"leading zeros are the same id", "7\n007\n8\n", [][]string{{"7", "8"}}},
		{"duplicates in a batch dropped", "5\n6\n5\n5\n6\n", [][]string{{"5", "6"}}},
		{"a comment line of 1024 bytes", "# " + strings.Repeat("x", 1022) + "\n9\n", [][]string{{"9"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, err := plan(t, l, strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, ts := range tasks {
				got = append(got, payloadIDs(t, ts))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("batches %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanDuplicatesAcrossBatchesKept(t *testing.T) {
	t.Parallel()
	input, ids := idLines(1000, 100)
	tasks, err := plan(t, newLookup(t, ""), strings.NewReader(input+ids[0]+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || !reflect.DeepEqual(payloadIDs(t, tasks[1]), []string{ids[0]}) {
		t.Errorf("tasks %v: want the repeat in a second batch (no set across batches)", tasks)
	}
}

func TestPlanErrors(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	tests := []struct {
		name   string
		input  io.Reader
		reason string
	}{
		{"nil reader", nil, "no ids given"},
		{"empty", strings.NewReader(""), "no ids given"},
		{"comments only", strings.NewReader("# nothing yet\n\n"), "no ids given"},
		{"letters", strings.NewReader("1\n2\n3\n4\n5\n6\n12a\n"), `line 7: "12a" is not a tweet id (digits only)`},
		{"zero", strings.NewReader("0\n"), `line 1: "0" is not a tweet id (ids start at 1)`},
		{"too many digits", strings.NewReader("1\n12345678901234567890\n"), `line 2: "12345678901234567890" is not a tweet id (at most 19 digits)`},
		{"two per line", strings.NewReader("1 2\n"), `line 1: "1 2" is not a tweet id (digits only)`},
		{"1025 bytes", strings.NewReader("1\n# " + strings.Repeat("x", 1023) + "\n"), "line 2: longer than 1024 bytes"},
		{"a megabyte", strings.NewReader("1\n2\n" + strings.Repeat("9", 1<<20)), "line 3: longer than 1024 bytes"},
		{"error after 100 ids", strings.NewReader(strings.Repeat("5\n", 100) + "x\n"), `line 101: "x" is not a tweet id`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := plan(t, l, tc.input)
			var verr *jobs.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err %v, want a *jobs.ValidationError", err)
			}
			if verr.Field != "ids" || !strings.Contains(verr.Reason, tc.reason) {
				t.Fatalf("field %q reason %q; want ids, %q", verr.Field, verr.Reason, tc.reason)
			}
		})
	}
}

func TestPlanPassesErrorsThrough(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	input, _ := idLines(1, 150)

	errFull := errors.New("queue full")
	err := l.Plan(t.Context(), nil, strings.NewReader(input), func(jobs.TaskSpec) error { return errFull })
	if err != errFull {
		t.Errorf("emit's error came back as %v", err)
	}

	errDisk := errors.New("disk on fire")
	err = l.Plan(t.Context(), nil, iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(input))), func(jobs.TaskSpec) error { return nil })
	if !errors.Is(err, iotest.ErrTimeout) || !strings.Contains(err.Error(), "read items at line 2") {
		t.Errorf("read error came back as %v", err)
	}
	err = l.Plan(t.Context(), nil, iotest.ErrReader(errDisk), func(jobs.TaskSpec) error { return nil })
	if !errors.Is(err, errDisk) {
		t.Errorf("read error came back as %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = l.Plan(ctx, nil, strings.NewReader(input), func(jobs.TaskSpec) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Plan returned %v", err)
	}
}

// lineSource yields n ids, one per line, and records how many it has given.
type lineSource struct {
	n, given int
	buf      []byte
}

func (s *lineSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.given < s.n {
		s.buf = strconv.AppendInt(s.buf, int64(1_000_000+s.given), 10)
		s.buf = append(s.buf, '\n')
		s.given++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// TestPlanStreams checks that Plan emits as it reads instead of reading all
// its input first.
func TestPlanStreams(t *testing.T) {
	t.Parallel()
	src := &lineSource{n: 50_000}
	tasks := 0
	err := newLookup(t, "").Plan(t.Context(), nil, src, func(ts jobs.TaskSpec) error {
		tasks++
		if behind := src.given - tasks*tweets.BatchSize; behind > 1000 {
			t.Fatalf("task %d emitted after reading %d ids: Plan is not streaming", tasks, src.given)
		}
		return nil
	})
	if err != nil || tasks != 500 {
		t.Fatalf("Plan: %d tasks, %v", tasks, err)
	}
}

// TestDoAgainstSandbox runs a planned job's tasks against the sandbox and
// checks each row against the sandbox's own predictions.
func TestDoAgainstSandbox(t *testing.T) {
	t.Parallel()
	sb, srv := serveSandbox(t, sandbox.Config{Limit: 10, MissingPercent: 20, Tokens: []string{"research-token"}})
	l := newLookup(t, srv.URL)
	params, err := l.Prepare(json.RawMessage(`{"tweet_fields":"created_at,author_id,lang,public_metrics,conversation_id","expansions":"author_id","user_fields":"username"}`))
	if err != nil {
		t.Fatal(err)
	}
	input, ids := idLines(1_600_000_000_000_000_000, 250)
	tasks, err := plan(t, l, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	var rows []jobs.Row
	for i, ts := range tasks {
		out, err := l.Do(t.Context(), jobs.Attempt{JobID: 1, TaskID: int64(i + 1), Number: 1, Params: params, Payload: ts.Payload, HTTP: client("research-token")})
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if len(out.Next) != 0 {
			t.Errorf("task %d planned follow-ups: %v", i, out.Next)
		}
		rows = append(rows, out.Rows...)
	}
	if len(rows) != len(ids) {
		t.Fatalf("%d rows for %d ids", len(rows), len(ids))
	}
	var ok, notFound, protected int
	for i, row := range rows {
		id, _ := strconv.ParseUint(ids[i], 10, 64)
		if row.Key != ids[i] {
			t.Fatalf("row %d key %s, want %s", i, row.Key, ids[i])
		}
		switch {
		case sandbox.Protected(id, sb.MissingPercent()):
			protected++
			want := fmt.Sprintf("Sorry, you are not authorized to see the Tweet with ids: [%d].", id)
			if row.Status != jobs.StatusNotFound || row.Reason != want || row.Data != nil {
				t.Errorf("protected %d: %+v", id, row)
			}
		case sandbox.Missing(id, sb.MissingPercent()):
			notFound++
			want := fmt.Sprintf("Could not find tweet with ids: [%d].", id)
			if row.Status != jobs.StatusNotFound || row.Reason != want || row.Data != nil {
				t.Errorf("deleted %d: %+v", id, row)
			}
		default:
			ok++
			var tw struct {
				ID, Text, CreatedAt, AuthorID, Lang, ConversationID string
				PublicMetrics                                       map[string]int `json:"public_metrics"`
			}
			if row.Status != jobs.StatusOK || json.Unmarshal(row.Data, &tw) != nil {
				t.Fatalf("found %d: %+v", id, row)
			}
			if tw.ID != ids[i] || tw.Text == "" || tw.PublicMetrics == nil {
				t.Errorf("tweet %d: %s", id, row.Data)
			}
			if strings.Contains(string(row.Data), "includes") || strings.Contains(string(row.Data), "username") {
				t.Errorf("tweet %d carries includes: %s", id, row.Data)
			}
		}
	}
	if ok == 0 || notFound == 0 || protected == 0 {
		t.Errorf("want each kind of row: %d ok, %d deleted, %d protected", ok, notFound, protected)
	}
	st := sb.Stats()
	if st.Served != 3 || st.Requests != 3 || st.IDsRequested != 250 || st.IDsRepeated != 0 || st.OverQuota != 0 {
		t.Errorf("sandbox stats %+v", st)
	}
}

func TestDoUpstreamErrors(t *testing.T) {
	t.Parallel()
	payload := json.RawMessage(`{"ids":["20","21","22"]}`)
	tests := []struct {
		name      string
		cfg       sandbox.Config
		token     string
		path      string // appended to the sandbox's URL for BaseURL
		rewrite   func(*http.Request)
		permanent bool
		status    int // the *StatusError's, or 0 for none
		wantIn    string
	}{
		{name: "401", cfg: sandbox.Config{Tokens: []string{"good"}}, token: "bad-secret-token",
			permanent: true, status: 401, wantIn: `upstream answered 401 Unauthorized: {"title":"Unauthorized"`},
		{name: "400", token: "sandbox-secret", rewrite: func(r *http.Request) { r.URL.RawQuery += "&bogus=1" },
			permanent: true, status: 400, wantIn: "upstream answered 400 Bad Request"},
		{name: "404", token: "sandbox-secret", path: "/not-x", permanent: true, status: 404, wantIn: "404 Not Found"},
		{name: "429", cfg: sandbox.Config{Limit: 1}, token: "sandbox-secret", status: 429, wantIn: "Rate limit exceeded"},
		{name: "503", cfg: sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 100}}, token: "sandbox-secret", status: 503, wantIn: "503 Service Unavailable"},
		{name: "malformed", cfg: sandbox.Config{Faults: sandbox.Faults{MalformedPercent: 100}}, token: "sandbox-secret", wantIn: "decode tweet lookup response"},
		{name: "dropped", cfg: sandbox.Config{Faults: sandbox.Faults{DropPercent: 100}}, token: "sandbox-secret", wantIn: "tweet lookup of 3 ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := serveSandbox(t, tc.cfg)
			l := newLookup(t, srv.URL+tc.path)
			a := jobs.Attempt{Payload: payload, HTTP: &http.Client{Transport: &bearer{token: tc.token, rewrite: tc.rewrite}}}
			if tc.status == 429 {
				if _, err := l.Do(t.Context(), a); err != nil {
					t.Fatalf("first request: %v", err)
				}
			}
			out, err := l.Do(t.Context(), a)
			if err == nil {
				t.Fatalf("no error; rows %v", out.Rows)
			}
			if got := jobs.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", got, tc.permanent, err)
			}
			var serr *tweets.StatusError
			if gotStatus := errors.As(err, &serr); gotStatus != (tc.status != 0) || (gotStatus && serr.StatusCode != tc.status) {
				t.Errorf("status error %v, want status %d: %v", serr, tc.status, err)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q, want it to contain %q", err, tc.wantIn)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestDoStatusClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		body      string
		permanent bool
	}{
		{400, `{"title":"Invalid Request"}`, true},
		{401, `{"title":"Unauthorized"}`, true},
		{403, `{"title":"Forbidden","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project."}`, true},
		{404, ``, true},
		{410, ``, true},
		{408, ``, false},
		{429, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, false},
		{500, `{"title":"Internal Server Error"}`, false},
		{502, `<html>Bad Gateway</html>`, false},
		{504, ``, false},
		{302, ``, false},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			stub := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(tc.body)), Header: http.Header{}, Request: r}, nil
			})
			_, err := newLookup(t, "").Do(t.Context(), jobs.Attempt{Payload: json.RawMessage(`{"ids":["20"]}`), HTTP: &http.Client{Transport: stub}})
			var serr *tweets.StatusError
			if !errors.As(err, &serr) || serr.StatusCode != tc.status {
				t.Fatalf("err %v, want a *StatusError %d", err, tc.status)
			}
			if jobs.IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", jobs.IsPermanent(err), tc.permanent)
			}
		})
	}
}

func TestDoBodies(t *testing.T) {
	t.Parallel()
	answer := func(body io.Reader) *http.Client {
		return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: io.NopCloser(body), Header: http.Header{}, Request: r}, nil
		})}
	}
	l := newLookup(t, "")
	payload := json.RawMessage(`{"ids":["20","21"]}`)

	out, err := l.Do(t.Context(), jobs.Attempt{Payload: payload, HTTP: answer(strings.NewReader(`{"data":[{"id":"21","text":"hi"}]}`))})
	if err != nil {
		t.Fatal(err)
	}
	want := []jobs.Row{
		{Key: "20", Status: jobs.StatusNotFound, Reason: "absent from the upstream's response"},
		{Key: "21", Status: jobs.StatusOK, Data: json.RawMessage(`{"id":"21","text":"hi"}`)},
	}
	if !reflect.DeepEqual(out.Rows, want) {
		t.Errorf("rows %+v, want %+v", out.Rows, want)
	}

	huge := io.MultiReader(strings.NewReader(`{"data":[{"id":"20","text":"`), strings.NewReader(strings.Repeat("a", tweets.MaxBodyBytes)), strings.NewReader(`"}]}`))
	_, err = l.Do(t.Context(), jobs.Attempt{Payload: payload, HTTP: answer(huge)})
	if err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized body: %v", err)
	}

	cut := iotest.DataErrReader(io.MultiReader(strings.NewReader(`{"data":[`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	_, err = l.Do(t.Context(), jobs.Attempt{Payload: payload, HTTP: answer(cut)})
	if !errors.Is(err, io.ErrUnexpectedEOF) || jobs.IsPermanent(err) {
		t.Errorf("cut-off body: %v", err)
	}
}

// throttled stands in for *ratelimit.ThrottledError.
type throttled struct{ key string }

func (e *throttled) Error() string { return "quota " + e.key + " exhausted" }

func TestDoWrapsTransportErrors(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, &throttled{key: "x-app"}
	})}
	_, err := l.Do(t.Context(), jobs.Attempt{Payload: json.RawMessage(`{"ids":["20"]}`), HTTP: hc})
	var th *throttled
	if !errors.As(err, &th) || th.key != "x-app" || jobs.IsPermanent(err) {
		t.Errorf("err %v: want the transport's error reachable with errors.As, not permanent", err)
	}

	_, srv := serveSandbox(t, sandbox.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = newLookup(t, srv.URL).Do(ctx, jobs.Attempt{Payload: json.RawMessage(`{"ids":["20"]}`), HTTP: client("t")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Do returned %v", err)
	}
}

func TestDoRequest(t *testing.T) {
	t.Parallel()
	var got *http.Request
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Header: http.Header{}, Request: r}, nil
	})}
	l := newLookup(t, "http://sandbox.test/mounted/")
	params, _ := l.Prepare(json.RawMessage(`{"tweet_fields":"lang,created_at","user_fields":"username","expansions":"author_id"}`))
	if _, err := l.Do(t.Context(), jobs.Attempt{Params: params, Payload: json.RawMessage(`{"ids":["20","21"]}`), HTTP: hc}); err != nil {
		t.Fatal(err)
	}
	want := "http://sandbox.test/mounted/2/tweets?ids=20,21&expansions=author_id&tweet.fields=created_at,lang&user.fields=username"
	if got.Method != http.MethodGet || got.URL.String() != want {
		t.Errorf("request %s %s, want GET %s", got.Method, got.URL, want)
	}
	if got.Header.Get("Authorization") != "" {
		t.Errorf("Do set Authorization itself: %q", got.Header.Get("Authorization"))
	}
}

func TestDoBadTask(t *testing.T) {
	t.Parallel()
	l := newLookup(t, "")
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a bad task reached the upstream")
		return nil, errors.New("unreachable")
	})}
	_, hundredOne := idLines(1, 101)
	big, _ := json.Marshal(map[string][]string{"ids": hundredOne})
	tests := []struct {
		name            string
		params, payload string
	}{
		{"payload not JSON", ``, `{"ids":`},
		{"payload not an object", ``, `[]`},
		{"no ids", ``, `{"ids":[]}`},
		{"101 ids", ``, string(big)},
		{"bad id", ``, `{"ids":["12a"]}`},
		{"non-canonical id", ``, `{"ids":["007"]}`},
		{"bad params", `{"tweet_fields":"likes"}`, `{"ids":["1"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := l.Do(t.Context(), jobs.Attempt{Params: json.RawMessage(tc.params), Payload: json.RawMessage(tc.payload), HTTP: hc})
			if !jobs.IsPermanent(err) {
				t.Errorf("err %v, want permanent", err)
			}
		})
	}
	if _, err := l.Do(t.Context(), jobs.Attempt{Payload: json.RawMessage(`{"ids":["1"]}`)}); !jobs.IsPermanent(err) {
		t.Errorf("nil HTTP: %v", err)
	}
}

// FuzzPrepare checks that Prepare never panics on submitted params, returns
// only *jobs.ValidationError naming params, and that what it accepts is a
// fixed point.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`,
		`{"tweet_fields":["created_at","author_id","lang","public_metrics","conversation_id"],"expansions":["author_id"],"user_fields":["username","verified"]}`,
		`{"tweet_fields":"created_at, lang"}`,
		`{"tweet.fields":"lang"}`,
		`{"expansions":[1,2]}`,
		`["lang"]`,
		`{"tweet_fields":`,
	} {
		f.Add([]byte(s))
	}
	l := newLookup(f, "")
	f.Fuzz(func(t *testing.T, params []byte) {
		got, err := l.Prepare(params)
		if err != nil {
			var verr *jobs.ValidationError
			if !errors.As(err, &verr) || !strings.HasPrefix(verr.Field, "params") {
				t.Fatalf("Prepare(%q): %v is not a validation error of params", params, err)
			}
			return
		}
		again, err := l.Prepare(got)
		if err != nil || string(again) != string(got) {
			t.Fatalf("Prepare(%q) = %s, then %s, %v", params, got, again, err)
		}
	})
}
