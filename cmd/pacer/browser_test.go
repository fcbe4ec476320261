package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/sqlite"
)

// The browser tests drive the page in real headless Chromium (Debian's
// chromium package) through chromedp, against pacer run with an admin token
// and a sandbox upstream of their own. Set PACER_TEST_SCREENSHOTS=1 to have
// TestBrowserScreenshots write docs/screenshots/*.png.

// chromiumPath finds Chromium; without it a browser test skips locally and
// fails when CI is set.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set")
	}
	t.Skip("chromium is not installed")
	return ""
}

// browserPacer is pacer run with an admin token and a sandbox upstream, and
// a logged-in Chromium tab on its page.
type browserPacer struct {
	t    *testing.T
	base string // pacer's base URL
	db   string // the SQLite file
	tab  context.Context
}

// startBrowserPacer starts the sandbox with sbCfg (its quota is also the
// demo credential's), pacer run, and Chromium, logs in, and stops all three
// when the test ends: Chromium first, killed with its allocator.
func startBrowserPacer(t *testing.T, sbCfg sandbox.Config) *browserPacer {
	t.Helper()
	chromium := chromiumPath(t)
	sb, err := sandbox.New(sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(sb)
	t.Cleanup(upstream.Close)
	db := filepath.Join(t.TempDir(), "pacer.db")
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-listen", "127.0.0.1:0", "-database-url", "sqlite:" + db,
			"-x-api-url", upstream.URL, "-demo-quota", fmt.Sprintf("%d/%s", sbCfg.Limit, sbCfg.Window)},
			envFunc("PACER_ADMIN_TOKEN="+testAdminToken), strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pacer run: %v", err)
		}
		if t.Failed() {
			t.Logf("log of pacer run:\n%s", logs.String())
		}
	})
	p := &browserPacer{t: t, base: logs.await(t, "msg=listening "+addrPattern, 30*time.Second)[1], db: db}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() }) // kills Chromium and waits for it
	// Every step of a test has at most this long; the whole test much less.
	tab, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(cancelTimeout)
	p.tab = tab

	p.navigate("/")
	if loc := p.location(); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("a page without a session went to %s, want /login", loc)
	}
	p.do(chromedp.SendKeys(`form#login input[name="token"]`, testAdminToken))
	p.submit(`form#login button[type="submit"]`)
	if loc := p.location(); loc != "/" {
		t.Fatalf("after logging in the browser is at %s, want /", loc)
	}
	return p
}

func (p *browserPacer) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.tab, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

func (p *browserPacer) navigate(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base + path))
}

// submit clicks sel and waits for the page it leads to to load.
func (p *browserPacer) submit(sel string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel, chromedp.NodeVisible))); err != nil {
		p.t.Fatalf("browser: click %s: %v", sel, err)
	}
}

// location is the tab's path and query.
func (p *browserPacer) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.tab, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, p.base)
}

func eval[T any](p *browserPacer, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.tab, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
}

// submitForm fills the new-job form, with ids in the textarea or a file to
// upload, submits it and returns the path it leads to.
func (p *browserPacer) submitForm(ids, file string) string {
	p.t.Helper()
	p.navigate("/jobs/new")
	p.do(chromedp.SetValue(`form#new-job select[name="kind"]`, "tweet_lookup"),
		chromedp.SetValue(`form#new-job select[name="credential"]`, "demo"))
	if ids != "" {
		p.do(chromedp.SendKeys(`form#new-job textarea[name="ids"]`, ids))
	}
	if file != "" {
		p.do(chromedp.SetUploadFiles(`form#new-job input[type="file"][name="ids_file"]`, []string{file}))
	}
	p.submit(`form#new-job button[type="submit"]`)
	return p.location()
}

// store opens pacer's SQLite file beside the running pacer, for the test to
// compare the page with the rows.
func (p *browserPacer) store() store.Store {
	p.t.Helper()
	s, err := sqlite.Open(p.t.Context(), sqlite.Config{Path: p.db})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { s.Close() })
	return s
}

// progressRecorder runs in every document the tab opens, before the page's
// scripts: it records the job page's progress bar, at load and at every
// change, with an id of the document, in sessionStorage (which outlives a
// reload). So the test can tell which document saw which values: one that
// saw the bar both below and at its maximum watched it fill without a
// reload.
const progressRecorder = `(function () {
  var doc = Math.random().toString(36).slice(2);
  function rec() {
    var p = document.getElementById("progress");
    if (!p) { return; }
    var pct = document.getElementById("progress-pct");
    var log = JSON.parse(sessionStorage.getItem("pacer-progress") || "[]");
    log.push({doc: doc, value: p.value, max: p.max, pct: pct ? pct.textContent : "", path: location.pathname});
    sessionStorage.setItem("pacer-progress", JSON.stringify(log));
  }
  document.addEventListener("DOMContentLoaded", function () {
    rec();
    var p = document.getElementById("progress");
    if (p) { new MutationObserver(rec).observe(p, {attributes: true}); }
  });
}());`

type progressEntry struct {
	Doc   string  `json:"doc"`
	Value float64 `json:"value"`
	Max   float64 `json:"max"`
	Pct   string  `json:"pct"`
	Path  string  `json:"path"`
}

// TestBrowserSubmitWatchPageExport is the first browser test: log
// in, submit a tweet lookup of 2,000 ids through the form with an uploaded
// file, watch the progress bar reach 100% without a reload, open the job
// from the jobs page, page through its results with the next link, and
// download the CSV; the results seen and the CSV equal the store's rows.
func TestBrowserSubmitWatchPageExport(t *testing.T) {
	// 4 requests a second: the job's 20 requests take about five seconds,
	// which the page must show as they happen.
	p := startBrowserPacer(t, sandbox.Config{Limit: 4, Window: time.Second})
	if _, err := chromedp.Call(p.tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: progressRecorder}); err != nil {
		t.Fatal(err)
	}
	loc := p.submitForm("", writeIDs(t, 2000))
	m := regexp.MustCompile(`^/jobs/(\d+)$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("the form led to %s, want /jobs/ID; page:\n%s", loc, eval[string](p, "document.body.innerText"))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)

	// Wait until some document has seen the bar full.
	var log []progressEntry
	deadline := time.Now().Add(60 * time.Second)
	for {
		log = eval[[]progressEntry](p, `JSON.parse(sessionStorage.getItem("pacer-progress") || "[]")`)
		if slices.ContainsFunc(log, func(e progressEntry) bool { return e.Max == 2000 && e.Value == 2000 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the progress bar did not reach 2,000 of 2,000 within a minute; it showed %+v", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The job page's first document saw the bar below full at first, then
	// full and 100.0%: it filled live, without a reload.
	first := log[0]
	if first.Path != loc || first.Value >= first.Max {
		t.Fatalf("the job page opened with the bar at %+v, want it below full (the job too quick to watch?)", first)
	}
	var seen []progressEntry
	for _, e := range log {
		if e.Doc == first.Doc {
			seen = append(seen, e)
		}
	}
	last := seen[len(seen)-1]
	if len(seen) < 3 || last.Value != 2000 || last.Max != 2000 || last.Pct != "100.0%" {
		t.Fatalf("the job page's first document saw %+v, want the bar to grow to 2,000 of 2,000 and 100.0%% without a reload", seen)
	}

	// The rows, from the store.
	s := p.store()
	want, err := s.ListResults(t.Context(), id, store.ResultFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 2000 {
		t.Fatalf("the store has %d results of job %d, want 2,000", len(want), id)
	}

	// Open the job from the jobs page, then page through its results.
	p.navigate("/")
	p.submit(fmt.Sprintf(`table#jobs tr[data-job-id="%d"] a[href="/jobs/%d"]`, id, id))
	if got := p.location(); got != loc {
		t.Fatalf("the jobs page's link led to %s, want %s", got, loc)
	}
	var keys []string
	for pages := 1; ; pages++ {
		keys = append(keys, eval[[]string](p, `Array.from(document.querySelectorAll("table#results tbody tr")).filter(function (tr) { return tr.cells.length > 1; }).map(function (tr) { return tr.cells[0].textContent; })`)...)
		if !eval[bool](p, `document.querySelector('a[rel="next"]') !== null`) {
			break
		}
		if pages > 200 {
			t.Fatal("more than 200 pages of results")
		}
		p.submit(`a[rel="next"]`)
	}
	if len(keys) != len(want) {
		t.Fatalf("the pages showed %d results, the store has %d", len(keys), len(want))
	}
	for i, r := range want {
		if keys[i] != r.Key {
			t.Fatalf("result %d on the pages is %s, in the store %s", i, keys[i], r.Key)
		}
	}

	// Download the CSV with the browser's session cookie.
	p.navigate(loc)
	href := eval[string](p, `document.querySelector("a#export-csv").href`)
	cookies, err := chromedp.Call(p.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, href, nil)
	for _, c := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", href, resp.Status, err)
	}
	if len(rows) != len(want)+1 || strings.Join(rows[0], ",") != "key,status,fetched_at,error,data" {
		t.Fatalf("the CSV has %d rows and header %v, want %d and key,status,fetched_at,error,data", len(rows), rows[0], len(want)+1)
	}
	for i, r := range want {
		got := rows[i+1]
		if got[0] != r.Key || got[1] != string(r.Status) || got[2] != r.FetchedAt.UTC().Format(time.RFC3339Nano) || got[3] != r.Error || got[4] != string(r.Data) {
			t.Fatalf("CSV row %d is %q, the store's %+v", i+1, got, r)
		}
	}
}

// TestBrowserFieldError: a bad id, or no ids at all, shows its error beside
// the ids field, and the form keeps what the user typed.
func TestBrowserFieldError(t *testing.T) {
	p := startBrowserPacer(t, sandbox.Config{Limit: 100, Window: time.Second})
	for _, tc := range []struct{ name, ids, want string }{
		{"not a number", "1460323737035677698\n12a\n", "line 2"},
		{"no ids", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.t = t
			if loc := p.submitForm(tc.ids, ""); loc != "/jobs" {
				t.Fatalf("a bad submission led to %s, want the form again at /jobs", loc)
			}
			// The error sits in the label of the ids field, and no other
			// field has one.
			placed := eval[bool](p, `(function () {
  var e = document.querySelectorAll(".field-error");
  var f = document.querySelector('form#new-job textarea[name="ids"]');
  return e.length === 1 && e[0].getAttribute("data-field") === "ids" && e[0].closest("label") !== null && e[0].closest("label").htmlFor === f.id;
}())`)
			text := eval[string](p, `document.querySelector('.field-error[data-field="ids"]').innerText`)
			if !placed || !strings.Contains(text, tc.want) {
				t.Fatalf("field error %q (placed beside ids: %v), want one beside ids containing %q", text, placed, tc.want)
			}
			visible, err := chromedp.Run(p.tab, chromedp.Nodes(`.field-error[data-field="ids"]`, chromedp.NodeVisible))
			if err != nil || len(visible) != 1 {
				t.Fatalf("the field error is not visible: %v", err)
			}
			if kept := eval[string](p, `document.querySelector('form#new-job textarea[name="ids"]').value`); kept != tc.ids {
				t.Fatalf("the ids field holds %q after the error, want the input %q kept", kept, tc.ids)
			}
		})
	}
}

// TestBrowserScriptTagIsText: a tweet whose text is a script tag shows on
// the job page as text, and runs nothing: no dialog opens, no script element
// is made of it.
func TestBrowserScriptTagIsText(t *testing.T) {
	const markup = "<script>alert(1)</script>"
	xss := uint64(demoIDBase)
	for sandbox.Missing(xss, sandbox.DefaultMissingPercent) {
		xss++
	}
	p := startBrowserPacer(t, sandbox.Config{Limit: 100, Window: time.Second, Texts: map[uint64]string{xss: markup}})
	var mu sync.Mutex
	var dialogs []string
	go func() {
		for ev, err := range chromedp.Events(p.tab, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			mu.Lock()
			dialogs = append(dialogs, ev.Message)
			mu.Unlock()
			chromedp.Call(p.tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	loc := p.submitForm(fmt.Sprintf("%d\n%d\n", xss, xss+1), "")
	if !regexp.MustCompile(`^/jobs/\d+$`).MatchString(loc) {
		t.Fatalf("the form led to %s", loc)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.navigate(loc); eval[string](p, `document.getElementById("job-state").textContent`) != "succeeded"; p.navigate(loc) {
		if time.Now().After(deadline) {
			t.Fatal("the job did not succeed within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	text := eval[string](p, `document.querySelector("table#results").innerText`)
	scripts := eval[int](p, `document.querySelectorAll("table#results script, main script").length`)
	if !strings.Contains(text, markup) || scripts != 0 {
		t.Fatalf("the results table shows %q with %d script elements; want the text %s shown, no script made", text, scripts, markup)
	}
	// A round trip to the browser after the page ran: a dialog would have
	// been reported by now.
	eval[int](p, "1")
	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) > 0 {
		t.Fatalf("the page opened dialogs %q", dialogs)
	}
}

// TestBrowserScreenshots writes the README's screenshots of the jobs page
// and of a running job's page to docs/screenshots/ when
// PACER_TEST_SCREENSHOTS=1, and skips otherwise, so that test runs do not
// rewrite the repository.
func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("PACER_TEST_SCREENSHOTS") != "1" {
		t.Skip("PACER_TEST_SCREENSHOTS is not 1")
	}
	p := startBrowserPacer(t, sandbox.Config{Limit: 4, Window: 2 * time.Second})
	token := []string{"PACER_ADMIN_TOKEN=" + testAdminToken}
	submit := func(n int) string {
		out, _, err := cliEnv(t, token, "submit", "-server", p.base, "-credential", "demo", "-ids-file", writeIDs(t, n))
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		return regexp.MustCompile(`job (\d+) submitted`).FindStringSubmatch(out)[1]
	}
	api, err := newAPIClient(p.base, testAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	// A finished job, a paused one and a running one, waiting on the quota
	// every two seconds.
	submit(300)
	paused := submit(5000)
	if _, _, err := cliEnv(t, token, "pause", "-server", p.base, paused); err != nil {
		t.Fatal(err)
	}
	running := submit(20000)
	id, _ := strconv.ParseInt(running, 10, 64)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		v, err := api.job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if v.ItemsDone >= 1500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: %d items done after a minute", id, v.ItemsDone)
		}
	}

	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct{ path, file string }{{"/", "jobs.png"}, {"/jobs/" + running, "job.png"}} {
		p.navigate(shot.path)
		png, err := chromedp.Run(p.tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, shot.file), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(dir, shot.file), len(png))
	}
}
