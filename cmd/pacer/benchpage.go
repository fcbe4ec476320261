package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
)

// pageBenchConfig is what `pacer bench page` measures, as its flags give it.
type pageBenchConfig struct {
	DatabaseURL string // postgres://…, required
	Rows        int    // result rows of the job; a multiple of 100
	PageSize    int    // rows a page shows
	Samples     int    // timed requests per measure
	Concurrency int    // tasks the worker runs at once while building the job
}

func (c *pageBenchConfig) validate() error {
	switch {
	case c.DatabaseURL == "":
		return errors.New("-database-url: required: postgres://…; the page is measured on PostgreSQL, the distributed store")
	case !isPostgresURL(c.DatabaseURL):
		return fmt.Errorf("-database-url: %q is not postgres://…; the page is measured on PostgreSQL, the distributed store", c.DatabaseURL)
	case c.Rows < 200 || c.Rows%100 != 0:
		return fmt.Errorf("-rows: %d is not a multiple of 100 of at least 200", c.Rows)
	case c.PageSize < 1 || c.PageSize > 10000:
		return fmt.Errorf("-page-size: %d is not from 1 to 10000", c.PageSize)
	case c.Samples < 1:
		return fmt.Errorf("-samples: %d is below 1", c.Samples)
	case c.Concurrency < 1:
		return fmt.Errorf("-concurrency: %d is below 1", c.Concurrency)
	}
	return nil
}

// pageResult is the JSON line `pacer bench page` prints. Times are medians,
// in milliseconds.
type pageResult struct {
	Rows     int64 `json:"rows"`
	PageSize int   `json:"page_size"`
	Samples  int   `json:"samples"`
	// BuildSeconds is how long the job that made the rows took, submit to
	// finish.
	BuildSeconds float64 `json:"build_seconds"`
	// PageFirstMS and PageMiddleMS are the job page (HTML, through the web
	// handler over HTTP, logged in) at its first page and at the page after
	// the middle row.
	PageFirstMS  float64 `json:"page_first_ms"`
	PageMiddleMS float64 `json:"page_middle_ms"`
	// StoreFirstMS and StoreMiddleMS are the same pages of rows read
	// straight from the store (ListResults).
	StoreFirstMS  float64 `json:"store_first_ms"`
	StoreMiddleMS float64 `json:"store_middle_ms"`
}

// cmdBenchPage is `pacer bench page`: it makes a tweet_lookup job of rows
// result rows the way pacer makes any (the sandbox answers, a dispatcher and
// a worker commit the rows), then measures the median time to serve the
// job's results page, first and middle, through the web handler over HTTP on
// loopback with a logged-in session, and the median time to read the same
// rows straight from the store.
func cmdBenchPage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    pageBenchConfig
		logLvl string
	)
	f := newFlagSet("bench page", "bench page [flags]", getenv, stderr)
	f.String(&cfg.DatabaseURL, "database-url", "", "the store, postgres://… (required); the job and its rows stay in it, so give it a schema of its own")
	f.Int(&cfg.Rows, "rows", 1_000_000, "result rows of the job (ids, 100 a request; a multiple of 100)")
	f.Int(&cfg.PageSize, "page-size", 100, "rows a page shows")
	f.Int(&cfg.Samples, "samples", 51, "timed requests per measure; the median is printed")
	f.Int(&cfg.Concurrency, "concurrency", 8, "tasks the worker runs at once while it builds the job")
	f.String(&logLvl, "log-level", "warn", "debug, info, warn or error")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) > 0 {
		return fmt.Errorf("bench page: unexpected argument %q", f.args()[0])
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, err := newLogger(stderr, logLvl, "text")
	if err != nil {
		return err
	}
	s, err := openStore(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer s.Close()

	// The upstream: the sandbox without a quota, on loopback.
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		return err
	}
	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sbSrv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go sbSrv.Serve(sbLn)
	defer sbSrv.Close()
	kinds, err := newRegistry("http://" + sbLn.Addr().String())
	if err != nil {
		return err
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	creds := jobs.Credentials{"bench": {Name: "bench", Token: "bench-token",
		Quotas: []ratelimit.Quota{{Key: "bench-page-" + runID, Limit: 100_000_000, Window: time.Second}}}}
	o := options{concurrency: cfg.Concurrency, taskTimeout: time.Minute, maxAttempts: 5, quotaMargin: time.Second}
	c, err := startBenchCluster(ctx, s, "", "pacer.bench.page."+runID, 1, &o, kinds, creds, log)
	if err != nil {
		return err
	}
	defer c.stop(ctx)

	fmt.Fprintf(stdout, "%-60s %12s  %s\n", "measure", "median", "note")
	report := func(name string, d float64, note string) {
		fmt.Fprintf(stdout, "%-60s %9.2f ms  %s\n", name, d, note)
	}
	elapsed, err := c.runJob(ctx, "bench", cfg.Rows, time.Hour)
	if err != nil {
		return fmt.Errorf("bench page: build the job: %w", err)
	}
	if err := c.stop(ctx); err != nil {
		return err
	}
	// The job is the newest: runJob does not say its id, and the bench's
	// schema is its own.
	list, err := s.ListJobs(ctx, store.JobFilter{Kind: "tweet_lookup", Limit: 1})
	if err != nil {
		return err
	}
	counts, err := s.CountResults(ctx, list[0].ID)
	if err != nil {
		return err
	}
	job := list[0]
	rows := counts[store.ResultOK] + counts[store.ResultNotFound]
	if job.State != store.JobSucceeded || rows != int64(cfg.Rows) {
		return fmt.Errorf("bench page: job %d is %s with %d result rows, want succeeded with %d", job.ID, job.State, rows, cfg.Rows)
	}
	r := pageResult{Rows: rows, PageSize: cfg.PageSize, Samples: cfg.Samples, BuildSeconds: round3(elapsed.Seconds())}
	fmt.Fprintf(stdout, "%-60s %12s  %d rows in %.1f s (tweet_lookup, 1 worker × %d)\n", "build the job", "", rows, elapsed.Seconds(), cfg.Concurrency)

	// The middle page starts after the middle row. Demo ids all have 19
	// digits, so key order is id order and the middle key is known.
	middle := strconv.FormatUint(demoIDBase+uint64(cfg.Rows/2)-1, 10)
	firstKey := strconv.FormatUint(demoIDBase, 10)
	middleFirstKey := strconv.FormatUint(demoIDBase+uint64(cfg.Rows/2), 10)

	// The web handler, with access control on, served over HTTP on loopback.
	token := "bench-page-" + runID
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds, Credentials: creds})
	if err != nil {
		return err
	}
	h, err := newWeb(s, nil, svc, newMetricsRegistry(), log, token)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client, err := loggedIn(ctx, base, token)
	if err != nil {
		return err
	}
	page := fmt.Sprintf("%s/jobs/%d?limit=%d", base, job.ID, cfg.PageSize)
	if r.PageFirstMS, err = medianMS(cfg.Samples, func() error { return fetchPage(ctx, client, page, firstKey) }); err != nil {
		return err
	}
	report("job page, first page (HTTP, web handler)", r.PageFirstMS, fmt.Sprintf("%d rows a page, %d samples", cfg.PageSize, cfg.Samples))
	if r.PageMiddleMS, err = medianMS(cfg.Samples, func() error {
		return fetchPage(ctx, client, page+"&after="+middle, middleFirstKey)
	}); err != nil {
		return err
	}
	report("job page, middle page (HTTP, web handler)", r.PageMiddleMS, fmt.Sprintf("after row %d of %d", cfg.Rows/2, rows))

	storePage := func(after, want string) func() error {
		return func() error {
			got, err := s.ListResults(ctx, job.ID, store.ResultFilter{AfterKey: after, Limit: cfg.PageSize})
			if err != nil {
				return err
			}
			if len(got) != cfg.PageSize || got[0].Key != want {
				return fmt.Errorf("bench page: ListResults after %q gave %d rows from %q, want %d from %q", after, len(got), firstKeyOf(got), cfg.PageSize, want)
			}
			return nil
		}
	}
	if r.StoreFirstMS, err = medianMS(cfg.Samples, storePage("", firstKey)); err != nil {
		return err
	}
	report("store ListResults, first page", r.StoreFirstMS, "the rows alone, no HTTP")
	if r.StoreMiddleMS, err = medianMS(cfg.Samples, storePage(middle, middleFirstKey)); err != nil {
		return err
	}
	report("store ListResults, middle page", r.StoreMiddleMS, "")
	return json.NewEncoder(stdout).Encode(r)
}

func firstKeyOf(rs []store.Result) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].Key
}

// loggedIn returns a client holding a page session of the server at base,
// got by logging in with the admin token as the login form does.
func loggedIn(ctx context.Context, base, token string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Jar: jar}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/login" {
		return nil, fmt.Errorf("log in: %s, at %s", resp.Status, resp.Request.URL.Path)
	}
	return client, nil
}

// fetchPage GETs a page whole and checks that it is a 200 showing key, so
// that a fast error page is never timed as a page.
func fetchPage(ctx context.Context, client *http.Client, page, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != req.URL.Path || !strings.Contains(string(body), key) {
		return fmt.Errorf("bench page: GET %s: %s at %s, showing key %s: %v", page, resp.Status, resp.Request.URL.Path, key, strings.Contains(string(body), key))
	}
	return nil
}

// medianMS runs fn once to warm up, then n times, and returns the median
// duration in milliseconds.
func medianMS(n int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	m := ds[n/2]
	if n%2 == 0 {
		m = (ds[n/2-1] + ds[n/2]) / 2
	}
	return round3(float64(m) / float64(time.Millisecond)), nil
}
