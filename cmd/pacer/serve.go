package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/web"
)

// cmdServe runs the page, the JSON API and the dispatcher.
func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var o options
	f := newFlagSet("serve", "serve [flags]", getenv, stderr)
	o.storeFlags(f, "")
	o.brokerFlags(f)
	o.kindFlags(f)
	o.serverFlags(f, "127.0.0.1:8080")
	o.scheduleFlags(f)
	o.managementURLFlag(f)
	o.graceFlag(f)
	if err := f.parse(args); err != nil {
		return err
	}
	o.concurrency, o.maxAttempts, o.taskTimeout = 1, 1, time.Second // unused by serve
	if err := o.readAdminToken(getenv); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.amqpURL == "" {
		return errors.New("-amqp-url: empty; serve hands tasks to workers through RabbitMQ (set PACER_AMQP_URL), or use pacer run for one process")
	}
	if o.configPath == "" {
		return errors.New("-config: empty; serve needs the credentials file that jobs name (set PACER_CONFIG)")
	}
	log, err := newLogger(stderr, o.logLevel, "json")
	if err != nil {
		return err
	}
	// serve makes no upstream requests: it reads the credentials' names and
	// quotas, never their tokens.
	cfg, err := loadConfig(o.configPath, nil)
	if err != nil {
		return err
	}
	// serve does send notifications: their secrets are read here.
	notifyCfg, err := cfg.notify.senders(getenv, os.ReadFile, log)
	if err != nil {
		return err
	}
	creds := cfg.creds
	kinds, err := newRegistry(o.xAPIURL, cfg.allowHosts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	c := &components{log: log, listener: ln}
	defer func() {
		if c.server == nil {
			ln.Close()
		}
	}()
	if c.store, err = openStore(ctx, o.databaseURL, log); err != nil {
		return err
	}
	reg := newMetricsRegistry()
	if c.broker, err = openMeteredBroker(ctx, &o, reg, log); err != nil {
		c.store.Close()
		return err
	}
	metrics := jobs.NewMetrics(reg, kinds.Names(), quotaKeys(creds))
	reg.MustRegister(jobs.NewJobsCollector(c.store, kinds.Names(), 0), jobs.NewCredentialsCollector(c.store, creds.Names(), 0))
	registerProcessMetrics(reg, c.store, creds)
	if c.dispatcher, err = jobs.NewDispatcher(jobs.DispatcherConfig{Store: c.store, Broker: c.broker, RepublishAfter: o.republishAfter, Logger: log, Metrics: metrics}); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: c.store, Kinds: kinds, Credentials: creds, Pools: cfg.pools, Notify: cfg.notify.policy(), Nudge: c.dispatcher.Nudge})
	if err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	if err := c.startNotifier(notifyCfg, reg); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	if c.scheduler, err = newScheduler(&o, svc, reg, log); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	wc := webConfig(c.store, c.broker, svc, reg, log, o.adminToken)
	wc.Schedules = scheduleService(c.scheduler)
	h, err := web.New(wc)
	if err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	c.server = newHTTPServer(h)
	c.server.RegisterOnShutdown(h.Close) // the event streams end at once
	if err := c.start(ctx); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	<-ctx.Done()
	log.Info("shutting down")
	return c.shutdown(o.grace)
}
