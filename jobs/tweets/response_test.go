package tweets

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
)

// A real X answer: one tweet found, one deleted, one protected.
const realLookupBody = `{"data":[{"edit_history_tweet_ids":["1460323737035677698"],"id":"1460323737035677698","text":"Introducing a new era for the Twitter Developer Platform! \n\n📣The Twitter API v2 is now the primary API","created_at":"2021-11-15T19:08:05.000Z","author_id":"2244994945"}],` +
	`"includes":{"users":[{"id":"2244994945","name":"Twitter Dev","username":"TwitterDev"}]},` +
	`"errors":[{"value":"1519781379172495360","detail":"Could not find tweet with ids: [1519781379172495360].","title":"Not Found Error","resource_type":"tweet","parameter":"ids","resource_id":"1519781379172495360","type":"https://api.twitter.com/2/problems/resource-not-found"},` +
	`{"value":"1519781381693353984","detail":"Sorry, you are not authorized to see the Tweet with ids: [1519781381693353984].","title":"Authorization Error","resource_type":"tweet","parameter":"ids","resource_id":"1519781381693353984","type":"https://api.twitter.com/2/problems/not-authorized-for-resource"}]}`

func TestDecodeLookupResponse(t *testing.T) {
	t.Parallel()
	ids := []string{"1460323737035677698", "1519781379172495360", "1519781381693353984", "42"}
	got, err := decodeLookupResponse([]byte(realLookupBody))
	if err != nil {
		t.Fatal(err)
	}
	rows := got.rows(ids)
	want := []jobs.Row{
		{Key: ids[0], Status: jobs.StatusOK},
		{Key: ids[1], Status: jobs.StatusNotFound, Reason: "Could not find tweet with ids: [1519781379172495360]."},
		{Key: ids[2], Status: jobs.StatusNotFound, Reason: "Sorry, you are not authorized to see the Tweet with ids: [1519781381693353984]."},
		{Key: ids[3], Status: jobs.StatusNotFound, Reason: "absent from the upstream's response"},
	}
	var tweet map[string]any
	if err := json.Unmarshal(rows[0].Data, &tweet); err != nil || tweet["author_id"] != "2244994945" {
		t.Errorf("row data %s: %v", rows[0].Data, err)
	}
	rows[0].Data = nil
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n got %+v\nwant %+v", rows, want)
	}
}

func TestDecodeLookupResponseShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		ok      []string          // ids found
		missing map[string]string // id → reason
		wantErr string
	}{
		{"empty object", `{}`, nil, nil, ""},
		{"null data", `{"data":null}`, nil, nil, ""},
		{"all missing", `{"errors":[{"value":"5","title":"Not Found Error","resource_type":"tweet","resource_id":"5"}]}`, nil, map[string]string{"5": "Not Found Error"}, ""},
		{"value only", `{"errors":[{"value":"5","detail":"gone"}]}`, nil, map[string]string{"5": "gone"}, ""},
		{"numeric ids", `{"data":[{"id":7,"text":"x"}],"errors":[{"resource_id":8}]}`, []string{"7"}, map[string]string{"8": "reported missing by the upstream"}, ""},
		{"user error ignored", `{"errors":[{"resource_type":"user","resource_id":"5","detail":"x"}]}`, nil, nil, ""},
		{"other problem ignored", `{"errors":[{"parameters":{"ids":["x"]},"message":"bad"},"junk",3]}`, nil, nil, ""},
		{"tweet without id skipped", `{"data":[{"text":"x"},{"id":"2"}]}`, []string{"2"}, nil, ""},
		{"duplicates: first wins", `{"data":[{"id":"2","text":"a"},{"id":"2","text":"b"}]}`, []string{"2"}, nil, ""},
		{"truncated", realLookupBody[:len(realLookupBody)/2], nil, nil, "unexpected end of JSON input"},
		{"empty body", ``, nil, nil, "not a JSON object"},
		{"list", `[]`, nil, nil, "not a JSON object"},
		{"data object", `{"data":{"id":"1"}}`, nil, nil, `"data" is not a list`},
		{"data of strings", `{"data":["1"]}`, nil, nil, `"data"[0] is not an object`},
		{"errors not a list", `{"errors":{}}`, nil, nil, "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeLookupResponse([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ok []string
			for id := range got.tweets {
				ok = append(ok, id)
			}
			if len(ok) != len(tc.ok) || (len(ok) == 1 && ok[0] != tc.ok[0]) {
				t.Errorf("tweets %v, want %v", ok, tc.ok)
			}
			if len(got.missing) != len(tc.missing) || (len(tc.missing) > 0 && !reflect.DeepEqual(got.missing, tc.missing)) {
				t.Errorf("missing %v, want %v", got.missing, tc.missing)
			}
		})
	}
	got, _ := decodeLookupResponse([]byte(`{"data":[{"id":"2","text":"a"},{"id":"2","text":"b"}]}`))
	if string(got.tweets["2"]) != `{"id":"2","text":"a"}` {
		t.Errorf("first duplicate should win: %s", got.tweets["2"])
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`,
			`{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`},
		{"", ""},
		{"a\n\n  b\tc", "a b c"},
		{`{"header":"Authorization: Bearer s3cr3t-t0ken","x":1}`, `{"header":"Authorization: Bearer [redacted]","x":1}`},
		{`bearer abc BEARER def`, `bearer [redacted] BEARER [redacted]`},
		{"\xff\xfe", "\uFFFD"},
		{strings.Repeat("y", 300), strings.Repeat("y", 200) + "…"},
	}
	for _, tc := range tests {
		if got := excerpt([]byte(tc.in)); got != tc.want {
			t.Errorf("excerpt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDecodeLookupResponse checks that the decoder never panics on what an
// upstream may send, and that whatever it accepts gives exactly one row per
// requested id, in order, with a valid status and, for ok rows, a JSON
// object.
func FuzzDecodeLookupResponse(f *testing.F) {
	for _, s := range []string{
		realLookupBody,
		realLookupBody[:len(realLookupBody)/2],
		`{"errors":[{"value":"20","detail":"Could not find tweet with ids: [20].","title":"Not Found Error","resource_type":"tweet","parameter":"ids","resource_id":"20","type":"https://api.twitter.com/2/problems/resource-not-found"}]}`,
		`{"data":[{"edit_history_tweet_ids":["20"],"id":"20","text":"just setting up my twttr"}]}`,
		`{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`,
		`{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`,
		`{"data":[{"id":20}],"errors":[{"resource_id":20}]}`,
		`{"data":null,"errors":null}`,
		`{"data":[1,2]}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	ids := []string{"20", "1460323737035677698", "1519781379172495360", "7"}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeLookupResponse(body)
		if err != nil {
			return
		}
		rows := r.rows(ids)
		if len(rows) != len(ids) {
			t.Fatalf("%d rows for %d ids", len(rows), len(ids))
		}
		for i, row := range rows {
			if row.Key != ids[i] {
				t.Fatalf("row %d key %q, want %q", i, row.Key, ids[i])
			}
			switch row.Status {
			case jobs.StatusOK:
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(row.Data, &obj); err != nil {
					t.Fatalf("ok row %s: data %q is not an object: %v", row.Key, row.Data, err)
				}
			case jobs.StatusNotFound:
				if row.Reason == "" || row.Data != nil {
					t.Fatalf("not_found row %+v", row)
				}
			default:
				t.Fatalf("row status %q", row.Status)
			}
		}
	})
}
