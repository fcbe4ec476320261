package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
)

// The short job after each run: 50 requests against a fresh "900 per 15
// minutes" quota, which a window-aware limiter sends at once and a token
// bucket refilling at 900/15m (one a second) would spread over 50 s.
const (
	shortJobItems  = 5000
	shortJobLimit  = 900
	shortJobWindow = 15 * time.Minute
)

// The bearer tokens of the two sandboxes of a run. They are stand-ins, never
// real credentials.
const (
	quotaBenchToken = "bench-quota-token"
	shortBenchToken = "bench-short-token"
)

// quotaBenchConfig is what `pacer bench quota` measures, as its flags give it.
type quotaBenchConfig struct {
	// DatabaseURL is postgres://… for the distributed store, sqlite:PATH
	// for an SQLite file, or empty for a temporary SQLite file.
	DatabaseURL string
	// AMQPURL is RabbitMQ, required with PostgreSQL; empty means the
	// in-process queue.
	AMQPURL string
	// Workers lists the runs: one run per entry, with that many workers.
	Workers []int
	// Limit and Window are the sandbox's quota: Limit requests per Window.
	Limit  int
	Window time.Duration
	// Windows is how many windows of work each run gets: a job of
	// Windows×Limit requests of 100 ids.
	Windows int
	// Concurrency is how many tasks each worker runs at once.
	Concurrency int
	// QuotaMargin is each Limiter's Margin; zero means the Limiter's default.
	QuotaMargin time.Duration
	Logger      *slog.Logger
}

func (c *quotaBenchConfig) validate() error {
	pg := isPostgresURL(c.DatabaseURL)
	switch {
	case len(c.Workers) == 0:
		return errors.New("-workers: empty; want a list such as 1,4,16")
	case c.Limit < 1:
		return fmt.Errorf("-limit: %d is below 1", c.Limit)
	case c.Window <= 0:
		return fmt.Errorf("-window: %s is not positive", c.Window)
	case c.Windows < 1:
		return fmt.Errorf("-windows: %d is below 1", c.Windows)
	case c.Concurrency < 1:
		return fmt.Errorf("-concurrency: %d is below 1", c.Concurrency)
	case c.QuotaMargin < 0:
		return fmt.Errorf("-quota-margin: %s is negative", c.QuotaMargin)
	case pg && c.AMQPURL == "":
		return errors.New("-amqp-url: required with a PostgreSQL -database-url, so that each worker has a broker connection of its own")
	}
	return nil
}

// quotaRun is the line `pacer bench quota` prints for one run.
type quotaRun struct {
	Workers int    `json:"workers"`
	Limit   int    `json:"limit"`
	Window  string `json:"window"`
	// Windows counts the quota windows the sandbox opened during the run.
	Windows int `json:"windows"`
	// Served counts requests the sandbox answered 200.
	Served int `json:"served"`
	// OverQuota counts requests either sandbox of the run refused over its
	// quota (the run's and the short job's): requests pacer must never send.
	OverQuota int `json:"over_quota"`
	// Utilization is Served / (Limit × Windows): how full the windows the
	// upstream opened were. The last window may be partial when the work
	// does not end on a window's edge.
	Utilization float64 `json:"utilization"`
	// TimeUtilization is Served / (Limit × Seconds/Window): the share of the
	// quota the elapsed time allowed, which also charges the gaps between
	// windows (the reset header has 1-second resolution, and the first
	// request of a window waits for the next dispatch).
	TimeUtilization float64 `json:"time_utilization"`
	// FullWindows counts the windows that admitted Limit requests.
	FullWindows int `json:"full_windows"`
	// ShortJobSeconds is submit-to-finish of the short job (50 requests on
	// a fresh 900/15m quota).
	ShortJobSeconds float64 `json:"short_job_seconds"`
	// Seconds is submit-to-finish of the run's job.
	Seconds float64 `json:"seconds"`
	// PerWindow is what each window admitted, in order.
	PerWindow []int `json:"per_window"`
	// Store names the store and the broker: "sqlite+inproc" or
	// "postgres+rabbitmq".
	Store string `json:"store"`
}

// cmdBenchQuota is `pacer bench quota`: for each worker count, a job of
// -windows windows of work against a sandbox with a fixed-window quota, then
// a short job against a fresh quota; one JSON line per run.
func cmdBenchQuota(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg             quotaBenchConfig
		workers, logLvl string
	)
	f := newFlagSet("bench quota", "bench quota [flags]", getenv, stderr)
	f.String(&cfg.DatabaseURL, "database-url", "", "the store: postgres://… (with -amqp-url) for the distributed run; empty for a temporary SQLite file and the in-process queue")
	f.String(&cfg.AMQPURL, "amqp-url", "", "RabbitMQ URL (amqp://user:pass@host:5672/vhost); each run uses a queue of its own and deletes it")
	f.String(&workers, "workers", "1,4,16", "comma-separated worker counts: one run each")
	f.Int(&cfg.Limit, "limit", 50, "the sandbox's quota: requests per window")
	f.Duration(&cfg.Window, "window", 2*time.Second, "the sandbox's quota window")
	f.Int(&cfg.Windows, "windows", 6, "windows of work in each run's job (windows × limit requests of 100 ids)")
	f.Int(&cfg.Concurrency, "concurrency", 4, "tasks each worker runs at once")
	f.Duration(&cfg.QuotaMargin, "quota-margin", 0, "each worker's quota margin; 0 means the Limiter's default")
	f.String(&logLvl, "log-level", "warn", "debug, info, warn or error")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) > 0 {
		return fmt.Errorf("bench quota: unexpected argument %q", f.args()[0])
	}
	for w := range strings.SplitSeq(workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			return fmt.Errorf("-workers: %q is not a positive number of workers", w)
		}
		cfg.Workers = append(cfg.Workers, n)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, err := newLogger(stderr, logLvl, "text")
	if err != nil {
		return err
	}
	cfg.Logger = log
	return benchQuota(ctx, cfg, stdout, stderr)
}

// benchQuota runs cfg's runs on one store, printing a line as each ends. A
// run that sent a request over its quota is printed like any other, and
// benchQuota returns an error once every run has ended.
func benchQuota(ctx context.Context, cfg quotaBenchConfig, stdout, stderr io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dbURL, mode := cfg.DatabaseURL, "sqlite+inproc"
	switch {
	case dbURL == "":
		dir, err := os.MkdirTemp("", "pacer-bench-quota-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
		fmt.Fprintln(stderr, "bench quota: no -database-url: a temporary SQLite file and the in-process queue; the workers share that queue but each has its own Limiter")
	case isPostgresURL(dbURL):
		mode = "postgres+rabbitmq"
	}
	if mode == "sqlite+inproc" && cfg.AMQPURL != "" {
		mode = "sqlite+rabbitmq"
	}
	s, err := openStore(ctx, dbURL, cfg.Logger)
	if err != nil {
		return err
	}
	defer s.Close()

	enc := json.NewEncoder(stdout)
	var over []string
	for _, n := range cfg.Workers {
		r, err := quotaBenchRun(ctx, s, cfg, n)
		if err != nil {
			return fmt.Errorf("bench quota, %d workers: %w", n, err)
		}
		r.Store = mode
		if err := enc.Encode(r); err != nil {
			return err
		}
		if r.OverQuota > 0 {
			over = append(over, fmt.Sprintf("%d with %d workers", r.OverQuota, n))
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("bench quota: requests over the quota: %s", strings.Join(over, ", "))
	}
	return nil
}

// quotaBenchRun is one run with workers workers: its own sandboxes, quota
// keys and queue, so that no run shares a window or a message with another.
func quotaBenchRun(ctx context.Context, s store.Store, cfg quotaBenchConfig, workers int) (quotaRun, error) {
	runID := fmt.Sprintf("%08x", rand.Uint32())
	upstream, err := sandbox.New(sandbox.Config{Limit: cfg.Limit, Window: cfg.Window, Tokens: []string{quotaBenchToken}})
	if err != nil {
		return quotaRun{}, err
	}
	short, err := sandbox.New(sandbox.Config{Limit: shortJobLimit, Window: shortJobWindow, Tokens: []string{shortBenchToken}})
	if err != nil {
		return quotaRun{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return quotaRun{}, err
	}
	// One address for both sandboxes, since a registry has one base URL:
	// each request goes to the sandbox that issued its token.
	srv := &http.Server{
		Handler:           byToken{quotaBenchToken: upstream, shortBenchToken: short},
		ReadHeaderTimeout: 10 * time.Second,
	}
	var serving sync.WaitGroup
	serving.Go(func() { _ = srv.Serve(ln) })
	defer serving.Wait()
	defer srv.Close()

	kinds, err := newRegistry("http://" + ln.Addr().String())
	if err != nil {
		return quotaRun{}, err
	}
	creds := jobs.Credentials{
		"bench": {Name: "bench", Token: quotaBenchToken, Quotas: []ratelimit.Quota{
			{Key: "bench-" + runID, Limit: cfg.Limit, Window: cfg.Window},
		}},
		"bench-short": {Name: "bench-short", Token: shortBenchToken, Quotas: []ratelimit.Quota{
			{Key: "bench-" + runID + "-short", Limit: shortJobLimit, Window: shortJobWindow},
		}},
	}
	o := options{concurrency: cfg.Concurrency, taskTimeout: 30 * time.Second, maxAttempts: 5, quotaMargin: cfg.QuotaMargin}
	c, err := startBenchCluster(ctx, s, cfg.AMQPURL, "pacer.bench.quota."+runID, workers, &o, kinds, creds, cfg.Logger)
	if err != nil {
		return quotaRun{}, err
	}
	defer c.stop(ctx)

	// Generous: a window can cost up to a second more than its length (the
	// reset header's resolution) plus the margin before headers align it.
	timeout := time.Duration(cfg.Windows+1)*(2*cfg.Window+cfg.QuotaMargin+5*time.Second) + time.Minute
	elapsed, err := c.runJob(ctx, "bench", cfg.Windows*cfg.Limit*100, timeout)
	if err != nil {
		return quotaRun{}, err
	}
	shortElapsed, err := c.runJob(ctx, "bench-short", shortJobItems, time.Minute)
	if err != nil {
		return quotaRun{}, fmt.Errorf("short job: %w", err)
	}
	if err := c.stop(ctx); err != nil {
		return quotaRun{}, err
	}

	st, sst := upstream.Stats(), short.Stats()
	r := quotaRun{
		Workers:         workers,
		Limit:           cfg.Limit,
		Window:          cfg.Window.String(),
		Served:          st.Served,
		OverQuota:       st.OverQuota + sst.OverQuota,
		Seconds:         round3(elapsed.Seconds()),
		ShortJobSeconds: round3(shortElapsed.Seconds()),
		PerWindow:       st.Tokens[quotaBenchToken].Windows,
	}
	if r.PerWindow == nil {
		r.PerWindow = []int{}
	}
	r.Windows = len(r.PerWindow)
	for _, n := range r.PerWindow {
		if n == cfg.Limit {
			r.FullWindows++
		}
	}
	if r.Windows > 0 {
		r.Utilization = round3(float64(r.Served) / float64(cfg.Limit*r.Windows))
	}
	if elapsed > 0 {
		r.TimeUtilization = round3(float64(r.Served) / (float64(cfg.Limit) * elapsed.Seconds() / cfg.Window.Seconds()))
	}
	return r, nil
}

// byToken serves each request with the handler of its bearer token, and
// answers 401 to any other.
type byToken map[string]http.Handler

func (b byToken) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	h, ok := b[token]
	if !ok {
		http.Error(w, "unknown bearer token", http.StatusUnauthorized)
		return
	}
	h.ServeHTTP(w, r)
}

// benchCluster is a pacer deployment in one process: a dispatcher and
// workers on one store. Each worker has its own Limiter (newWorker makes
// one) and, on RabbitMQ, its own broker connection, as separate `pacer work`
// processes would; on the in-process queue they share the one queue there is.
type benchCluster struct {
	store   store.Store
	svc     *jobs.Service
	disp    *jobs.Dispatcher
	workers []*jobs.Worker
	brokers []broker.Broker // the dispatcher's first; one in all for in-process
	stopped bool
}

// startBenchCluster starts workers workers and a dispatcher on queue (on
// RabbitMQ at amqpURL, or the in-process queue when amqpURL is empty). On
// error it stops what it started.
func startBenchCluster(ctx context.Context, s store.Store, amqpURL, queue string, workers int, o *options, kinds *jobs.Registry, creds jobs.Credentials, log *slog.Logger) (_ *benchCluster, err error) {
	c := &benchCluster{store: s}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop(ctx))
		}
	}()
	newBroker := func() (broker.Broker, error) {
		if amqpURL == "" && len(c.brokers) > 0 {
			return c.brokers[0], nil
		}
		b, err := openBroker(ctx, amqpURL, queue, log)
		if err == nil {
			c.brokers = append(c.brokers, b)
		}
		return b, err
	}
	pub, err := newBroker()
	if err != nil {
		return nil, err
	}
	c.disp, err = jobs.NewDispatcher(jobs.DispatcherConfig{Store: s, Broker: pub, Logger: log, Interval: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	for range workers {
		b, err := newBroker()
		if err != nil {
			return nil, err
		}
		w, err := newWorker(o, s, b, kinds, creds, nil, log)
		if err != nil {
			return nil, err
		}
		c.workers = append(c.workers, w)
		if err := w.Start(ctx); err != nil {
			return nil, err
		}
	}
	c.svc, err = jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds, Credentials: creds, Nudge: c.disp.Nudge})
	if err != nil {
		return nil, err
	}
	if err := c.disp.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// stop stops the workers, then the dispatcher, deletes a RabbitMQ queue and
// closes the brokers. A second call does nothing.
func (c *benchCluster) stop(ctx context.Context) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	for _, w := range c.workers {
		errs = append(errs, w.Stop(ctx))
	}
	if c.disp != nil {
		errs = append(errs, c.disp.Stop(ctx))
	}
	if len(c.brokers) > 0 {
		if rb, ok := c.brokers[0].(*rabbitmq.Broker); ok {
			errs = append(errs, rb.DeleteQueue(ctx))
		}
	}
	for _, b := range c.brokers {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

// runJob submits a tweet_lookup job of items demo ids (one request per 100)
// under credential and waits for it to end, at most timeout. It returns the
// time from submit to the job's end, or an error if the job did not succeed.
func (c *benchCluster) runJob(ctx context.Context, credential string, items int, timeout time.Duration) (time.Duration, error) {
	buf := make([]byte, 0, items*20)
	for i := range items {
		buf = strconv.AppendUint(buf, demoIDBase+uint64(i), 10)
		buf = append(buf, '\n')
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	job, err := c.svc.Submit(ctx, jobs.Submission{Kind: "tweet_lookup", Credential: credential, Items: bytes.NewReader(buf)})
	if err != nil {
		return 0, err
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		j, err := c.store.GetJob(ctx, job.ID)
		if err != nil {
			return 0, fmt.Errorf("job %d: %w", job.ID, err)
		}
		if j.State.Finished() {
			if j.State != store.JobSucceeded {
				return 0, fmt.Errorf("job %d ended %s: %s", j.ID, j.State, j.Summary)
			}
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("job %d: not finished after %s: %w", job.ID, timeout, ctx.Err())
		case <-t.C:
		}
	}
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
