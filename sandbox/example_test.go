package sandbox_test

import (
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
