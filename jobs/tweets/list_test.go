package tweets_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/sandbox"
)

func newFollowers(t testing.TB, baseURL string) *tweets.UserList {
	t.Helper()
	k, err := tweets.NewUserFollowers(tweets.Config{BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newUserTweets(t testing.TB, baseURL string) *tweets.UserList {
	t.Helper()
	k, err := tweets.NewUserTweets(tweets.Config{BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// runList is a tiny worker: it prepares params, plans input and carries out
// every task, feeding each page's follow-up tasks back in, until none is
// left. It returns the rows by key and how many tasks ran. A task error
// fails the test.
func runList(t testing.TB, k *tweets.UserList, params, input string) (map[string]jobs.Row, int) {
	t.Helper()
	p, err := k.Prepare(json.RawMessage(params))
	if err != nil {
		t.Fatalf("Prepare(%s): %v", params, err)
	}
	var queue []jobs.TaskSpec
	if err := k.Plan(t.Context(), p, strings.NewReader(input), func(ts jobs.TaskSpec) error {
		queue = append(queue, ts)
		return nil
	}); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	rows := map[string]jobs.Row{}
	tasks := 0
	for len(queue) > 0 {
		ts := queue[0]
		queue = queue[1:]
		if ts.Items != 0 {
			t.Fatalf("page task with Items %d", ts.Items)
		}
		tasks++
		if tasks > 100_000 {
			t.Fatal("pagination does not end")
		}
		out, err := k.Do(t.Context(), jobs.Attempt{Number: 1, Params: p, Payload: ts.Payload, HTTP: client("tok")})
		if err != nil {
			t.Fatalf("Do(%s): %v", ts.Payload, err)
		}
		if len(out.Next) > 1 {
			t.Fatalf("Do(%s): %d follow-up tasks", ts.Payload, len(out.Next))
		}
		for _, r := range out.Rows {
			if _, dup := rows[r.Key]; dup {
				t.Fatalf("row %s twice", r.Key)
			}
			if r.Status != jobs.StatusOK || !json.Valid(r.Data) {
				t.Fatalf("row %+v", r)
			}
			rows[r.Key] = r
		}
		queue = append(queue, out.Next...)
	}
	return rows, tasks
}

func TestUserFollowersAllPages(t *testing.T) {
	t.Parallel()
	const user = 777
	sb, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{user: {Followers: 12_345}}})
	rows, tasks := runList(t, newFollowers(t, srv.URL), `{"max_results":1000}`, "777\n")
	if tasks != 13 || len(rows) != 12_345 {
		t.Fatalf("%d tasks, %d rows; want 13, 12345", tasks, len(rows))
	}
	for i := range 12_345 {
		fid := strconv.FormatUint(sandbox.FollowerID(user, i), 10)
		r, ok := rows["777:"+fid]
		if !ok {
			t.Fatalf("follower %d (%s) missing", i, fid)
		}
		var u struct{ ID, Username string }
		if err := json.Unmarshal(r.Data, &u); err != nil || u.ID != fid || u.Username == "" {
			t.Fatalf("row %s data %s", r.Key, r.Data)
		}
	}
	st := sb.Stats()
	if st.PagesRequested != 13 || st.PagesRepeated != 0 || st.Requests != 13 {
		t.Errorf("stats %+v", st)
	}
	for p := range 13 {
		if n := sb.PageRequests(sandbox.EndpointUserFollowers, user, p*1000); n != 1 {
			t.Errorf("page %d fetched %d times", p, n)
		}
	}
}

func TestFollowersKeyedPerUser(t *testing.T) {
	t.Parallel()
	_, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{1: {Followers: 40}, 2: {Followers: 40}}})
	rows, tasks := runList(t, newFollowers(t, srv.URL), `{"max_results":15}`, "1\n2\n1\n")
	if len(rows) != 80 || tasks != 6 {
		t.Fatalf("%d rows in %d tasks; want 80 in 6", len(rows), tasks)
	}
	// The two users share followers (the sandbox's pool): each gets a row.
	shared := strconv.FormatUint(sandbox.FollowerID(1, 0), 10)
	if shared != strconv.FormatUint(sandbox.FollowerID(2, 0), 10) {
		t.Fatal("the sandbox's users share no follower")
	}
	if _, ok := rows["1:"+shared]; !ok {
		t.Error("user 1's row of the shared follower is missing")
	}
	if _, ok := rows["2:"+shared]; !ok {
		t.Error("user 2's row of the shared follower is missing")
	}
}

func TestMaxItems(t *testing.T) {
	t.Parallel()
	spec := sandbox.UserSpec{Followers: 12_345, Tweets: 300}
	sb, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{1: spec, 2: spec, 3: spec, 4: spec, 5: spec}})
	tests := []struct {
		user        string
		kind        *tweets.UserList
		params      string
		rows, pages int
	}{
		{"1", newFollowers(t, srv.URL), `{"max_results":1000,"max_items":2500}`, 2500, 3},
		{"2", newFollowers(t, srv.URL), `{"max_results":1000,"max_items":2000}`, 2000, 2},
		{"3", newUserTweets(t, srv.URL), `{"max_results":5,"max_items":12}`, 12, 3},
		{"4", newUserTweets(t, srv.URL), `{"max_items":1000}`, 300, 3},
		{"5", newFollowers(t, srv.URL), `{"max_items":1}`, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.params, func(t *testing.T) {
			rows, tasks := runList(t, tc.kind, tc.params, tc.user)
			if len(rows) != tc.rows || tasks != tc.pages {
				t.Errorf("%d rows in %d tasks; want %d in %d", len(rows), tasks, tc.rows, tc.pages)
			}
		})
	}
	if st := sb.Stats(); st.PagesRepeated != 0 || st.PagesRequested != 12 {
		t.Errorf("stats %+v", st)
	}
	if sb.PageRequests(sandbox.EndpointUserFollowers, 1, 2000) != 1 {
		t.Error("third page of user 1's followers not fetched once")
	}
}

func TestUserTweetsBounds(t *testing.T) {
	t.Parallel()
	const user = 12
	_, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{user: {Tweets: 250}}})
	k := newUserTweets(t, srv.URL)
	id := func(i int) string { return strconv.FormatUint(sandbox.UserTweetID(user, i), 10) }
	at := func(i int) string { return sandbox.CreatedAt(sandbox.UserTweetID(user, i)).Format(time.RFC3339) }
	tests := []struct {
		name   string
		params string
		lo, hi int // the tweets expected, by index, newest first
	}{
		{"all", `{}`, 0, 250},
		{"since_id", `{"since_id":"` + id(200) + `"}`, 0, 200},
		{"until_id", `{"until_id":"` + id(30) + `"}`, 31, 250},
		{"ids", `{"since_id":"` + id(120) + `","until_id":"` + id(7) + `"}`, 8, 120},
		{"start_time", `{"start_time":"` + at(150) + `"}`, 0, 151},
		{"end_time", `{"end_time":"` + at(40) + `"}`, 41, 250},
		{"times and max_items", `{"start_time":"` + at(180) + `","end_time":"` + at(20) + `","max_items":50,"max_results":20}`, 21, 71},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, _ := runList(t, k, tc.params, "12")
			if len(rows) != tc.hi-tc.lo {
				t.Fatalf("%d rows, want %d", len(rows), tc.hi-tc.lo)
			}
			for i := tc.lo; i < tc.hi; i++ {
				if _, ok := rows[id(i)]; !ok {
					t.Fatalf("tweet %d (%s) missing", i, id(i))
				}
			}
		})
	}
}

func TestRetriedPageIsTheSamePage(t *testing.T) {
	t.Parallel()
	sb, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{3: {Followers: 30}}})
	k := newFollowers(t, srv.URL)
	params, _ := k.Prepare(json.RawMessage(`{"max_results":10}`))
	payload := json.RawMessage(`{"user_id":"3","pagination_token":"","fetched":0}`)
	first, err := k.Do(t.Context(), jobs.Attempt{Params: params, Payload: payload, HTTP: client("tok")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := k.Do(t.Context(), jobs.Attempt{Params: params, Payload: first.Next[0].Payload, HTTP: client("tok")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := k.Do(t.Context(), jobs.Attempt{Number: 2, Params: params, Payload: first.Next[0].Payload, HTTP: client("tok")})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(second)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("retry differs:\n%s\n%s", a, b)
	}
	var next struct {
		UserID          string `json:"user_id"`
		PaginationToken string `json:"pagination_token"`
		Fetched         int    `json:"fetched"`
	}
	if err := json.Unmarshal(second.Next[0].Payload, &next); err != nil || next.Fetched != 20 || next.UserID != "3" || next.PaginationToken == "" {
		t.Errorf("next payload %s", second.Next[0].Payload)
	}
	if st := sb.Stats(); st.PagesRequested != 3 || st.PagesRepeated != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestListDoErrors(t *testing.T) {
	t.Parallel()
	_, srv := serveSandbox(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{9: {Followers: 3000}}})
	k := newFollowers(t, srv.URL)
	params, _ := k.Prepare(nil)
	stub := func(status int) *http.Client {
		return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
		})}
	}
	tests := []struct {
		name      string
		payload   string
		params    json.RawMessage
		http      *http.Client
		permanent bool
		wantIn    string
	}{
		{"made-up token", `{"user_id":"9","pagination_token":"7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i","fetched":100}`, params, client("tok"), true, "400"},
		{"bad payload", `{"user_id":9}`, params, client("tok"), true, "decode task payload"},
		{"user id not canonical", `{"user_id":"009"}`, params, client("tok"), true, "not a canonical id"},
		{"no user", `{}`, params, client("tok"), true, "not a canonical id"},
		{"bad params", `{"user_id":"9"}`, json.RawMessage(`{"max_results":5000}`), client("tok"), true, "params.max_results"},
		{"unauthorized", `{"user_id":"9"}`, params, client(""), true, "401"},
		{"429", `{"user_id":"9"}`, params, stub(429), false, "429"},
		{"503", `{"user_id":"9"}`, params, stub(503), false, "503"},
		{"empty 200", `{"user_id":"9"}`, params, stub(200), false, "not a JSON object"},
		{"no client", `{"user_id":"9"}`, params, nil, true, "no http client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := k.Do(t.Context(), jobs.Attempt{Params: tc.params, Payload: json.RawMessage(tc.payload), HTTP: tc.http})
			if err == nil || jobs.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.wantIn) {
				t.Fatalf("err %v (permanent %v); want permanent %v containing %q", err, jobs.IsPermanent(err), tc.permanent, tc.wantIn)
			}
		})
	}
}

func TestListPrepare(t *testing.T) {
	t.Parallel()
	tw, fo := newUserTweets(t, ""), newFollowers(t, "")
	tests := []struct {
		name      string
		kind      *tweets.UserList
		params    string
		want      string
		wantField string
		wantIn    string
	}{
		{"tweets defaults", tw, ``, `{"max_results":100}`, "", ""},
		{"followers defaults", fo, `null`, `{"max_results":1000}`, "", ""},
		{"normalized", tw, `{"max_results":"50","max_items":7,"start_time":"2024-05-01T02:00:00+02:00","since_id":" 0020 ","tweet_fields":"lang,created_at"}`,
			`{"max_results":50,"max_items":7,"tweet_fields":["created_at","lang"],"start_time":"2024-05-01T00:00:00Z","since_id":"20"}`, "", ""},
		{"followers fields", fo, `{"user_fields":["username"],"expansions":"pinned_tweet_id","max_results":1}`,
			`{"max_results":1,"expansions":["pinned_tweet_id"],"user_fields":["username"]}`, "", ""},
		{"tweets max_results too small", tw, `{"max_results":4}`, "", "params.max_results", "4 is not from 5 to 100"},
		{"followers max_results too big", fo, `{"max_results":1001}`, "", "params.max_results", "not from 1 to 1000"},
		{"max_results not a number", fo, `{"max_results":"lots"}`, "", "params.max_results", "whole number"},
		{"max_results fraction", fo, `{"max_results":2.5}`, "", "params.max_results", "whole number"},
		{"negative max_items", fo, `{"max_items":-1}`, "", "params.max_items", "not from 0"},
		{"bad start_time", tw, `{"start_time":"2024-05-01"}`, "", "params.start_time", "not an RFC 3339 time"},
		{"start_time a number", tw, `{"start_time":1714521600}`, "", "params.start_time", "must be an RFC 3339 time string"},
		{"fractional end_time", tw, `{"end_time":"2024-05-01T00:00:00.5Z"}`, "", "params.end_time", "fractions of a second"},
		{"start after end", tw, `{"start_time":"2024-05-02T00:00:00Z","end_time":"2024-05-01T00:00:00Z"}`, "", "params.end_time", "not after start_time"},
		{"start equals end", tw, `{"start_time":"2024-05-01T00:00:00Z","end_time":"2024-05-01T00:00:00Z"}`, "", "params.end_time", "not after"},
		{"bad since_id", tw, `{"since_id":"12a"}`, "", "params.since_id", "not a tweet id"},
		{"since_id with a comment", tw, `{"since_id":"12 # x"}`, "", "params.since_id", "not a tweet id"},
		{"zero until_id", tw, `{"until_id":"0"}`, "", "params.until_id", "ids start at 1"},
		{"until not above since", tw, `{"since_id":"10","until_id":"11"}`, "", "params.until_id", "leaves no id"},
		{"filters on followers", fo, `{"since_id":"10"}`, "", "params.since_id", "not a param of user_followers"},
		{"tweet expansion on followers", fo, `{"expansions":"author_id"}`, "", "params.expansions", `unknown expansion "author_id"`},
		{"X's spelling", tw, `{"max.results":10}`, "", "params.max.results", "did you mean max_results?"},
		{"unknown param", fo, `{"ids":[1]}`, "", "params.ids", "known params are expansions, max_items"},
		{"not an object", fo, `[]`, "", "params", "must be a JSON object"},
		{"invalid JSON", fo, `{`, "", "params", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.kind.Prepare(json.RawMessage(tc.params))
			if tc.wantField == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Prepare(%s) = %s, %v; want %s", tc.params, got, err, tc.want)
				}
				again, err := tc.kind.Prepare(got)
				if err != nil || string(again) != string(got) {
					t.Fatalf("Prepare is not idempotent: %s → %s, %v", got, again, err)
				}
				return
			}
			var verr *jobs.ValidationError
			if !errors.As(err, &verr) || verr.Field != tc.wantField || !strings.Contains(verr.Reason, tc.wantIn) {
				t.Fatalf("Prepare(%s) = %s, %v; want field %s containing %q", tc.params, got, err, tc.wantField, tc.wantIn)
			}
		})
	}
}

func TestListPlan(t *testing.T) {
	t.Parallel()
	k := newFollowers(t, "")
	var got []string
	err := k.Plan(t.Context(), nil, strings.NewReader("\uFEFF# users\n12\n0013 # lead zeros\n12\n\n14\r\n"), func(ts jobs.TaskSpec) error {
		if ts.Items != 0 {
			t.Errorf("Items %d", ts.Items)
		}
		got = append(got, string(ts.Payload))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"user_id":"12","pagination_token":"","fetched":0}`,
		`{"user_id":"13","pagination_token":"","fetched":0}`,
		`{"user_id":"14","pagination_token":"","fetched":0}`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("payloads %v, want %v", got, want)
	}
	for _, tc := range []struct {
		input, reason string
	}{
		{"", "no ids given"},
		{"# none\n", "no ids given"},
		{"1\n@jack\n", `line 2: "@jack" is not a user id (digits only)`},
		{"1\n" + strings.Repeat("9", 2000), "line 2: longer than 1024 bytes"},
	} {
		err := k.Plan(t.Context(), nil, strings.NewReader(tc.input), func(jobs.TaskSpec) error { return nil })
		var verr *jobs.ValidationError
		if !errors.As(err, &verr) || verr.Field != "ids" || !strings.Contains(verr.Reason, tc.reason) {
			t.Errorf("Plan(%q) = %v, want ids: %q", tc.input, err, tc.reason)
		}
	}
	if err := k.Plan(t.Context(), nil, nil, func(jobs.TaskSpec) error { return nil }); err == nil {
		t.Error("nil items accepted")
	}
	errFull := errors.New("queue full")
	if err := k.Plan(t.Context(), nil, strings.NewReader("1\n"), func(jobs.TaskSpec) error { return errFull }); err != errFull {
		t.Errorf("emit's error came back as %v", err)
	}
	if k.Name() != "user_followers" || newUserTweets(t, "").Name() != "user_tweets" {
		t.Error("names")
	}
	if _, err := tweets.NewUserTweets(tweets.Config{BaseURL: "ftp://x"}); err == nil {
		t.Error("bad base url accepted")
	}
}

// FuzzListPrepare checks that the paginated kinds' Prepare never panics,
// returns only *jobs.ValidationError naming params, and that what it accepts
// is a fixed point with max_results set.
func FuzzListPrepare(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `{"max_results":"50","max_items":7}`,
		`{"start_time":"2024-05-01T02:00:00+02:00","end_time":"2024-06-01T00:00:00Z","since_id":"20","until_id":99}`,
		`{"max_results":1e3}`, `{"max.results":1}`, `{"expansions":"pinned_tweet_id","user_fields":["username"]}`,
		`{"start_time":"0000-01-01T00:00:00Z"}`, `[1]`, `{`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	kinds := []*tweets.UserList{newFollowers(f, ""), newUserTweets(f, "")}
	f.Fuzz(func(t *testing.T, params []byte, forTweets bool) {
		k := kinds[0]
		if forTweets {
			k = kinds[1]
		}
		got, err := k.Prepare(params)
		if err != nil {
			var verr *jobs.ValidationError
			if !errors.As(err, &verr) || !strings.HasPrefix(verr.Field, "params") {
				t.Fatalf("Prepare(%q): %v is not a validation error of params", params, err)
			}
			return
		}
		again, err := k.Prepare(got)
		if err != nil || string(again) != string(got) {
			t.Fatalf("Prepare(%q) = %s, then %s, %v", params, got, again, err)
		}
		var p tweets.ListParams
		if err := json.Unmarshal(got, &p); err != nil || p.MaxResults == 0 {
			t.Fatalf("Prepare(%q) = %s: no max_results", params, got)
		}
	})
}

func TestUserListItems(t *testing.T) {
	k, err := tweets.NewUserFollowers(tweets.Config{BaseURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	items, err := k.Items([]byte(`{"user_id":"42","pagination_token":"abc","fetched":3000}`))
	if err != nil || len(items) != 1 || items[0] != "42" {
		t.Fatalf("Items = %q, %v; want the user", items, err)
	}
	if _, err := k.Items([]byte(`{"pagination_token":"abc"}`)); err == nil {
		t.Fatal("a payload without a user gave items")
	}
}
