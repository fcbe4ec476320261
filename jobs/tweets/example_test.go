package tweets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/sandbox"
)

// Plan turns an id file into tasks of up to 100 ids each; comments, blank
// lines and repeats within a batch are skipped.
func ExampleLookup_Plan() {
	l, err := tweets.NewLookup(tweets.Config{})
	if err != nil {
		panic(err)
	}
	ids := `# tweets to collect
20
1460323737035677698   # the v2 announcement

1460323737035677698
`
	err = l.Plan(context.Background(), nil, strings.NewReader(ids), func(t jobs.TaskSpec) error {
		fmt.Printf("task of %d items: %s\n", t.Items, t.Payload)
		return nil
	})
	fmt.Println("error:", err)

	err = l.Plan(context.Background(), nil, strings.NewReader("20\n21\ntwenty-two\n"), func(jobs.TaskSpec) error { return nil })
	var verr *jobs.ValidationError
	if errors.As(err, &verr) {
		fmt.Printf("field %s: %s\n", verr.Field, verr.Reason)
	}
	// Output:
	// task of 2 items: {"ids":["20","1460323737035677698"]}
	// error: <nil>
	// field ids: line 3: "twenty-two" is not a tweet id (digits only)
}

// Prepare normalizes params as submitted from a form or the API.
func ExampleLookup_Prepare() {
	l, err := tweets.NewLookup(tweets.Config{})
	if err != nil {
		panic(err)
	}
	params, err := l.Prepare(json.RawMessage(`{"tweet_fields": "lang, created_at", "expansions": ["author_id"]}`))
	fmt.Println(string(params), err)

	_, err = l.Prepare(json.RawMessage(`{"tweet_fields": ["likes"]}`))
	fmt.Println(err)
	// Output:
	// {"expansions":["author_id"],"tweet_fields":["created_at","lang"]} <nil>
	// params.tweet_fields: unknown tweet field "likes"; X accepts article, attachments, author_id, card_uri, community_id, context_annotations, conversation_id, created_at, display_text_range, edit_controls, edit_history_tweet_ids, entities, geo, id, in_reply_to_user_id, lang, media_metadata, non_public_metrics, note_tweet, organic_metrics, possibly_sensitive, promoted_metrics, public_metrics, referenced_tweets, reply_settings, scopes, source, text, withheld
}

// A paginated kind is carried out page by page: each page's task returns its
// rows and the task of the next page, until the list or max_items ends.
func ExampleUserList_Do() {
	sb, err := sandbox.New(sandbox.Config{Users: map[uint64]sandbox.UserSpec{42: {Followers: 5}}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	followers, err := tweets.NewUserFollowers(tweets.Config{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	params, err := followers.Prepare(json.RawMessage(`{"max_results": 2}`))
	if err != nil {
		panic(err)
	}
	var queue []jobs.TaskSpec
	err = followers.Plan(context.Background(), params, strings.NewReader("42\n"), func(t jobs.TaskSpec) error {
		queue = append(queue, t)
		return nil
	})
	if err != nil {
		panic(err)
	}
	httpClient := &http.Client{Transport: bearerToken("stand-in-token")}
	for len(queue) > 0 {
		task := queue[0]
		queue = queue[1:]
		out, err := followers.Do(context.Background(), jobs.Attempt{Params: params, Payload: task.Payload, HTTP: httpClient})
		if err != nil {
			panic(err)
		}
		for _, r := range out.Rows {
			fmt.Println(r.Key)
		}
		fmt.Println("follow-up tasks:", len(out.Next))
		queue = append(queue, out.Next...)
	}
	st := sb.Stats()
	fmt.Printf("pages %d, repeated %d\n", st.PagesRequested, st.PagesRepeated)
	// Output:
	// 42:1000000
	// 42:6275414000000000001
	// follow-up tasks: 1
	// 42:6275414000000000002
	// 42:6275414000000000003
	// follow-up tasks: 1
	// 42:6275414000000000004
	// follow-up tasks: 0
	// pages 3, repeated 0
}

// bearerToken authenticates requests as the worker's client does.
type bearerToken string

func (b bearerToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
