package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/inproc"
	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/annotate"
	httpkind "github.com/pacerhq/pacer/jobs/http"
	"github.com/pacerhq/pacer/jobs/tweets"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
	"github.com/pacerhq/pacer/store/sqlite"
	"github.com/pacerhq/pacer/web"
)

// options are the flags that run, serve and work share.
type options struct {
	databaseURL    string
	amqpURL        string
	queue          string
	configPath     string
	xAPIURL        string
	listen         string
	concurrency    int
	taskTimeout    time.Duration
	lease          time.Duration
	maxAttempts    int
	grace          time.Duration
	republishAfter time.Duration
	quotaMargin    time.Duration
	logLevel       string
	logFormat      string

	scheduleMinInterval time.Duration // serve and run: see scheduleFlags
	managementURL       string

	// metrics is not a flag: it is where newWorker registers the quota
	// metrics, set by a subcommand once it has built its registry. nil
	// registers none (bench runs several workers in one process).
	metrics prometheus.Registerer
	// pools is not a flag either: the pools of the credentials file, for
	// newWorker.
	pools jobs.Pools
	// allowHosts is not a flag either: the hosts http_get may reach, from
	// the credentials file, for newRegistry.
	allowHosts []string
	// adminTokenFile names the file holding the admin token; adminToken is
	// the token itself, read by readAdminToken (never a flag value: flags
	// show in ps).
	adminTokenFile string
	adminToken     string
}

func (o *options) storeFlags(f *flagSet, defaultDB string) {
	f.String(&o.databaseURL, "database-url", defaultDB, "the store: postgres://… for PostgreSQL, or sqlite:PATH (or a plain path) for an SQLite file")
	f.String(&o.logLevel, "log-level", "info", "debug, info, warn or error")
}

func (o *options) brokerFlags(f *flagSet) {
	f.String(&o.amqpURL, "amqp-url", "", "RabbitMQ URL (amqp://user:pass@host:5672/vhost); empty for the in-process queue")
	f.String(&o.queue, "queue", "pacer.tasks", "the RabbitMQ queue that carries task ids")
}

func (o *options) kindFlags(f *flagSet) {
	f.String(&o.configPath, "config", "", "credentials file (TOML): [credentials.NAME] with token_env or token_file, and quota = \"900/15m\"")
	f.String(&o.xAPIURL, "x-api-url", "https://api.x.com", "base URL of the X API v2")
}

func (o *options) workerFlags(f *flagSet) {
	f.Int(&o.concurrency, "concurrency", 8, "tasks a worker runs at once (also the broker prefetch)")
	f.Duration(&o.taskTimeout, "task-timeout", time.Minute, "longest one task attempt may take")
	f.Duration(&o.lease, "lease", 0, "how long a claimed task is kept from other workers; a dead worker's tasks wait this long (default task-timeout + 30s)")
	f.Int(&o.maxAttempts, "max-attempts", 5, "attempts before a task fails for good (waiting on a quota does not count)")
	f.Duration(&o.quotaMargin, "quota-margin", time.Second, "added to every quota window when counting, for the time a request takes to reach the upstream")
}

func (o *options) serverFlags(f *flagSet, defaultListen string) {
	f.String(&o.listen, "listen", defaultListen, "address of the pages, the API and /metrics (loopback only without an admin token)")
	f.String(&o.adminTokenFile, "admin-token-file", "", "file holding the admin token that the API (Bearer) and the login page ask for; or set PACER_ADMIN_TOKEN. Without one, pacer listens on loopback only")
	f.Duration(&o.republishAfter, "republish-after", 10*time.Minute, "how long a published task may stay unclaimed before it is published again")
}

func (o *options) graceFlag(f *flagSet) {
	f.Duration(&o.grace, "shutdown-grace", 30*time.Second, "on SIGTERM, how long running tasks may take to finish before they are cancelled and returned")
}

func (o *options) validate() error {
	if o.concurrency < 1 {
		return fmt.Errorf("-concurrency: %d is below 1", o.concurrency)
	}
	if o.maxAttempts < 1 {
		return fmt.Errorf("-max-attempts: %d is below 1", o.maxAttempts)
	}
	if o.taskTimeout <= 0 {
		return fmt.Errorf("-task-timeout: %s is not positive", o.taskTimeout)
	}
	if o.lease != 0 && o.lease <= o.taskTimeout {
		return fmt.Errorf("-lease: %s must exceed -task-timeout %s", o.lease, o.taskTimeout)
	}
	if o.quotaMargin < 0 {
		return fmt.Errorf("-quota-margin: %s is negative", o.quotaMargin)
	}
	if err := validManagementURL(o.managementURL); err != nil {
		return err
	}
	if o.listen != "" && o.adminToken == "" {
		if err := loopbackOnly(o.listen); err != nil {
			return fmt.Errorf("-listen: %w; set PACER_ADMIN_TOKEN or -admin-token-file to turn access control on", err)
		}
	}
	return nil
}

// loopbackOnly refuses to listen beyond loopback: the pages and the API have
// no access control yet, and pacer must never be exposed without one.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address, and without access control pacer refuses to listen beyond loopback", addr)
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// openStore opens and migrates the store that url names.
func openStore(ctx context.Context, url string, log *slog.Logger) (store.Store, error) {
	var (
		s   store.Store
		err error
	)
	switch {
	case url == "":
		return nil, errors.New("-database-url: empty; set PACER_DATABASE_URL")
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err = postgres.Open(ctx, postgres.Config{URL: url, Logger: log})
	default:
		s, err = sqlite.Open(ctx, sqlite.Config{Path: strings.TrimPrefix(url, "sqlite:"), Logger: log})
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate store: %w", err)
	}
	return s, nil
}

func openBroker(ctx context.Context, url, queue string, log *slog.Logger) (broker.Broker, error) {
	if url == "" {
		return inproc.New(), nil
	}
	b, err := rabbitmq.New(ctx, rabbitmq.Config{URL: url, Queue: queue, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("connect to rabbitmq: %w", err)
	}
	return b, nil
}

// newRegistry builds the kinds: X's against xAPIURL, and http_get, which may
// reach allowHosts only (the config file's [http] allow_hosts).
func newRegistry(xAPIURL string, allowHosts ...string) (*jobs.Registry, error) {
	lookup, err := tweets.NewLookup(tweets.Config{BaseURL: xAPIURL})
	if err != nil {
		return nil, fmt.Errorf("-x-api-url: %w", err)
	}
	kinds := &jobs.Registry{}
	kinds.Register(lookup)
	userTweets, err := tweets.NewUserTweets(tweets.Config{BaseURL: xAPIURL})
	if err != nil {
		return nil, fmt.Errorf("-x-api-url: %w", err)
	}
	kinds.Register(userTweets)
	userFollowers, err := tweets.NewUserFollowers(tweets.Config{BaseURL: xAPIURL})
	if err != nil {
		return nil, fmt.Errorf("-x-api-url: %w", err)
	}
	kinds.Register(userFollowers)
	get, err := httpkind.NewGet(httpkind.Config{AllowHosts: allowHosts})
	if err != nil {
		return nil, fmt.Errorf("config: http: %w", err)
	}
	kinds.Register(get)
	kinds.Register(annotate.New())
	return kinds, nil
}

func quotaKeys(creds jobs.Credentials) []string {
	var keys []string
	for _, name := range creds.Names() {
		for _, q := range creds[name].Quotas {
			keys = append(keys, q.Key)
		}
	}
	return keys
}

// quotas returns every quota of every credential, in the order of
// quotaKeys. The config gives each quota its own name across credentials.
func quotas(creds jobs.Credentials) []ratelimit.Quota {
	var qs []ratelimit.Quota
	for _, name := range creds.Names() {
		qs = append(qs, creds[name].Quotas...)
	}
	return qs
}

func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		buildInfoCollector(),
	)
	return reg
}

// components is what a process runs; each part is optional.
type components struct {
	log        *slog.Logger
	store      store.Store
	broker     broker.Broker
	dispatcher *jobs.Dispatcher
	scheduler  *jobs.Scheduler
	notifier   *jobs.Notifier
	worker     *jobs.Worker
	server     *http.Server
	listener   net.Listener
}

func newWorker(o *options, s store.Store, b broker.Broker, kinds *jobs.Registry, creds jobs.Credentials, m *jobs.Metrics, log *slog.Logger) (*jobs.Worker, error) {
	var qm *ratelimit.Metrics
	if o.metrics != nil {
		qm = ratelimit.NewMetrics(o.metrics, quotas(creds))
	}
	limiter, err := ratelimit.NewLimiter(ratelimit.Config{Ledger: jobs.CountLedger(s, m), Margin: o.quotaMargin, Metrics: qm})
	if err != nil {
		return nil, err
	}
	return jobs.NewWorker(jobs.WorkerConfig{
		Store: s, Broker: b, Kinds: kinds, Credentials: creds, Pools: o.pools, Limiter: limiter,
		Concurrency: o.concurrency, TaskTimeout: o.taskTimeout, Lease: o.lease, MaxAttempts: o.maxAttempts,
		Logger: log, Metrics: m,
	})
}

func newWeb(s store.Store, b broker.Broker, svc *jobs.Service, reg *prometheus.Registry, log *slog.Logger, adminToken string) (*web.Server, error) {
	return web.New(webConfig(s, b, svc, reg, log, adminToken))
}

// webConfig is the web handler's configuration; serve and run add their
// scheduler to it.
func webConfig(s store.Store, b broker.Broker, svc *jobs.Service, reg *prometheus.Registry, log *slog.Logger, adminToken string) web.Config {
	return web.Config{
		Jobs: svc, Reader: s, Gatherer: reg, Logger: log, AdminToken: adminToken,
		Ready: readiness(s, b),
	}
}

// start brings the components up: the worker and the dispatcher, then the
// HTTP server.
func (c *components) start(ctx context.Context) error {
	// ctx ends at the first SIGTERM, but the worker and the dispatcher must
	// outlive it: shutdown stops them in order, softly first. Handing them
	// ctx itself would cancel every running task at once.
	ctx = context.WithoutCancel(ctx)
	if c.worker != nil {
		if err := c.worker.Start(ctx); err != nil {
			return err
		}
	}
	if c.dispatcher != nil {
		if err := c.dispatcher.Start(ctx); err != nil {
			return err
		}
	}
	if c.scheduler != nil {
		if err := c.scheduler.Start(ctx); err != nil {
			return err
		}
	}
	if c.notifier != nil {
		if err := c.notifier.Start(ctx); err != nil {
			return err
		}
	}
	if c.server != nil {
		go func() {
			if err := c.server.Serve(c.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.log.Error("http server stopped", "err", err)
			}
		}()
		c.log.Info("listening", "addr", "http://"+c.listener.Addr().String())
	}
	return nil
}

// shutdown stops in the order STYLE.md gives: stop consuming and let running
// tasks finish within grace, then cancel them; stop dispatching; close the
// broker; shut the HTTP server; close the store.
func (c *components) shutdown(grace time.Duration) error {
	var errs []error
	if c.scheduler != nil { // it creates jobs: stop it first
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, c.scheduler.Stop(ctx))
		cancel()
	}
	if c.worker != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, c.worker.Stop(ctx))
		cancel()
	}
	if c.dispatcher != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, c.dispatcher.Stop(ctx))
		cancel()
	}
	if c.notifier != nil { // after the worker, whose last endings it may still send
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, c.notifier.Stop(ctx))
		cancel()
	}
	if c.broker != nil {
		errs = append(errs, c.broker.Close())
	}
	if c.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, c.server.Shutdown(ctx))
		cancel()
	}
	if c.store != nil {
		errs = append(errs, c.store.Close())
	}
	c.log.Info("stopped")
	return errors.Join(errs...)
}
