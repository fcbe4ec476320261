package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/web"
)

// demoToken is the sandbox's bearer token for the demo credential. It is not
// a secret: it opens only the sandbox that pacer run itself serves.
const demoToken = "pacer-demo-token"

// cmdRun runs everything in one process: an SQLite store, the in-process
// queue, workers, the dispatcher, the page and API, and a sandbox upstream
// at /sandbox with a "demo" credential, so the demo works offline.
func cmdRun(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var o options
	var demoQuota string
	f := newFlagSet("run", "run [flags]", getenv, stderr)
	o.storeFlags(f, "sqlite:pacer.db")
	o.brokerFlags(f)
	o.kindFlags(f)
	o.workerFlags(f)
	o.serverFlags(f, "127.0.0.1:8080")
	o.scheduleFlags(f)
	o.graceFlag(f)
	f.String(&demoQuota, "demo-quota", "300/15s", "the sandbox's quota for the demo credential, as requests/window")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.readAdminToken(getenv); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	limit, window, err := ratelimit.ParseLimit(demoQuota)
	if err != nil {
		return fmt.Errorf("-demo-quota: %w", err)
	}
	log, err := newLogger(stderr, o.logLevel, "text")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	base := "http://" + ln.Addr().String()

	// The demo credential talks to the sandbox mounted below; a config file
	// adds (or replaces) real credentials.
	creds := jobs.Credentials{"demo": {Name: "demo", Token: demoToken, Quotas: []ratelimit.Quota{{Key: "demo", Limit: limit, Window: window}}}}
	var notifyFile notifyConfig // none without a config file: no job may name a target
	if o.configPath != "" {
		cfg, err := loadConfig(o.configPath, getenv)
		if err != nil {
			ln.Close()
			return err
		}
		notifyFile = cfg.notify
		for name, c := range cfg.creds {
			creds[name] = c
		}
		o.pools = cfg.pools
		o.allowHosts = cfg.allowHosts
	}
	notifyCfg, err := notifyFile.senders(getenv, os.ReadFile, log)
	if err != nil {
		ln.Close()
		return err
	}
	xAPIURL := o.xAPIURL
	if !flagOrEnvSet(f, "x-api-url") {
		xAPIURL = base + "/sandbox"
	}
	kinds, err := newRegistry(xAPIURL, o.allowHosts...)
	if err != nil {
		ln.Close()
		return err
	}
	sb, err := sandbox.New(sandbox.Config{Limit: limit, Window: window, Tokens: []string{demoToken}})
	if err != nil {
		ln.Close()
		return fmt.Errorf("-demo-quota: %w", err)
	}

	c := &components{log: log, listener: ln}
	if c.store, err = openStore(ctx, o.databaseURL, log); err != nil {
		ln.Close()
		return err
	}
	if c.broker, err = openBroker(ctx, o.amqpURL, o.queue, log); err != nil {
		ln.Close()
		return errors.Join(err, c.shutdown(0))
	}
	reg := newMetricsRegistry()
	metrics := jobs.NewMetrics(reg, kinds.Names(), quotaKeys(creds))
	o.metrics = reg // the worker's quota metrics
	reg.MustRegister(jobs.NewJobsCollector(c.store, kinds.Names(), 0), jobs.NewCredentialsCollector(c.store, creds.Names(), 0))
	registerProcessMetrics(reg, c.store, creds)
	fail := func(err error) error {
		if c.server == nil {
			ln.Close()
		}
		return errors.Join(err, c.shutdown(0))
	}
	if c.dispatcher, err = jobs.NewDispatcher(jobs.DispatcherConfig{
		Store: c.store, Broker: c.broker, RepublishAfter: o.republishAfter, Logger: log, Metrics: metrics,
		// The in-process queue starts empty: what it held died with the
		// last process.
		RepublishOnStart: o.amqpURL == "",
	}); err != nil {
		return fail(err)
	}
	if c.worker, err = newWorker(&o, c.store, c.broker, kinds, creds, metrics, log); err != nil {
		return fail(err)
	}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: c.store, Kinds: kinds, Credentials: creds, Pools: o.pools, Notify: notifyFile.policy(), Nudge: c.dispatcher.Nudge})
	if err != nil {
		return fail(err)
	}
	if err := c.startNotifier(notifyCfg, reg); err != nil {
		return fail(err)
	}
	if c.scheduler, err = newScheduler(&o, svc, reg, log); err != nil {
		return fail(err)
	}
	wc := webConfig(c.store, c.broker, svc, reg, log, o.adminToken)
	wc.Schedules = scheduleService(c.scheduler)
	h, err := web.New(wc)
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb))
	mux.Handle("GET /sandbox/stats", sb) // the sandbox's own path, so its counters are at /sandbox/stats
	mux.Handle("/", h)
	c.server = newHTTPServer(mux)
	c.server.RegisterOnShutdown(h.Close) // the event streams end at once
	if err := c.start(ctx); err != nil {
		return fail(err)
	}
	log.Info("pacer is running", "page", base+"/", "sandbox", base+"/sandbox", "demo_credential", "demo", "demo_quota", demoQuota)
	<-ctx.Done()
	log.Info("shutting down")
	return c.shutdown(o.grace)
}

// flagOrEnvSet reports whether the user gave flag name, on the command line
// or through its environment twin.
func flagOrEnvSet(f *flagSet, name string) bool {
	set := f.getenv(envName(name)) != ""
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}
