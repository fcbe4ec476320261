package sandbox_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pacerhq/pacer/sandbox"
)

// A test serves the sandbox with httptest and a compressed window: here two
// requests per minute per token, on a fixed clock.
func ExampleServer() {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sb, err := sandbox.New(sandbox.Config{
		Limit:          2,
		Window:         time.Minute,
		MissingPercent: -1, // every id is found
		NowFunc:        func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()

	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/2/tweets?ids=20&tweet.fields=created_at", nil)
		req.Header.Set("Authorization", "Bearer stand-in-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("x-rate-limit-remaining"), resp.Header.Get("x-rate-limit-reset"))
		fmt.Println(string(body))
	}
	st := sb.Stats()
	fmt.Printf("requests %d, served %d, over quota %d, id 20 fetched %d times\n",
		st.Requests, st.Served, st.OverQuota, sb.IDRequests("20"))
	// Output:
	// 200 1 1740830460
	// {"data":[{"edit_history_tweet_ids":["20"],"id":"20","text":"quota request request queue reset #pacer","created_at":"2010-11-04T01:42:54.000Z"}]}
	// 200 0 1740830460
	// {"data":[{"edit_history_tweet_ids":["20"],"id":"20","text":"quota request request queue reset #pacer","created_at":"2010-11-04T01:42:54.000Z"}]}
	// 429 0 1740830460
	// {"errors":[{"code":88,"message":"Rate limit exceeded"}]}
	// requests 3, served 2, over quota 1, id 20 fetched 2 times
}

// The paginated lists answer one page at a time; meta.next_token asks for
// the next and is absent on the last page. Counts are pure functions of the
// user id, or set per user for a test.
func ExampleServer_followers() {
	sb, err := sandbox.New(sandbox.Config{Users: map[uint64]sandbox.UserSpec{42: {Followers: 3}}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()

	url := srv.URL + "/2/users/42/followers?max_results=2"
	for url != "" {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer stand-in-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var page struct {
			Meta struct {
				NextToken string `json:"next_token"`
			} `json:"meta"`
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
		if err := json.Unmarshal(body, &page); err != nil {
			panic(err)
		}
		url = ""
		if page.Meta.NextToken != "" {
			url = srv.URL + "/2/users/42/followers?max_results=2&pagination_token=" + page.Meta.NextToken
		}
	}
	st := sb.Stats()
	fmt.Printf("pages %d, repeated %d, first page served %d time(s)\n",
		st.PagesRequested, st.PagesRepeated, sb.PageRequests(sandbox.EndpointUserFollowers, 42, 0))
	// Output:
	// {"data":[{"id":"1000000","name":"Sandbox User 1000000","username":"sandbox_1000000"},{"id":"6275414000000000001","name":"Sandbox User 6275414000000000001","username":"sandbox_6275414000000000001"}],"meta":{"result_count":2,"next_token":"cot38chq68t36c9i6opm6cpi"}}
	// {"data":[{"id":"6275414000000000002","name":"Sandbox User 6275414000000000002","username":"sandbox_6275414000000000002"}],"meta":{"result_count":1}}
	// pages 2, repeated 0, first page served 1 time(s)
}
