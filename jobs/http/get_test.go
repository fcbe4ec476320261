package httpkind_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	httpkind "github.com/pacerhq/pacer/jobs/http"
)

func newGet(t testing.TB, cfg httpkind.Config) *httpkind.Get {
	t.Helper()
	if cfg.AllowHosts == nil {
		cfg.AllowHosts = []string{"127.0.0.1"}
	}
	k, err := httpkind.NewGet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// run is a tiny worker: it prepares params, plans input and carries out
// every task, feeding follow-up tasks back in, until none is left. It
// returns the rows by key and how many tasks ran. A task error fails the
// test.
func run(t testing.TB, k *httpkind.Get, params, input string) (map[string]jobs.Row, int) {
	t.Helper()
	rows, tasks, err := tryRun(t, k, params, input)
	if err != nil {
		t.Fatal(err)
	}
	return rows, tasks
}

func tryRun(t testing.TB, k *httpkind.Get, params, input string) (map[string]jobs.Row, int, error) {
	t.Helper()
	p, err := k.Prepare(json.RawMessage(params))
	if err != nil {
		t.Fatalf("Prepare(%s): %v", params, err)
	}
	var items *strings.Reader
	if input != "" {
		items = strings.NewReader(input)
	}
	var queue []jobs.TaskSpec
	planErr := func() error {
		emit := func(ts jobs.TaskSpec) error { queue = append(queue, ts); return nil }
		if items == nil {
			return k.Plan(t.Context(), p, nil, emit)
		}
		return k.Plan(t.Context(), p, items, emit)
	}()
	if planErr != nil {
		t.Fatalf("Plan: %v", planErr)
	}
	rows := map[string]jobs.Row{}
	tasks := 0
	for len(queue) > 0 {
		ts := queue[0]
		queue = queue[1:]
		tasks++
		if tasks > 10_000 {
			t.Fatal("tasks do not end")
		}
		out, err := k.Do(t.Context(), jobs.Attempt{Number: 1, Params: p, Payload: ts.Payload, HTTP: &http.Client{}})
		if err != nil {
			return rows, tasks, fmt.Errorf("Do(%s): %w", ts.Payload, err)
		}
		if ts.Items != 0 && len(out.Rows) != ts.Items {
			t.Fatalf("task of %d items gave %d rows", ts.Items, len(out.Rows))
		}
		for _, r := range out.Rows {
			if _, dup := rows[r.Key]; dup {
				t.Fatalf("row %s twice", r.Key)
			}
			rows[r.Key] = r
		}
		queue = append(queue, out.Next...)
	}
	return rows, tasks, nil
}

type data struct {
	Status      int             `json:"status"`
	Body        json.RawMessage `json:"body"`
	ContentType string          `json:"content_type"`
}

func decode(t testing.TB, r jobs.Row) data {
	t.Helper()
	var d data
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("row %s data %s: %v", r.Key, r.Data, err)
	}
	return d
}

func TestGetItems5000(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "id-"))
		if n%2 == 0 {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id": %q, "lang": %q}`, id, r.URL.Query().Get("lang"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "item %s", id)
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{})
	var in strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&in, "id-%d\n", i)
	}
	rows, tasks := run(t, k, `{"url_template":"`+srv.URL+`/items/{id}?lang=en"}`, in.String())
	if len(rows) != 5000 || tasks != 5000/httpkind.BatchSize {
		t.Fatalf("%d rows in %d tasks, want 5000 in %d", len(rows), tasks, 5000/httpkind.BatchSize)
	}
	for i := range 5000 {
		id := "id-" + strconv.Itoa(i)
		r, ok := rows[id]
		if !ok || r.Status != jobs.StatusOK {
			t.Fatalf("row %s = %+v", id, r)
		}
		d := decode(t, r)
		want := `"item ` + id + `"`
		if i%2 == 0 {
			want = `{"id":"` + id + `","lang":"en"}`
		}
		if d.Status != 200 || string(d.Body) != want {
			t.Fatalf("row %s: status %d body %s, want 200 %s", id, d.Status, d.Body, want)
		}
	}
}

func TestGetEscapesItems(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.EscapedPath(), "q": r.URL.Query().Get("q")})
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{})
	rows, _ := run(t, k, `{"url_template":"`+srv.URL+`/a/{id}?q={id}"}`, "x y/z?&=#1\n..\n")
	tests := []struct{ item, path, q string }{
		{"x y/z?&=#1", "/a/x%20y%2Fz%3F&=%231", "x y/z?&=#1"},
		{"..", "/a/%2E%2E", ".."},
	}
	for _, tc := range tests {
		var got struct{ Path, Q string }
		if err := json.Unmarshal(decode(t, rows[tc.item]).Body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Path != tc.path || got.Q != tc.q {
			t.Errorf("item %q: path %q q %q, want %q %q", tc.item, got.Path, got.Q, tc.path, tc.q)
		}
	}
}

func TestGetPrepareRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params  string
		allow         []string
		field, reason string
	}{
		{"host off allowlist", `{"url_template":"https://evil.example/{id}"}`, []string{"api.example.org", "*.example.com"},
			"params.url_template", "host evil.example is not on the allowlist (allowed: api.example.org, *.example.com)"},
		{"empty allowlist", `{"url_template":"https://api.example.org/{id}"}`, []string{},
			"params.url_template", "[http] allow_hosts"},
		{"wildcard is not the apex", `{"start_url":"https://example.com/x"}`, []string{"*.example.com"},
			"params.start_url", "not on the allowlist"},
		{"start url off allowlist", `{"start_url":"http://10.0.0.1/x"}`, nil, "params.start_url", "host 10.0.0.1 is not on the allowlist"},
		{"no placeholder", `{"url_template":"http://127.0.0.1/x"}`, nil, "params.url_template", "holds no {id}"},
		{"placeholder in host", `{"url_template":"http://{id}.127.0.0.1/x"}`, nil, "params.url_template", "not the host"},
		{"not http", `{"url_template":"ftp://127.0.0.1/{id}"}`, nil, "params.url_template", "http or https"},
		{"user info", `{"url_template":"http://u:p@127.0.0.1/{id}"}`, nil, "params.url_template", "credentials do not belong"},
		{"both modes", `{"url_template":"http://127.0.0.1/{id}","start_url":"http://127.0.0.1/"}`, nil, "params.url_template", "not both"},
		{"neither mode", `{}`, nil, "params", "set url_template"},
		{"unknown key", `{"url":"http://127.0.0.1/"}`, nil, "params", "unknown field"},
		{"authorization header", `{"url_template":"http://127.0.0.1/{id}","headers":{"authorization":"Bearer x"}}`, nil, "params.headers", "Authorization may not be set"},
		{"cookie header", `{"url_template":"http://127.0.0.1/{id}","headers":{"Cookie":"a=b"}}`, nil, "params.headers", "Cookie may not be set"},
		{"host header", `{"url_template":"http://127.0.0.1/{id}","headers":{"HOST":"evil.example"}}`, nil, "params.headers", "Host may not be set"},
		{"header injection in value", `{"url_template":"http://127.0.0.1/{id}","headers":{"X-A":"1\r\nAuthorization: x"}}`, nil, "params.headers", "control character"},
		{"header injection in name", `{"url_template":"http://127.0.0.1/{id}","headers":{"X-A: 1\r\nX-B":"2"}}`, nil, "params.headers", "not a header name"},
		{"pagination on template", `{"url_template":"http://127.0.0.1/{id}","follow_link":true}`, nil, "params.follow_link", "only for start_url"},
		{"cursor and link", `{"start_url":"http://127.0.0.1/","cursor_path":"a","follow_link":true}`, nil, "params.cursor_path", "not both"},
		{"bad cursor path", `{"start_url":"http://127.0.0.1/","cursor_path":"meta..next"}`, nil, "params.cursor_path", "empty segment"},
		{"bad cursor param", `{"start_url":"http://127.0.0.1/","cursor_path":"a","cursor_param":"a b"}`, nil, "params.cursor_param", "not a query parameter"},
		{"negative max pages", `{"start_url":"http://127.0.0.1/","max_pages":-1}`, nil, "params.max_pages", "not between"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newGet(t, httpkind.Config{AllowHosts: tc.allow})
			_, err := k.Prepare(json.RawMessage(tc.params))
			var ve *jobs.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("Prepare = %v, want %s: …%s…", err, tc.field, tc.reason)
			}
		})
	}
}

func TestGetPrepareNormalizes(t *testing.T) {
	t.Parallel()
	k := newGet(t, httpkind.Config{AllowHosts: []string{"*.Example.com"}})
	got, err := k.Prepare(json.RawMessage(`{"start_url":"https://api.example.com/v1/x","cursor_path":"meta.next","headers":{"x-api-version":"2"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"start_url":"https://api.example.com/v1/x","cursor_path":"meta.next","cursor_param":"cursor","headers":{"X-Api-Version":"2"}}`
	if string(got) != want {
		t.Fatalf("Prepare = %s, want %s", got, want)
	}
}

func TestNewGetRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []httpkind.Config{
		{AllowHosts: []string{"https://api.example.org"}},
		{AllowHosts: []string{"api.example.org:443"}},
		{AllowHosts: []string{"*.com"}},
		{AllowHosts: []string{""}},
		{MaxBodyBytes: -1},
	} {
		if _, err := httpkind.NewGet(cfg); err == nil {
			t.Errorf("NewGet(%+v) = nil error", cfg)
		}
	}
}

func TestGetRedirects(t *testing.T) {
	t.Parallel()
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/inside":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/outside":
			// localhost is the same server, but not on the allowlist.
			http.Redirect(w, r, strings.Replace(srvURL, "127.0.0.1", "localhost", 1)+"/final", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/final":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"final":true}`)
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	k := newGet(t, httpkind.Config{})
	params := `{"url_template":"` + srv.URL + `/{id}"}`

	rows, _ := run(t, k, params, "inside\n")
	if d := decode(t, rows["inside"]); string(d.Body) != `{"final":true}` {
		t.Fatalf("redirect within the allowlist: body %s", d.Body)
	}
	_, _, err := tryRun(t, k, params, "outside\n")
	if !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "host localhost is not on the allowlist") {
		t.Fatalf("redirect off the allowlist: %v, want a permanent error naming localhost", err)
	}
	_, _, err = tryRun(t, k, params, "loop\n")
	if !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("redirect loop: %v, want permanent", err)
	}
}

func TestGetStatuses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "fine")
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 200))
		case "/bad":
			http.Error(w, "bad request", http.StatusBadRequest)
		case "/busy":
			http.Error(w, "try later", http.StatusServiceUnavailable)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{MaxBodyBytes: 100})
	params := `{"url_template":"` + srv.URL + `/{id}"}`
	rows, _ := run(t, k, params, "ok\nmissing\ngone\n")
	for key, want := range map[string]jobs.Row{
		"missing": {Key: "missing", Status: jobs.StatusNotFound, Reason: "HTTP 404"},
		"gone":    {Key: "gone", Status: jobs.StatusNotFound, Reason: "HTTP 410"},
	} {
		if got := rows[key]; got.Status != want.Status || got.Reason != want.Reason || got.Data != nil {
			t.Errorf("row %s = %+v, want %+v", key, got, want)
		}
	}
	if d := decode(t, rows["ok"]); string(d.Body) != `"fine"` || !strings.HasPrefix(d.ContentType, "text/plain") {
		t.Errorf("ok row: %+v", d)
	}
	for _, tc := range []struct {
		item      string
		permanent bool
		text      string
	}{
		{"bad", true, "400"},
		{"busy", false, "503"},
		{"big", true, "body cap of 100 bytes"},
	} {
		_, _, err := tryRun(t, k, params, tc.item+"\n")
		var se *httpkind.StatusError
		if err == nil || jobs.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want permanent %v with %q", tc.item, err, tc.permanent, tc.text)
		}
		if tc.item != "big" && !errors.As(err, &se) {
			t.Errorf("%s: %v is no *StatusError", tc.item, err)
		}
	}
}

func TestGetPlanBadLines(t *testing.T) {
	t.Parallel()
	k := newGet(t, httpkind.Config{})
	p, err := k.Prepare(json.RawMessage(`{"url_template":"http://127.0.0.1/{id}"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, input, reason string }{
		{"control character", "a\n\n# comment\nb\x01c\n", "line 4: "},
		{"tab inside", "a\tb\n", "line 1: "},
		{"too long", "a\n" + strings.Repeat("x", 513) + "\n", "line 2: item is longer than 512 bytes"},
		{"line too long", strings.Repeat("x", 5000), "line 1: longer than"},
		{"bad utf-8", "ok\n\xff\n", "line 2: item is not valid UTF-8"},
		{"nothing", "\n# only a comment\n", "no ids given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := k.Plan(t.Context(), p, strings.NewReader(tc.input), func(jobs.TaskSpec) error { return nil })
			var ve *jobs.ValidationError
			if !errors.As(err, &ve) || ve.Field != "ids" || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("Plan = %v, want ids: …%s…", err, tc.reason)
			}
		})
	}
}

func TestGetCursorPagination(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") != "10" || r.Header.Get("X-Api-Version") != "2" {
			http.Error(w, "lost the start url's query or the headers", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("after") {
		case "":
			fmt.Fprint(w, `{"data":[1],"meta":{"next_cursor":"p 2"}}`)
		case "p 2":
			fmt.Fprint(w, `{"data":[2],"meta":{"next_cursor":3}}`)
		case "3":
			fmt.Fprint(w, `{"data":[3],"meta":{"next_cursor":""}}`)
		}
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{})
	rows, tasks := run(t, k, `{"start_url":"`+srv.URL+`/list?limit=10","cursor_path":"meta.next_cursor","cursor_param":"after","headers":{"x-api-version":"2"}}`, "")
	if tasks != 3 || len(rows) != 3 {
		t.Fatalf("%d rows in %d tasks, want 3 in 3", len(rows), tasks)
	}
	for key, body := range map[string]string{
		srv.URL + "/list?limit=10":           `{"data":[1],"meta":{"next_cursor":"p 2"}}`,
		srv.URL + "/list?after=p+2&limit=10": `{"data":[2],"meta":{"next_cursor":3}}`,
		srv.URL + "/list?after=3&limit=10":   `{"data":[3],"meta":{"next_cursor":""}}`,
	} {
		if d := decode(t, rows[key]); string(d.Body) != body {
			t.Errorf("row %s body %s, want %s", key, d.Body, body)
		}
	}
}

func TestGetCursorLoopAndBadCursor(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			fmt.Fprint(w, `{"next":"a"}`)
		case "/object":
			fmt.Fprint(w, `{"next":{"a":1}}`)
		}
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{})
	_, tasks, err := tryRun(t, k, `{"start_url":"`+srv.URL+`/same","cursor_path":"next"}`, "")
	if !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "loop") || tasks != 2 {
		t.Fatalf("repeated cursor: %v after %d tasks, want a permanent loop error at task 2", err, tasks)
	}
	_, _, err = tryRun(t, k, `{"start_url":"`+srv.URL+`/object","cursor_path":"next"}`, "")
	if !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "an object") {
		t.Fatalf("object cursor: %v", err)
	}
}

func linkServer(t testing.TB, last int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n < last {
			w.Header().Add("Link", `<`+r.URL.Path+`?page=`+strconv.Itoa(n+1)+`>; rel="next", </feed?page=0>; rel="first"`)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[%d]`, n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGetLinkPagination(t *testing.T) {
	t.Parallel()
	srv := linkServer(t, 4)
	k := newGet(t, httpkind.Config{})
	rows, tasks := run(t, k, `{"start_url":"`+srv.URL+`/feed?page=1","follow_link":true}`, "")
	if tasks != 4 || len(rows) != 4 {
		t.Fatalf("%d rows in %d tasks, want 4 in 4", len(rows), tasks)
	}
	for n := 1; n <= 4; n++ {
		key := srv.URL + "/feed?page=" + strconv.Itoa(n)
		if d := decode(t, rows[key]); string(d.Body) != "["+strconv.Itoa(n)+"]" {
			t.Errorf("row %s body %s", key, d.Body)
		}
	}
}

func TestGetMaxPages(t *testing.T) {
	t.Parallel()
	srv := linkServer(t, 1000)
	k := newGet(t, httpkind.Config{})
	rows, tasks := run(t, k, `{"start_url":"`+srv.URL+`/feed?page=1","follow_link":true,"max_pages":3}`, "")
	if tasks != 3 || len(rows) != 3 {
		t.Fatalf("%d rows in %d tasks, want 3 in 3", len(rows), tasks)
	}
}

func TestGetLinkOffAllowlist(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://evil.example/next>; rel="next"`)
		fmt.Fprint(w, `[]`)
	}))
	defer srv.Close()
	k := newGet(t, httpkind.Config{})
	_, _, err := tryRun(t, k, `{"start_url":"`+srv.URL+`/","follow_link":true}`, "")
	if !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "host evil.example is not on the allowlist") {
		t.Fatalf("Link off the allowlist: %v", err)
	}
}

func TestGetStartURLTakesNoItems(t *testing.T) {
	t.Parallel()
	k := newGet(t, httpkind.Config{})
	p, err := k.Prepare(json.RawMessage(`{"start_url":"http://127.0.0.1/"}`))
	if err != nil {
		t.Fatal(err)
	}
	err = k.Plan(t.Context(), p, strings.NewReader("# none\n\nx\n"), func(jobs.TaskSpec) error { return nil })
	var ve *jobs.ValidationError
	if !errors.As(err, &ve) || ve.Field != "ids" {
		t.Fatalf("Plan = %v, want an ids error", err)
	}
}

func TestGetItems(t *testing.T) {
	t.Parallel()
	k := newGet(t, httpkind.Config{})
	p, err := k.Prepare(json.RawMessage(`{"url_template":"http://127.0.0.1/{id}"}`))
	if err != nil {
		t.Fatal(err)
	}
	var specs []jobs.TaskSpec
	if err := k.Plan(t.Context(), p, strings.NewReader("a\nb c\na\n"), func(ts jobs.TaskSpec) error {
		specs = append(specs, ts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// One request per task; a repeated item is not remembered across tasks
	// (memory stays flat), and its rows are keyed, so it is stored once.
	if len(specs) != 3 || specs[0].Items != 1 {
		t.Fatalf("specs %+v, want three tasks of one item", specs)
	}
	var all []string
	for _, sp := range specs {
		items, err := k.Items(sp.Payload)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
	}
	if strings.Join(all, "|") != "a|b c|a" {
		t.Fatalf("Items = %q", all)
	}
	if items, err := k.Items(json.RawMessage(`{"url":"http://127.0.0.1/","page":2}`)); err != nil || len(items) != 0 {
		t.Fatalf("Items of a page = %q, %v", items, err)
	}
}
