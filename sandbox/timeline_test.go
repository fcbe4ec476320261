package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pacerhq/pacer/sandbox"
)

// TestAddTweets checks that added tweets come first, newer than the rest,
// that since_id keeps only them, and that the log says so.
func TestAddTweets(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Config{Users: map[uint64]sandbox.UserSpec{7: {Tweets: 12}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	get := func(query string) []string {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/2/users/7/tweets?max_results=100"+query, nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Data []struct{ ID string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		var ids []string
		for _, d := range body.Data {
			ids = append(ids, d.ID)
		}
		return ids
	}
	first := get("")
	if len(first) != 12 {
		t.Fatalf("%d tweets, want 12", len(first))
	}
	added := sb.AddTweets(7, 3)
	if len(added) != 3 || added[0] <= added[1] || added[2] <= sandbox.UserTweetID(7, 0) {
		t.Fatalf("added %v: not newest first above the newest %d", added, sandbox.UserTweetID(7, 0))
	}
	all := get("")
	if len(all) != 15 || all[0] != fmt.Sprint(added[0]) || all[3] != first[0] {
		t.Fatalf("timeline after adding = %v", all)
	}
	news := get("&since_id=" + first[0])
	if len(news) != 3 || news[2] != fmt.Sprint(added[2]) {
		t.Fatalf("since the old newest = %v, want the 3 added", news)
	}
	more := sb.AddTweets(7, 2)
	if more[1] <= added[0] {
		t.Fatalf("second batch %v not above the first %v", more, added)
	}
	log := sb.ListRequests()
	want := sandbox.ListRequest{User: 7, SinceID: sandbox.UserTweetID(7, 0), Count: 3, Newest: added[0], Oldest: added[2]}
	if len(log) != 3 || log[2] != want || log[0].Count != 12 || log[1].Count != 15 {
		t.Fatalf("log = %+v, want its last %+v", log, want)
	}
}
