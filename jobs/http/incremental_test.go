package httpkind_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	httpkind "github.com/pacerhq/pacer/jobs/http"
)

// feed is a test upstream whose items grow at the end: GET /feed?cursor=N
// returns items N to N+2 and, while more exist, next_cursor N+3.
type feed struct {
	mu    sync.Mutex
	items int
	asked []string // cursors asked for, in order
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	f.asked = append(f.asked, r.URL.Query().Get("cursor"))
	body := map[string]any{"items": []int{}}
	var items []int
	for i := c; i < min(c+3, f.items); i++ {
		items = append(items, i)
	}
	body["items"] = items
	if c+3 < f.items {
		body["next_cursor"] = strconv.Itoa(c + 3)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// TestAdvanceStartURL: a schedule over a growing feed starts each run at
// the page the previous run ended on, and reads on from there.
func TestAdvanceStartURL(t *testing.T) {
	t.Parallel()
	f := &feed{items: 7}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	k := newGet(t, httpkind.Config{})
	params := fmt.Sprintf(`{"start_url":%q,"cursor_path":"next_cursor"}`, srv.URL+"/feed")
	prepared, err := k.Prepare(json.RawMessage(params))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := run(t, k, string(prepared), "")
	if len(rows) != 3 || fmt.Sprint(f.asked) != "[ 3 6]" {
		t.Fatalf("first run: %d pages, cursors %q", len(rows), f.asked)
	}
	// The marks the store would give: each page task's payload and key.
	var marks []jobs.Mark
	for i, cursor := range []string{"", "3", "6"} {
		u := srv.URL + "/feed"
		if cursor != "" {
			u += "?cursor=" + cursor
		}
		if _, ok := rows[u]; !ok {
			t.Fatalf("no row for %s: %v", u, rows)
		}
		payload, _ := json.Marshal(map[string]any{"url": u, "page": i + 1})
		marks = append(marks, jobs.Mark{Payload: payload, Key: u})
	}
	f.mu.Lock()
	f.items, f.asked = 12, nil
	f.mu.Unlock()
	next, err := k.Advance(prepared, prepared, marks)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		StartURL string `json:"start_url"`
	}
	if err := json.Unmarshal(next, &p); err != nil || p.StartURL != srv.URL+"/feed?cursor=6" {
		t.Fatalf("Advance = %s, %v; want start_url at cursor 6", next, err)
	}
	rows, _ = run(t, k, string(next), "")
	if fmt.Sprint(f.asked) != "[6 9]" || len(rows) != 2 {
		t.Fatalf("second run asked cursors %q (%d pages), want 6 then 9", f.asked, len(rows))
	}
	// No marks: start where the previous run started; a url_template job
	// is left as it is.
	if again, err := k.Advance(prepared, next, nil); err != nil || string(again) != string(next) {
		t.Fatalf("Advance without marks = %s, %v; want the previous start %s", again, err, next)
	}
	tmpl := json.RawMessage(fmt.Sprintf(`{"url_template":%q}`, srv.URL+"/x/{id}"))
	if got, err := k.Advance(tmpl, nil, marks); err != nil || string(got) != string(tmpl) {
		t.Fatalf("Advance of a url_template job = %s, %v", got, err)
	}
}
