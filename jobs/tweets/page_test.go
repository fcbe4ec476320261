package tweets

import (
	"encoding/json"
	"strings"
	"testing"
)

// Real X answers for a page of followers and of a user's tweets.
const (
	realFollowersBody = `{"data":[{"id":"1324848235714736129","name":"Twitter Dev Fan","username":"devfan"},` +
		`{"id":"2244994945","name":"Twitter Dev","username":"TwitterDev"}],` +
		`"meta":{"result_count":2,"next_token":"DFEDBNRFT3MHCZZZ"}}`
	realUserTweetsBody = `{"data":[{"edit_history_tweet_ids":["1460323737035677698"],"id":"1460323737035677698","text":"Introducing a new era"}],` +
		`"meta":{"result_count":1,"newest_id":"1460323737035677698","oldest_id":"1460323737035677698"}}`
)

func TestDecodePage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		ids     []string
		next    string
		wantErr string
	}{
		{"followers", realFollowersBody, []string{"1324848235714736129", "2244994945"}, "DFEDBNRFT3MHCZZZ", ""},
		{"last page of tweets", realUserTweetsBody, []string{"1460323737035677698"}, "", ""},
		{"empty page", `{"meta":{"result_count":0}}`, nil, "", ""},
		{"empty page with a token", `{"meta":{"result_count":0,"next_token":"abc"}}`, nil, "abc", ""},
		{"nulls", `{"data":null,"meta":null}`, nil, "", ""},
		{"no meta", `{"data":[{"id":"1"}]}`, []string{"1"}, "", ""},
		{"numeric id", `{"data":[{"id":7}]}`, []string{"7"}, "", ""},
		{"no id skipped, repeat dropped", `{"data":[{"name":"x"},{"id":"2"},{"id":"2","v":1}]}`, []string{"2"}, "", ""},
		{"not an object", `[1]`, nil, "", "not a JSON object"},
		{"empty", ``, nil, "", "not a JSON object"},
		{"cut off", `{"data":[{"id":"1"}`, nil, "", "unexpected end"},
		{"data not a list", `{"data":{"id":"1"}}`, nil, "", `"data" is not a list`},
		{"item not an object", `{"data":["1"]}`, nil, "", `"data"[0] is not an object`},
		{"meta not an object", `{"meta":"x"}`, nil, "", `"meta" is not an object`},
		{"token not a string", `{"meta":{"next_token":5}}`, nil, "", "not a string"},
		{"token too long", `{"meta":{"next_token":"` + strings.Repeat("a", 513) + `"}}`, nil, "", "longer than 512"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := decodePage([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range r.items {
				ids = append(ids, it.id)
				if !json.Valid(it.data) {
					t.Errorf("item %s: invalid JSON %s", it.id, it.data)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") || r.nextToken != tc.next {
				t.Errorf("ids %v next %q; want %v %q", ids, r.nextToken, tc.ids, tc.next)
			}
		})
	}
}

// FuzzDecodePage checks that the page decoder never panics and that what it
// accepts is sound: distinct ids of 1 to 64 bytes, valid compact JSON
// objects, a token of at most 512 bytes.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		realFollowersBody, realUserTweetsBody,
		`{"meta":{"result_count":0}}`, `{"data":null}`, `{"data":[{"id":1e3}]}`,
		`{"data":[{"id":"1"},{"id":"1"}],"meta":{"next_token":null}}`, `{"data":[{}]}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodePage(body)
		if err != nil {
			return
		}
		if len(r.nextToken) > maxTokenLen {
			t.Fatalf("token of %d bytes", len(r.nextToken))
		}
		seen := map[string]bool{}
		for _, it := range r.items {
			if it.id == "" || len(it.id) > maxItemIDLen || seen[it.id] {
				t.Fatalf("bad or repeated id %q", it.id)
			}
			seen[it.id] = true
			if len(it.data) == 0 || it.data[0] != '{' || !json.Valid(it.data) {
				t.Fatalf("item %q: data %q", it.id, it.data)
			}
		}
	})
}
