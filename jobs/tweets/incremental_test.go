package tweets_test

import (
	"encoding/json"
	"testing"

	"github.com/pacerhq/pacer/jobs/tweets"
)

func TestAdvance(t *testing.T) {
	t.Parallel()
	tw, err := tweets.NewUserTweets(tweets.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	fo, err := tweets.NewUserFollowers(tweets.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		list               *tweets.UserList
		params, prev, mark string
		want               string
	}{
		{"first run", tw, `{}`, ``, ``, `{"max_results":100}`},
		{"mark", tw, `{}`, ``, `1500`, `{"max_results":100,"since_id":"1500"}`},
		{"mark above prev", tw, `{}`, `{"since_id":"1000"}`, `1500`, `{"max_results":100,"since_id":"1500"}`},
		{"no mark keeps prev", tw, `{}`, `{"since_id":"1000"}`, ``, `{"max_results":100,"since_id":"1000"}`},
		{"never behind the schedule's own", tw, `{"since_id":"2000"}`, `{"since_id":"1000"}`, `1500`, `{"max_results":100,"since_id":"2000"}`},
		{"numeric, not byte order", tw, `{}`, `{"since_id":"999"}`, `1000`, `{"max_results":100,"since_id":"1000"}`},
		{"bad mark ignored", tw, `{}`, ``, `12a`, `{"max_results":100}`},
		{"until bounds it", tw, `{"until_id":"1501"}`, ``, `1500`, `{"until_id":"1501"}`},
		{"followers unchanged", fo, `{"max_results":10}`, ``, `1500`, `{"max_results":10}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var prev json.RawMessage
			if tc.prev != "" {
				prev = json.RawMessage(tc.prev)
			}
			got, err := tc.list.Advance(json.RawMessage(tc.params), prev, tc.mark)
			if err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("Advance = %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzAdvance checks that Advance never fails on params that Prepare
// accepts, whatever the previous params and mark, and that what it returns
// is again accepted by Prepare.
func FuzzAdvance(f *testing.F) {
	tw, err := tweets.NewUserTweets(tweets.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{}`, `{"since_id":"10"}`, "20")
	f.Add(`{"since_id":"5","until_id":"30"}`, `{}`, "29")
	f.Add(`{"max_results":5}`, `not json`, "18446744073709551615")
	f.Add(`{}`, ``, "0")
	f.Fuzz(func(t *testing.T, params, prev, mark string) {
		p, err := tw.Prepare(json.RawMessage(params))
		if err != nil {
			return
		}
		var pr json.RawMessage
		if prev != "" {
			pr = json.RawMessage(prev)
		}
		out, err := tw.Advance(p, pr, mark)
		if err != nil {
			t.Fatalf("Advance(%s, %q, %q): %v", p, prev, mark, err)
		}
		if _, err := tw.Prepare(out); err != nil {
			t.Fatalf("Advance(%s, %q, %q) = %s, which Prepare refuses: %v", p, prev, mark, out, err)
		}
	})
}
