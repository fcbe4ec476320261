package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
)

// clock is a fake clock for Config.NowFunc.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 250_000_000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serve starts a sandbox configured by cfg behind an httptest server.
func serve(t testing.TB, cfg sandbox.Config) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}

// get sends a GET with token as bearer token ("" for none) and returns the
// response with its body read.
func get(t testing.TB, url, token string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, token)
}

func do(t testing.TB, method, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// idList returns n consecutive snowflake-sized ids from start, comma separated.
func idList(start uint64, n int) (string, []uint64) {
	ids := make([]uint64, n)
	parts := make([]string, n)
	for i := range ids {
		ids[i] = start + uint64(i)
		parts[i] = strconv.FormatUint(ids[i], 10)
	}
	return strings.Join(parts, ","), ids
}

type lookupResponse struct {
	Data []struct {
		ID                  string   `json:"id"`
		Text                string   `json:"text"`
		EditHistoryTweetIDs []string `json:"edit_history_tweet_ids"`
		AuthorID            string   `json:"author_id"`
		CreatedAt           string   `json:"created_at"`
		Lang                string   `json:"lang"`
		ConversationID      string   `json:"conversation_id"`
		PublicMetrics       *struct {
			LikeCount int `json:"like_count"`
		} `json:"public_metrics"`
	} `json:"data"`
	Includes *struct {
		Users []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"users"`
	} `json:"includes"`
	Errors []map[string]any `json:"errors"`
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sandbox.Config
		want string // "" for no error
	}{
		{"zero value", sandbox.Config{}, ""},
		{"full", sandbox.Config{Limit: 900, Window: time.Minute, Tokens: []string{"a"}, MissingPercent: 100}, ""},
		{"no missing", sandbox.Config{MissingPercent: -1}, ""},
		{"negative limit", sandbox.Config{Limit: -1}, "limit -1 is negative"},
		{"negative window", sandbox.Config{Window: -time.Second}, "window -1s is negative"},
		{"missing above 100", sandbox.Config{MissingPercent: 101}, "missing percent 101 is above 100"},
		{"empty token", sandbox.Config{Tokens: []string{"a", ""}}, "token 1 is empty"},
		{"negative latency", sandbox.Config{Faults: sandbox.Faults{Latency: -1}}, "latency -1ns is negative"},
		{"error percent", sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 101}}, "error percent 101"},
		{"drop percent", sandbox.Config{Faults: sandbox.Faults{DropPercent: -1}}, "drop percent -1"},
		{"fault sum", sandbox.Config{Faults: sandbox.Faults{ErrorPercent: 50, DropPercent: 30, MalformedPercent: 30}}, "add up to 110"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sandbox.New(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New: no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want it to contain %q", err, tc.want)
			case err != nil && !strings.HasPrefix(err.Error(), "sandbox config: "):
				t.Fatalf("New: %v, want prefix %q", err, "sandbox config: ")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{MissingPercent: 30})
	list, ids := idList(1_600_000_000_000_000_000, 100)
	resp, body := get(t, srv.URL+"/2/tweets?ids="+list+"&tweet.fields=created_at,author_id,lang,public_metrics,conversation_id,text", "tok")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var got lookupResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	var wantFound, wantMissing []string
	wantErrors := map[string]string{}
	for _, id := range ids {
		v := strconv.FormatUint(id, 10)
		switch {
		case sandbox.Protected(id, sb.MissingPercent()):
			wantMissing = append(wantMissing, v)
			wantErrors[v] = "Authorization Error"
		case sandbox.Missing(id, sb.MissingPercent()):
			wantMissing = append(wantMissing, v)
			wantErrors[v] = "Not Found Error"
		default:
			wantFound = append(wantFound, v)
		}
	}
	if len(wantMissing) == 0 || len(wantFound) == 0 {
		t.Fatalf("test ids give %d found and %d missing; want some of each", len(wantFound), len(wantMissing))
	}
	var gotFound, gotMissing []string
	for _, d := range got.Data {
		gotFound = append(gotFound, d.ID)
		id, _ := strconv.ParseUint(d.ID, 10, 64)
		if d.Text == "" || d.AuthorID == "" || d.Lang == "" || d.PublicMetrics == nil || d.ConversationID != d.ID {
			t.Errorf("tweet %s lacks a requested field: %+v", d.ID, d)
		}
		if !reflect.DeepEqual(d.EditHistoryTweetIDs, []string{d.ID}) {
			t.Errorf("tweet %s: edit_history_tweet_ids %v", d.ID, d.EditHistoryTweetIDs)
		}
		if want := sandbox.CreatedAt(id).Format("2006-01-02T15:04:05.000Z"); d.CreatedAt != want {
			t.Errorf("tweet %s: created_at %q, want %q", d.ID, d.CreatedAt, want)
		}
	}
	for _, e := range got.Errors {
		v := e["resource_id"].(string)
		gotMissing = append(gotMissing, v)
		if e["title"] != wantErrors[v] {
			t.Errorf("error for %s: title %v, want %v", v, e["title"], wantErrors[v])
		}
	}
	if !reflect.DeepEqual(gotFound, wantFound) {
		t.Errorf("data ids\n got %v\nwant %v", gotFound, wantFound)
	}
	if !reflect.DeepEqual(gotMissing, wantMissing) {
		t.Errorf("error ids\n got %v\nwant %v", gotMissing, wantMissing)
	}
	if got.Includes != nil {
		t.Errorf("includes without expansions: %+v", got.Includes)
	}
}

// TestLookupErrorShapes pins the "errors" entries to X's exact bytes.
func TestLookupErrorShapes(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{MissingPercent: 100})
	var deleted, protected uint64
	for id := uint64(1_500_000_000_000_000_000); deleted == 0 || protected == 0; id++ {
		if sandbox.Protected(id, sb.MissingPercent()) {
			protected = id
		} else {
			deleted = id
		}
	}
	resp, body := get(t, fmt.Sprintf("%s/2/tweets?ids=%d,%d", srv.URL, deleted, protected), "tok")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := fmt.Sprintf(`{"errors":[`+
		`{"value":"%[1]d","detail":"Could not find tweet with ids: [%[1]d].","title":"Not Found Error","resource_type":"tweet","parameter":"ids","resource_id":"%[1]d","type":"https://api.twitter.com/2/problems/resource-not-found"},`+
		`{"value":"%[2]d","detail":"Sorry, you are not authorized to see the Tweet with ids: [%[2]d].","title":"Authorization Error","resource_type":"tweet","parameter":"ids","resource_id":"%[2]d","type":"https://api.twitter.com/2/problems/not-authorized-for-resource"}]}`,
		deleted, protected)
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
}

func TestLookupDefaultFieldsAndExpansions(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{MissingPercent: -1})
	_, body := get(t, srv.URL+"/2/tweets?ids=20,1460323737035677698", "tok")
	var plain []map[string]any
	var got struct {
		Data *[]map[string]any `json:"data"`
	}
	got.Data = &plain
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(plain) != 2 {
		t.Fatalf("want 2 tweets, got %s", body)
	}
	for _, tw := range plain {
		keys := make([]string, 0, len(tw))
		for k := range tw {
			keys = append(keys, k)
		}
		if len(keys) != 3 || tw["id"] == nil || tw["text"] == nil || tw["edit_history_tweet_ids"] == nil {
			t.Errorf("default fields: got keys %v, want id, text, edit_history_tweet_ids", keys)
		}
	}

	_, body = get(t, srv.URL+"/2/tweets?ids=20,21,22&expansions=author_id&user.fields=username,public_metrics&tweet.fields=author_id", "tok")
	var exp lookupResponse
	if err := json.Unmarshal(body, &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Includes == nil || len(exp.Includes.Users) == 0 {
		t.Fatalf("expansions=author_id gave no includes.users: %s", body)
	}
	users := map[string]bool{}
	for _, u := range exp.Includes.Users {
		users[u.ID] = true
	}
	for _, d := range exp.Data {
		if !users[d.AuthorID] {
			t.Errorf("author %s of tweet %s not in includes.users", d.AuthorID, d.ID)
		}
	}
}

func TestAllMissingOmitsData(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{MissingPercent: 100})
	_, body := get(t, srv.URL+"/2/tweets?ids=1,2,3", "tok")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["data"]; ok {
		t.Errorf("data present when every id is missing: %s", body)
	}
	if _, ok := raw["errors"]; !ok {
		t.Errorf("errors absent: %s", body)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	_, a := serve(t, sandbox.Config{})
	_, b := serve(t, sandbox.Config{})
	list, _ := idList(1_234_567_890_123_456_789, 100)
	url := "/2/tweets?ids=" + list + "&tweet.fields=created_at,author_id,lang,public_metrics&expansions=author_id"
	_, first := get(t, a.URL+url, "one")
	_, again := get(t, a.URL+url, "one")
	_, other := get(t, b.URL+url, "two")
	if !bytes.Equal(first, again) || !bytes.Equal(first, other) {
		t.Errorf("same request, different bodies:\n%s\n%s\n%s", first, again, other)
	}
}

func TestDuplicateIDsAnsweredOnce(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{MissingPercent: -1})
	_, body := get(t, srv.URL+"/2/tweets?ids=5,6,5,0005", "tok")
	var got lookupResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || got.Data[0].ID != "5" || got.Data[1].ID != "6" {
		t.Errorf("want tweets 5 and 6 once each, got %s", body)
	}
	if n := sb.IDRequests("5"); n != 1 {
		t.Errorf("IDRequests(5) = %d, want 1", n)
	}
}

func TestMissingShare(t *testing.T) {
	t.Parallel()
	const n = 100_000
	tests := []struct{ percent, lo, hi int }{
		{0, 0, 0}, {-3, 0, 0}, {5, 4500, 5500}, {50, 49_000, 51_000}, {100, n, n},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.percent), func(t *testing.T) {
			t.Parallel()
			missing, protected := 0, 0
			for id := uint64(1_700_000_000_000_000_000); id < 1_700_000_000_000_000_000+n; id++ {
				m, p := sandbox.Missing(id, tc.percent), sandbox.Protected(id, tc.percent)
				if p && !m {
					t.Fatalf("id %d protected but not missing", id)
				}
				if m {
					missing++
				}
				if p {
					protected++
				}
			}
			if missing < tc.lo || missing > tc.hi {
				t.Errorf("%d%%: %d of %d missing, want %d..%d", tc.percent, missing, n, tc.lo, tc.hi)
			}
			if missing > 1000 && (protected < missing/5 || protected > missing/3) {
				t.Errorf("%d of %d missing are protected, want about a quarter", protected, missing)
			}
		})
	}
}

func TestCreatedAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   uint64
		want string
	}{
		{20, "2010-11-04T01:42:54.000Z"}, // pre-snowflake: the epoch
		{1460323737035677698, "2021-11-15T19:08:05.000Z"},
		{1<<64 - 1, "2150-03-18T09:18:05.000Z"},
	}
	for _, tc := range tests {
		if got := sandbox.CreatedAt(tc.id).Format("2006-01-02T15:04:05.000Z"); got != tc.want {
			t.Errorf("CreatedAt(%d) = %s, want %s", tc.id, got, tc.want)
		}
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	const want = `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	sb, srv := serve(t, sandbox.Config{Limit: 10, Tokens: []string{"good"}})
	tests := []struct{ name, header string }{
		{"none", ""},
		{"wrong scheme", "Basic Z29vZA=="},
		{"empty token", "Bearer "},
		{"unknown token", "Bearer bad"},
		{"no space", "Bearergood"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/2/tweets?ids=1", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || string(body) != want {
			t.Errorf("%s: %d %s, want 401 %s", tc.name, resp.StatusCode, body, want)
		}
	}
	if resp, _ := get(t, srv.URL+"/2/tweets?ids=1", "good"); resp.StatusCode != http.StatusOK {
		t.Errorf("good token: status %d", resp.StatusCode)
	}
	st := sb.Stats()
	if st.Requests != len(tests)+1 || st.Unauthorized != len(tests) || st.Served != 1 || len(st.Tokens) != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRateLimitHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	sb, srv := serve(t, sandbox.Config{Limit: 6, Window: time.Minute, NowFunc: clk.Now})
	reset := strconv.FormatInt(clk.Now().Add(time.Minute).Unix()+1, 10) // rounded up
	tests := []struct {
		name, method, path string
		faults             sandbox.Faults
		status, remaining  int
	}{
		{"ok", "GET", "/2/tweets?ids=1", sandbox.Faults{}, 200, 5},
		{"bad request", "GET", "/2/tweets?ids=x", sandbox.Faults{}, 400, 4},
		{"unknown path", "GET", "/2/nope", sandbox.Faults{}, 404, 3},
		{"method", "POST", "/2/tweets?ids=1", sandbox.Faults{}, 405, 2},
		{"fault", "GET", "/2/tweets?ids=1", sandbox.Faults{ErrorPercent: 100}, 503, 1},
		{"malformed", "GET", "/2/tweets?ids=1", sandbox.Faults{MalformedPercent: 100}, 200, 0},
		{"over quota", "GET", "/2/tweets?ids=1", sandbox.Faults{}, 429, 0},
	}
	for _, tc := range tests { // in order: they share one window
		if err := sb.SetFaults(tc.faults); err != nil {
			t.Fatal(err)
		}
		resp, body := do(t, tc.method, srv.URL+tc.path, "tok")
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, body)
		}
		h := resp.Header
		if h.Get("x-rate-limit-limit") != "6" || h.Get("x-rate-limit-remaining") != strconv.Itoa(tc.remaining) || h.Get("x-rate-limit-reset") != reset {
			t.Errorf("%s: headers limit=%q remaining=%q reset=%q, want 6, %d, %s", tc.name,
				h.Get("x-rate-limit-limit"), h.Get("x-rate-limit-remaining"), h.Get("x-rate-limit-reset"), tc.remaining, reset)
		}
		if d, err := http.ParseTime(h.Get("Date")); err != nil || !d.Equal(clk.Now().Truncate(time.Second)) {
			t.Errorf("%s: Date %q, want the fake clock's %s", tc.name, h.Get("Date"), clk.Now())
		}
	}
}

func TestNoQuotaNoHeaders(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{})
	for range 3 {
		resp, _ := get(t, srv.URL+"/2/tweets?ids=1", "tok")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, k := range []string{"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} {
			if v := resp.Header.Get(k); v != "" {
				t.Errorf("%s: %q with no quota", k, v)
			}
		}
	}
}

func TestQuotaWindow(t *testing.T) {
	t.Parallel()
	const limit = 5
	clk := newClock()
	sb, srv := serve(t, sandbox.Config{Limit: limit, Window: 15 * time.Minute, NowFunc: clk.Now})
	url := srv.URL + "/2/tweets?ids=1"
	start := clk.Now()
	for i := range limit {
		resp, _ := get(t, url, "a")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i+1, resp.StatusCode)
		}
		if got := resp.Header.Get("x-rate-limit-remaining"); got != strconv.Itoa(limit-1-i) {
			t.Errorf("request %d: remaining %s", i+1, got)
		}
		clk.Advance(time.Minute) // the window does not slide
	}
	resp, body := get(t, url, "a")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request %d: status %d, want 429", limit+1, resp.StatusCode)
	}
	if want := `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`; string(body) != want {
		t.Errorf("429 body %s, want %s", body, want)
	}
	wantReset := strconv.FormatInt(start.Add(15*time.Minute).Unix()+1, 10)
	if got := resp.Header.Get("x-rate-limit-reset"); got != wantReset {
		t.Errorf("reset %s, want %s", got, wantReset)
	}

	// Another token has its own window.
	if resp, _ := get(t, url, "b"); resp.StatusCode != 200 || resp.Header.Get("x-rate-limit-remaining") != "4" {
		t.Errorf("token b: status %d remaining %s", resp.StatusCode, resp.Header.Get("x-rate-limit-remaining"))
	}

	// Just before the end the window still holds; at its end a new one opens.
	clk.Advance(start.Add(15*time.Minute).Sub(clk.Now()) - time.Millisecond)
	if resp, _ := get(t, url, "a"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("1ms before reset: status %d, want 429", resp.StatusCode)
	}
	clk.Advance(time.Millisecond)
	resp, _ = get(t, url, "a")
	if resp.StatusCode != 200 || resp.Header.Get("x-rate-limit-remaining") != strconv.Itoa(limit-1) {
		t.Errorf("new window: status %d remaining %s", resp.StatusCode, resp.Header.Get("x-rate-limit-remaining"))
	}
	wantReset = strconv.FormatInt(clk.Now().Add(15*time.Minute).Unix()+1, 10)
	if got := resp.Header.Get("x-rate-limit-reset"); got != wantReset {
		t.Errorf("new window reset %s, want %s", got, wantReset)
	}

	st := sb.Stats()
	want := sandbox.TokenStats{Requests: limit + 3, Served: limit + 1, OverQuota: 2, Windows: []int{limit, 1}}
	if !reflect.DeepEqual(st.Tokens["a"], want) {
		t.Errorf("token a stats %+v, want %+v", st.Tokens["a"], want)
	}
	if st.OverQuota != 2 || st.Served != limit+2 || st.Requests != limit+4 {
		t.Errorf("stats %+v", st)
	}
}

func TestQuotaExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	const limit, n = 40, 120
	sb, srv := serve(t, sandbox.Config{Limit: limit})
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/2/tweets?ids=7", nil)
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != limit || count[429] != n-limit {
		t.Errorf("got %v, want %d × 200 and %d × 429", count, limit, n-limit)
	}
	if st := sb.Stats(); st.Served != limit || st.OverQuota != n-limit || st.Requests != n {
		t.Errorf("stats %+v", st)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{Limit: 3})
	get(t, srv.URL+"/2/tweets?ids=1,2,3", "a")
	get(t, srv.URL+"/2/tweets?ids=3,4", "a")
	get(t, srv.URL+"/2/tweets?ids=x", "a")   // 400: not served
	get(t, srv.URL+"/2/tweets?ids=1,9", "a") // 429: not served
	get(t, srv.URL+"/2/tweets?ids=3", "b")   // served
	get(t, srv.URL+"/2/tweets?ids=3", "")    // 401
	want := sandbox.Stats{
		Requests: 6, Served: 3, OverQuota: 1, Unauthorized: 1,
		IDsRequested: 6, IDsDistinct: 4, IDsRepeated: 1,
		Tokens: map[string]sandbox.TokenStats{
			"a": {Requests: 4, Served: 2, OverQuota: 1, Windows: []int{3}}, // the 400 used quota too
			"b": {Requests: 1, Served: 1, Windows: []int{1}},
		},
	}
	if got := sb.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats\n got %+v\nwant %+v", got, want)
	}
	for id, n := range map[string]int{"1": 1, "2": 1, "3": 3, "4": 1, "9": 0, "x": 0} {
		if got := sb.IDRequests(id); got != n {
			t.Errorf("IDRequests(%s) = %d, want %d", id, got, n)
		}
	}

	resp, body := get(t, srv.URL+"/sandbox/stats", "")
	if resp.StatusCode != 200 {
		t.Fatalf("/sandbox/stats: %d", resp.StatusCode)
	}
	if strings.Contains(string(body), `"a"`) || strings.Contains(string(body), `"b"`) {
		t.Errorf("/sandbox/stats shows tokens: %s", body)
	}
	var wire sandbox.Stats
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	want.Tokens = map[string]sandbox.TokenStats{
		sandbox.TokenLabel("a"): want.Tokens["a"],
		sandbox.TokenLabel("b"): want.Tokens["b"],
	}
	if !reflect.DeepEqual(wire, want) {
		t.Errorf("/sandbox/stats\n got %+v\nwant %+v", wire, want)
	}
	if st := sb.Stats(); st.Requests != 6 {
		t.Errorf("/sandbox/stats was counted as a request: %+v", st)
	}

	sb.Reset()
	if got := sb.Stats(); !reflect.DeepEqual(got, sandbox.Stats{Tokens: map[string]sandbox.TokenStats{}}) {
		t.Errorf("after Reset: %+v", got)
	}
	if sb.IDRequests("3") != 0 {
		t.Error("IDRequests survives Reset")
	}
	if resp, _ := get(t, srv.URL+"/2/tweets?ids=1", "a"); resp.StatusCode != 200 {
		t.Errorf("after Reset the quota window should be closed: status %d", resp.StatusCode)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{})
	ids101, _ := idList(1, 101)
	ids100, _ := idList(1, 100)
	tests := []struct {
		name, query string
		message     string // "" for 200
	}{
		{"100 ids", "ids=" + ids100, ""},
		{"all fields", "ids=1&tweet.fields=" + strings.Join([]string{"created_at", "author_id", "lang", "public_metrics", "conversation_id", "text", "entities", "edit_controls", "source", "possibly_sensitive", "reply_settings"}, ","), ""},
		{"media fields ignored", "ids=1&media.fields=url", ""},
		{"no ids", "", "The `ids` query parameter can not be empty"},
		{"empty ids", "ids=", "The `ids` query parameter can not be empty"},
		{"101 ids", "ids=" + ids101, "The number of values in the `ids` query parameter list [101] is not between 1 and 100"},
		{"letters", "ids=1,12a", "The `ids` query parameter value [12a] does not match ^[0-9]{1,19}$"},
		{"space", "ids=1,%202", "The `ids` query parameter value [ 2] does not match ^[0-9]{1,19}$"},
		{"trailing comma", "ids=1,", "The `ids` query parameter value [] does not match ^[0-9]{1,19}$"},
		{"20 digits", "ids=12345678901234567890", "The `ids` query parameter value [12345678901234567890] does not match ^[0-9]{1,19}$"},
		{"unknown param", "ids=1&foo=bar", "The query parameter [foo] is not one of [ids,expansions,tweet.fields,media.fields,poll.fields,place.fields,user.fields]"},
		{"bad field", "ids=1&tweet.fields=created_at,bogus", "The `tweet.fields` query parameter value [bogus] is not one of ["},
		{"bad expansion", "ids=1&expansions=nope", "The `expansions` query parameter value [nope] is not one of ["},
		{"bad user field", "ids=1&user.fields=shoe_size", "The `user.fields` query parameter value [shoe_size] is not one of ["},
		{"duplicate", "ids=1&ids=2", "Duplicate parameters are not allowed: the `ids` query parameter"},
		{"bad escape", "ids=%zz", "The query string could not be parsed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, srv.URL+"/2/tweets?"+tc.query, "tok")
			if tc.message == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
			}
			var p struct {
				Errors []struct {
					Parameters map[string][]string `json:"parameters"`
					Message    string              `json:"message"`
				} `json:"errors"`
				Title, Detail, Type string
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if p.Title != "Invalid Request" || p.Type != "https://api.twitter.com/2/problems/invalid-request" ||
				p.Detail != "One or more parameters to your request was invalid." || len(p.Errors) == 0 {
				t.Errorf("problem %s", body)
			}
			if !strings.HasPrefix(p.Errors[0].Message, tc.message) {
				t.Errorf("message %q, want prefix %q", p.Errors[0].Message, tc.message)
			}
			if len(p.Errors[0].Parameters) != 1 {
				t.Errorf("parameters %v", p.Errors[0].Parameters)
			}
		})
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{})
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/2/users/1/likes", 404},
		{"GET", "/2/users//tweets", 404},
		{"POST", "/2/users/1/followers", 405},
		{"GET", "/", 404},
		{"GET", "/sandbox/nope", 404},
		{"POST", "/2/tweets?ids=1", 405},
		{"DELETE", "/sandbox/stats", 405},
		{"HEAD", "/2/tweets?ids=1", 405},
	}
	for _, tc := range tests {
		resp, body := do(t, tc.method, srv.URL+tc.path, "tok")
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if tc.method != "HEAD" && !json.Valid(body) {
			t.Errorf("%s %s: body not JSON: %s", tc.method, tc.path, body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	url := "/2/tweets?ids=1,2,3"
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		sb, srv := serve(t, sandbox.Config{Limit: 10, Faults: sandbox.Faults{ErrorPercent: 100}})
		resp, body := get(t, srv.URL+url, "tok")
		if resp.StatusCode != http.StatusServiceUnavailable || !json.Valid(body) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
		if st := sb.Stats(); st.Served != 0 || st.Faulted != 1 || st.IDsRequested != 0 {
			t.Errorf("stats %+v", st)
		}
		if got := resp.Header.Get("x-rate-limit-remaining"); got != "9" {
			t.Errorf("a faulted request consumes quota: remaining %s, want 9", got)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		sb, srv := serve(t, sandbox.Config{Faults: sandbox.Faults{MalformedPercent: 100}})
		resp, body := get(t, srv.URL+url, "tok")
		if resp.StatusCode != 200 || json.Valid(body) || len(body) == 0 || body[0] != '{' {
			t.Errorf("status %d body %s: want 200 with truncated JSON", resp.StatusCode, body)
		}
		if st := sb.Stats(); st.Served != 0 || st.Faulted != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		sb, srv := serve(t, sandbox.Config{Faults: sandbox.Faults{DropPercent: 100}})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+url, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("dropped request got a response: %d", resp.StatusCode)
		}
		if st := sb.Stats(); st.Served != 0 || st.Faulted == 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		sb, srv := serve(t, sandbox.Config{Faults: sandbox.Faults{Latency: 30 * time.Millisecond}})
		start := time.Now()
		if resp, _ := get(t, srv.URL+url, "tok"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Errorf("answered after %s, want at least 30ms", d)
		}
		if st := sb.Stats(); st.Served != 1 || st.Faulted != 0 {
			t.Errorf("latency alone is not a fault: %+v", st)
		}
	})
	t.Run("latency respects cancellation", func(t *testing.T) {
		t.Parallel()
		sb, err := sandbox.New(sandbox.Config{Faults: sandbox.Faults{Latency: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(sb)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+url, nil)
		req.Header.Set("Authorization", "Bearer tok")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("got a response through an hour of latency")
		} else if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v", err)
		}
		closed := make(chan struct{})
		go func() { srv.Close(); close(closed) }() // Close waits for handlers
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("handler still sleeping after its client left")
		}
	})
	t.Run("mixed and repeatable", func(t *testing.T) {
		t.Parallel()
		faults := sandbox.Faults{ErrorPercent: 20, MalformedPercent: 20}
		run := func() []int {
			sb, srv := serve(t, sandbox.Config{Seed: 42, Faults: faults})
			var codes []int
			for range 50 {
				resp, body := get(t, srv.URL+url, "tok")
				code := resp.StatusCode
				if code == 200 && !json.Valid(body) {
					code = -1
				}
				codes = append(codes, code)
			}
			st := sb.Stats()
			if st.Faulted+st.Served != 50 || st.Faulted < 5 || st.Faulted > 35 {
				t.Errorf("stats %+v", st)
			}
			return codes
		}
		if a, b := run(), run(); !reflect.DeepEqual(a, b) {
			t.Errorf("same seed, different faults:\n%v\n%v", a, b)
		}
	})
	t.Run("set at run time", func(t *testing.T) {
		t.Parallel()
		sb, srv := serve(t, sandbox.Config{})
		if err := sb.SetFaults(sandbox.Faults{ErrorPercent: 60, DropPercent: 60}); err == nil {
			t.Error("SetFaults accepted percents adding up to 120")
		}
		if err := sb.SetFaults(sandbox.Faults{ErrorPercent: 100}); err != nil {
			t.Fatal(err)
		}
		if got := sb.Faults(); got.ErrorPercent != 100 {
			t.Errorf("Faults() = %+v", got)
		}
		if resp, _ := get(t, srv.URL+url, "tok"); resp.StatusCode != 503 {
			t.Errorf("status %d, want 503", resp.StatusCode)
		}
		if err := sb.SetFaults(sandbox.Faults{}); err != nil {
			t.Fatal(err)
		}
		if resp, _ := get(t, srv.URL+url, "tok"); resp.StatusCode != 200 {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	})
}

func TestSetFaultsConcurrently(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := sb.SetFaults(sandbox.Faults{ErrorPercent: i % 2 * 100}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			resp, _ := get(t, srv.URL+"/2/tweets?ids=1", "tok")
			if resp.StatusCode != 200 && resp.StatusCode != 503 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
}

func TestConfigLogValueHidesTokens(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sandbox", "config", sandbox.Config{Limit: 9, Tokens: []string{"stand-in-secret"}})
	if strings.Contains(buf.String(), "stand-in-secret") || !strings.Contains(buf.String(), "config.tokens=1") {
		t.Errorf("log line %q", buf.String())
	}
}

func TestSpendWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sb, err := sandbox.New(sandbox.Config{Limit: 10, Window: time.Minute, NowFunc: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/2/tweets?ids=20", nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.StatusCode != 200 || resp.Header.Get("x-rate-limit-remaining") != "9" {
		t.Fatalf("first request: %s, remaining %s", resp.Status, resp.Header.Get("x-rate-limit-remaining"))
	}
	sb.SpendWindow("tok")
	resp := get()
	if resp.StatusCode != 429 || resp.Header.Get("x-rate-limit-remaining") != "0" || resp.Header.Get("x-rate-limit-reset") != "1700000060" {
		t.Fatalf("after SpendWindow: %s, headers %v", resp.Status, resp.Header)
	}
	if s := sb.Stats(); s.Refused != 1 || s.OverQuota != 0 {
		t.Fatalf("stats %+v: an early refusal is not pacer's over-quota request", s)
	}
	now = now.Add(time.Minute)
	if resp := get(); resp.StatusCode != 200 {
		t.Fatalf("after the reset: %s", resp.Status)
	}
}

func TestRevoke(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Tokens: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	status := func(token string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/2/tweets?ids=20", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status("a"), status("b"); a != 200 || b != 200 {
		t.Fatalf("before Revoke: %d %d", a, b)
	}
	sb.Revoke("a")
	if a, b := status("a"), status("b"); a != 401 || b != 200 {
		t.Fatalf("after Revoke(a): %d %d, want 401 200", a, b)
	}
}
