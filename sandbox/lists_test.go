package sandbox_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/sandbox"
)

// listPage is a page of a list as X sends it.
type listPage struct {
	Data []struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Username  string `json:"username"`
		Text      string `json:"text"`
		CreatedAt string `json:"created_at"`
		AuthorID  string `json:"author_id"`
	} `json:"data"`
	Meta struct {
		ResultCount *int   `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

// getPage GETs path with query q as token "tok" and decodes a 200 page.
func getPage(t testing.TB, base, path string, q url.Values) (listPage, []byte) {
	t.Helper()
	resp, body := get(t, base+path+"?"+q.Encode(), "tok")
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s?%s: %d %s", path, q.Encode(), resp.StatusCode, body)
	}
	var p listPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if p.Meta.ResultCount == nil || *p.Meta.ResultCount != len(p.Data) {
		t.Fatalf("result_count %v for %d items: %s", p.Meta.ResultCount, len(p.Data), body)
	}
	return p, body
}

// walk pages through path with q and returns the ids in order and the pages.
func walk(t testing.TB, base, path string, q url.Values) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	for {
		p, _ := getPage(t, base, path, q)
		pages++
		for _, d := range p.Data {
			ids = append(ids, d.ID)
		}
		if p.Meta.NextToken == "" {
			return ids, pages
		}
		if pages > 10_000 {
			t.Fatal("pagination does not end")
		}
		q.Set("pagination_token", p.Meta.NextToken)
	}
}

func TestFollowersPaginate(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{42: {Followers: 2345}, 43: {Followers: 2345}}})
	ids, pages := walk(t, srv.URL, "/2/users/42/followers", url.Values{"max_results": {"1000"}})
	if pages != 3 || len(ids) != 2345 {
		t.Fatalf("%d pages, %d followers; want 3, 2345", pages, len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("follower %s twice", id)
		}
		seen[id] = true
		if id != strconv.FormatUint(sandbox.FollowerID(42, i), 10) {
			t.Fatalf("follower %d is %s, want FollowerID", i, id)
		}
	}
	for _, off := range []int{0, 1000, 2000} {
		if n := sb.PageRequests(sandbox.EndpointUserFollowers, 42, off); n != 1 {
			t.Errorf("page at %d served %d times", off, n)
		}
	}
	if st := sb.Stats(); st.PagesRequested != 3 || st.PagesRepeated != 0 || st.Served != 3 {
		t.Errorf("stats %+v", st)
	}
	// Another user shares some followers (the pool), never all.
	other, _ := walk(t, srv.URL, "/2/users/43/followers", url.Values{"max_results": {"1000"}})
	shared := 0
	for _, id := range other {
		if seen[id] {
			shared++
		}
	}
	if shared == 0 || shared == len(other) {
		t.Errorf("users 42 and 43 share %d of %d followers", shared, len(other))
	}
	// Fetching a page again is counted as a repeat.
	p, _ := getPage(t, srv.URL, "/2/users/42/followers", url.Values{"max_results": {"1000"}})
	getPage(t, srv.URL, "/2/users/42/followers", url.Values{"max_results": {"1000"}, "pagination_token": {p.Meta.NextToken}})
	if st := sb.Stats(); st.PagesRepeated != 2 || sb.PageRequests(sandbox.EndpointUserFollowers, 42, 1000) != 2 {
		t.Errorf("after refetching two pages: %+v", st)
	}
}

func TestListDefaultsAndEmpty(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{7: {Followers: 150, Tweets: 12}, 8: {}}})
	p, _ := getPage(t, srv.URL, "/2/users/7/followers", nil)
	if len(p.Data) != sandbox.DefaultUserFollowers || p.Meta.NextToken == "" {
		t.Errorf("followers default page: %d, next %q", len(p.Data), p.Meta.NextToken)
	}
	if d := p.Data[0]; d.Name == "" || d.Username == "" {
		t.Errorf("follower without name: %+v", d)
	}
	p, _ = getPage(t, srv.URL, "/2/users/7/tweets", nil)
	if len(p.Data) != sandbox.DefaultUserTweets || p.Meta.NextToken == "" {
		t.Errorf("tweets default page: %d, next %q", len(p.Data), p.Meta.NextToken)
	}
	for _, path := range []string{"/2/users/8/followers", "/2/users/8/tweets"} {
		_, body := getPage(t, srv.URL, path, nil)
		if string(body) != `{"meta":{"result_count":0}}` {
			t.Errorf("%s of a user with none: %s", path, body)
		}
	}
	// Counts are pure functions of the id.
	for id := uint64(1); id < 200; id++ {
		f, tw := sandbox.FollowerCount(id), sandbox.TweetCount(id)
		if f < 0 || f >= 5000 || tw < 0 || tw > 3200 || f != sandbox.FollowerCount(id) {
			t.Fatalf("user %d: %d followers, %d tweets", id, f, tw)
		}
	}
	ids, _ := walk(t, srv.URL, "/2/users/99/followers", url.Values{"max_results": {"1000"}})
	if len(ids) != sandbox.FollowerCount(99) {
		t.Errorf("user 99: %d followers served, FollowerCount says %d", len(ids), sandbox.FollowerCount(99))
	}
}

func TestUserTweetsOrderAndFilters(t *testing.T) {
	t.Parallel()
	const user = 12
	_, srv := serve(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{user: {Tweets: 250}}})
	path := "/2/users/12/tweets"
	all, pages := walk(t, srv.URL, path, url.Values{"max_results": {"100"}})
	if len(all) != 250 || pages != 3 {
		t.Fatalf("%d tweets in %d pages", len(all), pages)
	}
	var prev uint64
	for i, s := range all {
		id, _ := strconv.ParseUint(s, 10, 64)
		if id != sandbox.UserTweetID(user, i) || (i > 0 && id >= prev) {
			t.Fatalf("tweet %d: %s, not UserTweetID or not below %d", i, s, prev)
		}
		prev = id
	}
	p, _ := getPage(t, srv.URL, path, url.Values{"max_results": {"5"}, "tweet.fields": {"created_at,author_id"}})
	for _, d := range p.Data {
		id, _ := strconv.ParseUint(d.ID, 10, 64)
		if d.CreatedAt != sandbox.CreatedAt(id).Format("2006-01-02T15:04:05.000Z") || d.AuthorID != "12" {
			t.Errorf("tweet %s: created_at %s author %s", d.ID, d.CreatedAt, d.AuthorID)
		}
	}

	created := func(i int) time.Time { return sandbox.CreatedAt(sandbox.UserTweetID(user, i)) }
	tests := []struct {
		name   string
		q      url.Values
		lo, hi int // the expected slice of all
	}{
		{"since_id is exclusive", url.Values{"since_id": {all[200]}}, 0, 200},
		{"until_id is exclusive", url.Values{"until_id": {all[30]}}, 31, 250},
		{"both ids", url.Values{"since_id": {all[120]}, "until_id": {all[7]}}, 8, 120},
		{"start_time is inclusive", url.Values{"start_time": {created(150).Format(time.RFC3339)}}, 0, 151},
		{"end_time is exclusive", url.Values{"end_time": {created(40).Format(time.RFC3339)}}, 41, 250},
		{"a window", url.Values{"start_time": {created(180).Format(time.RFC3339)}, "end_time": {created(20).Format(time.RFC3339)}}, 21, 181},
		{"nothing in range", url.Values{"since_id": {all[0]}}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.q.Set("max_results", "7")
			got, _ := walk(t, srv.URL, path, tc.q)
			want := all[tc.lo:tc.hi]
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got %d tweets, want all[%d:%d] (%d)", len(got), tc.lo, tc.hi, len(want))
			}
		})
	}
}

func TestListBadRequests(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, sandbox.Config{Users: map[uint64]sandbox.UserSpec{5: {Followers: 3000, Tweets: 300}, 6: {Followers: 3000}}})
	first, _ := getPage(t, srv.URL, "/2/users/5/followers", nil)
	tests := []struct {
		name, url, param string
	}{
		{"followers max_results 0", "/2/users/5/followers?max_results=0", "max_results"},
		{"followers max_results 1001", "/2/users/5/followers?max_results=1001", "max_results"},
		{"tweets max_results 4", "/2/users/5/tweets?max_results=4", "max_results"},
		{"tweets max_results 101", "/2/users/5/tweets?max_results=101", "max_results"},
		{"max_results not a number", "/2/users/5/tweets?max_results=ten", "max_results"},
		{"made-up token", "/2/users/5/followers?pagination_token=7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i", "pagination_token"},
		{"empty token", "/2/users/5/followers?pagination_token=", "pagination_token"},
		{"another user's token", "/2/users/6/followers?pagination_token=" + first.Meta.NextToken, "pagination_token"},
		{"a followers token for tweets", "/2/users/5/tweets?pagination_token=" + first.Meta.NextToken, "pagination_token"},
		{"bad start_time", "/2/users/5/tweets?start_time=2024-01-01", "start_time"},
		{"start after end", "/2/users/5/tweets?start_time=2024-02-01T00:00:00Z&end_time=2024-01-01T00:00:00Z", "start_time"},
		{"bad since_id", "/2/users/5/tweets?since_id=x1", "since_id"},
		{"time filter on followers", "/2/users/5/followers?start_time=2024-01-01T00:00:00Z", "start_time"},
		{"user id not digits", "/2/users/jack/followers", "id"},
		{"unknown field", "/2/users/5/followers?user.fields=shoe_size", "user.fields"},
		{"duplicate", "/2/users/5/followers?max_results=5&max_results=6", "max_results"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, srv.URL+tc.url, "tok")
			if resp.StatusCode != 400 {
				t.Fatalf("%d %s, want 400", resp.StatusCode, body)
			}
			var p struct {
				Errors []struct {
					Parameters map[string][]string `json:"parameters"`
					Message    string              `json:"message"`
				} `json:"errors"`
				Title, Detail, Type string
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Title != "Invalid Request" || p.Type != "https://api.twitter.com/2/problems/invalid-request" || len(p.Errors) == 0 {
				t.Fatalf("body %s", body)
			}
			if _, ok := p.Errors[0].Parameters[tc.param]; !ok || p.Errors[0].Message == "" {
				t.Errorf("errors %s, want parameter %s", body, tc.param)
			}
		})
	}
}

func TestQuotaPerEndpoint(t *testing.T) {
	t.Parallel()
	sb, srv := serve(t, sandbox.Config{
		Limit:     3,
		NowFunc:   newClock().Now,
		Endpoints: map[string]sandbox.EndpointQuota{sandbox.EndpointUserFollowers: {Limit: 2, Window: time.Minute}},
	})
	for i, want := range []int{200, 200, 429} {
		resp, _ := get(t, srv.URL+"/2/users/1/followers", "tok")
		if resp.StatusCode != want || resp.Header.Get("x-rate-limit-limit") != "2" {
			t.Fatalf("followers request %d: %d limit %q", i, resp.StatusCode, resp.Header.Get("x-rate-limit-limit"))
		}
	}
	// The other endpoints have their own windows of Limit.
	for _, path := range []string{"/2/tweets?ids=1", "/2/users/1/tweets"} {
		resp, _ := get(t, srv.URL+path, "tok")
		if resp.StatusCode != 200 || resp.Header.Get("x-rate-limit-limit") != "3" || resp.Header.Get("x-rate-limit-remaining") != "2" {
			t.Errorf("%s: %d limit %q remaining %q", path, resp.StatusCode,
				resp.Header.Get("x-rate-limit-limit"), resp.Header.Get("x-rate-limit-remaining"))
		}
	}
	if st := sb.Stats(); st.OverQuota != 1 || st.Tokens["tok"].Windows[0] != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, err := sandbox.New(sandbox.Config{Endpoints: map[string]sandbox.EndpointQuota{"likes": {Limit: 1}}}); err == nil {
		t.Error("unknown endpoint accepted")
	}
	if _, err := sandbox.New(sandbox.Config{Users: map[uint64]sandbox.UserSpec{1: {Followers: -1}}}); err == nil {
		t.Error("negative followers accepted")
	}
}
