package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/store"
)

// TestJSONSubmissionStreamsIDs: a JSON submission's ids are read an element
// at a time (spooled to a temporary file, removed after the request), in
// whatever order the fields come; numbers keep their digits; bad input names
// its field.
func TestJSONSubmissionStreamsIDs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the ids are spooled
	e := newEnv(t)
	var ids strings.Builder
	ids.WriteString(`[1460323737035677698`) // past float64's exact integers
	for i := 1; i < 5000; i++ {
		fmt.Fprintf(&ids, `,"%d"`, 1_000_000+i)
	}
	ids.WriteString(`]`)
	// ids first, kind last: the order of the fields is free.
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json",
		strings.NewReader(`{"ids":`+ids.String()+`,"credential":"demo","params":{},"kind":"tweet_lookup"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %s %s", resp.Status, body)
	}
	j, err := e.store.GetJob(t.Context(), 1)
	if err != nil || j.ItemsTotal != 5000 || j.TasksTotal != 50 {
		t.Fatalf("job %+v, %v: want 5,000 ids in 50 tasks", j, err)
	}
	tasks, err := e.store.ListTasks(t.Context(), 1, nil, 0, 1)
	if err != nil || len(tasks) != 1 || !strings.Contains(string(tasks[0].Payload), "1460323737035677698") {
		t.Fatalf("first task %+v, %v: want the bare number's digits kept exactly", tasks, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("%d files left in TMPDIR after the request: %v", len(left), left)
	}

	for _, tc := range []struct{ name, body, field, reason string }{
		{"unknown field", `{"kind":"tweet_lookup","credential":"demo","ids":["1"],"idz":["2"]}`, "body", `unknown field "idz"`},
		{"ids twice", `{"kind":"tweet_lookup","credential":"demo","ids":["1"],"ids":["2"]}`, "ids", "given twice"},
		{"ids not an array", `{"kind":"tweet_lookup","credential":"demo","ids":"1,2"}`, "ids", "not an array"},
		{"an id that is an object", `{"kind":"tweet_lookup","credential":"demo","ids":["1",{"id":2}]}`, "ids", "item 2 is not a string or a number"},
		{"a line break in an id", `{"kind":"tweet_lookup","credential":"demo","ids":["1","2\n3"]}`, "ids", "item 2 contains a line break"},
		{"kind not a string", `{"kind":7,"credential":"demo","ids":["1"]}`, "kind", "not a string"},
		{"cut short inside the ids", `{"kind":"tweet_lookup","credential":"demo","ids":["1",`, "body", ""},
		{"trailing garbage inside the object", `{"kind":"tweet_lookup" "credential":"demo"}`, "body", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(tc.body))
			var v struct {
				Error struct{ Field, Reason string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &v); resp.StatusCode != http.StatusBadRequest || err != nil ||
				v.Error.Field != tc.field || !strings.Contains(v.Error.Reason, tc.reason) {
				t.Fatalf("%s %s: want 400 naming %q with %q", resp.Status, body, tc.field, tc.reason)
			}
		})
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 1 {
		t.Fatalf("%d jobs after the refusals, want the first only", len(list))
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("%d files left in TMPDIR after refused requests: %v", len(left), left)
	}
}
