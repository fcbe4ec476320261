package tweets_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/tweets"
)

// marks builds the marks of page tasks: user, key, user, key, ...
func marks(kv ...string) []jobs.Mark {
	var out []jobs.Mark
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, jobs.Mark{Payload: json.RawMessage(`{"user_id":"` + kv[i] + `","pagination_token":"","fetched":0}`), Key: kv[i+1]})
	}
	return out
}

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
		name         string
		list         *tweets.UserList
		params, prev string
		marks        []jobs.Mark
		want         string
	}{
		{"first run", tw, `{}`, ``, nil, `{"max_results":100}`},
		{"a mark", tw, `{}`, ``, marks("7", "1500"), `{"max_results":100,"since_ids":{"7":"1500"}}`},
		{"per user, the greatest of its pages", tw, `{}`, ``, marks("7", "1500", "7", "1400", "8", "90"),
			`{"max_results":100,"since_ids":{"7":"1500","8":"90"}}`},
		{"above prev", tw, `{}`, `{"since_ids":{"7":"1000"}}`, marks("7", "1500"), `{"max_results":100,"since_ids":{"7":"1500"}}`},
		{"a user without news keeps prev's", tw, `{}`, `{"since_ids":{"7":"1000","8":"50"}}`, marks("7", "1500"),
			`{"max_results":100,"since_ids":{"7":"1500","8":"50"}}`},
		{"no marks keep prev", tw, `{}`, `{"since_ids":{"7":"1000"}}`, nil, `{"max_results":100,"since_ids":{"7":"1000"}}`},
		{"numeric, not byte order", tw, `{}`, `{"since_ids":{"7":"999"}}`, marks("7", "1000"), `{"max_results":100,"since_ids":{"7":"1000"}}`},
		{"below the schedule's since_id: dropped", tw, `{"since_id":"2000"}`, ``, marks("7", "1500"), `{"max_results":100,"since_id":"2000"}`},
		{"bad mark ignored", tw, `{}`, ``, marks("7", "12a"), `{"max_results":100}`},
		{"payload without a user ignored", tw, `{}`, ``, []jobs.Mark{{Payload: json.RawMessage(`{}`), Key: "5"}}, `{"max_results":100}`},
		{"until bounds it", tw, `{"until_id":"1501"}`, ``, marks("7", "1500"), `{"max_results":100,"until_id":"1501"}`},
		{"followers unchanged", fo, `{"max_results":10}`, ``, marks("7", "1500"), `{"max_results":10}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var prev json.RawMessage
			if tc.prev != "" {
				prev = json.RawMessage(tc.prev)
			}
			got, err := tc.list.Advance(json.RawMessage(tc.params), prev, tc.marks)
			if err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("Advance = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSinceIDsParam(t *testing.T) {
	t.Parallel()
	tw, err := tweets.NewUserTweets(tweets.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ params, want, err string }{
		{`{"since_ids":{"007":20,"8":"0030"}}`, `{"max_results":100,"since_ids":{"7":"20","8":"30"}}`, ""},
		{`{"since_ids":{}}`, `{"max_results":100}`, ""},
		{`{"since_ids":null}`, `{"max_results":100}`, ""},
		{`{"since_ids":[1]}`, "", "must be an object"},
		{`{"since_ids":{"x":"1"}}`, "", "not a user id"},
		{`{"since_ids":{"7":"1a"}}`, "", "user 7"},
	} {
		got, err := tw.Prepare(json.RawMessage(tc.params))
		if tc.err != "" {
			ve, ok := err.(*jobs.ValidationError)
			if !ok || ve.Field != "params.since_ids" || !strings.Contains(ve.Reason, tc.err) {
				t.Errorf("Prepare(%s): %v; want params.since_ids: %s", tc.params, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("Prepare(%s) = %s, %v; want %s", tc.params, got, err, tc.want)
		}
	}
	fo, _ := tweets.NewUserFollowers(tweets.Config{BaseURL: "http://127.0.0.1:1"})
	if _, err := fo.Prepare(json.RawMessage(`{"since_ids":{"7":"1"}}`)); err == nil {
		t.Error("user_followers took since_ids")
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
	f.Add(`{}`, `{"since_ids":{"7":"10"}}`, `{"user_id":"7"}`, "20")
	f.Add(`{"since_id":"5","until_id":"30"}`, `{}`, `{"user_id":"8","pagination_token":"x"}`, "29")
	f.Add(`{"max_results":5,"since_ids":{"1":"2"}}`, `not json`, `[]`, "18446744073709551615")
	f.Add(`{}`, ``, ``, "0")
	f.Fuzz(func(t *testing.T, params, prev, payload, mark string) {
		p, err := tw.Prepare(json.RawMessage(params))
		if err != nil {
			return
		}
		var pr json.RawMessage
		if prev != "" {
			pr = json.RawMessage(prev)
		}
		out, err := tw.Advance(p, pr, []jobs.Mark{{Payload: json.RawMessage(payload), Key: mark}})
		if err != nil {
			t.Fatalf("Advance(%s, %q, %q, %q): %v", p, prev, payload, mark, err)
		}
		if _, err := tw.Prepare(out); err != nil {
			t.Fatalf("Advance(%s, %q, %q, %q) = %s, which Prepare refuses: %v", p, prev, payload, mark, out, err)
		}
	})
}
