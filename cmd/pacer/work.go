package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pacerhq/pacer/jobs"
)

// cmdWork runs a worker: it consumes task ids from RabbitMQ and carries the
// tasks out against the store.
func cmdWork(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var o options
	var metricsListen string
	f := newFlagSet("work", "work [flags]", getenv, stderr)
	o.storeFlags(f, "")
	o.brokerFlags(f)
	o.kindFlags(f)
	o.workerFlags(f)
	o.graceFlag(f)
	f.String(&metricsListen, "metrics-listen", defaultWorkerMetricsListen, "address for this worker's /metrics, /healthz and /readyz (any interface: they show no per-job data); -metrics-listen \"\" for none")
	o.managementURLFlag(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	// Unlike -listen, this address may be beyond loopback: it serves only
	// /metrics and /healthz, whose labels come from closed sets and name
	// no job, item or credential token (STYLE.md, Metrics), so it needs no
	// access control, and Prometheus on another host (or container) must
	// reach it.
	if metricsListen != "" {
		if _, _, err := net.SplitHostPort(metricsListen); err != nil {
			return fmt.Errorf("-metrics-listen: %q is not host:port: %v", metricsListen, err)
		}
	}
	if o.amqpURL == "" {
		return errors.New("-amqp-url: empty; a worker takes tasks from RabbitMQ (set PACER_AMQP_URL), or use pacer run for one process")
	}
	if o.configPath == "" {
		return errors.New("-config: empty; a worker needs the credentials file (set PACER_CONFIG)")
	}
	log, err := newLogger(stderr, o.logLevel, "json")
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o.configPath, getenv)
	if err != nil {
		return err
	}
	creds := cfg.creds
	o.pools = cfg.pools
	kinds, err := newRegistry(o.xAPIURL, cfg.allowHosts...)
	if err != nil {
		return err
	}
	c := &components{log: log}
	if c.store, err = openStore(ctx, o.databaseURL, log); err != nil {
		return err
	}
	reg := newMetricsRegistry()
	if c.broker, err = openMeteredBroker(ctx, &o, reg, log); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	metrics := jobs.NewMetrics(reg, kinds.Names(), quotaKeys(creds))
	registerProcessMetrics(reg, c.store, creds)
	o.metrics = reg // the worker's quota metrics
	if c.worker, err = newWorker(&o, c.store, c.broker, kinds, creds, metrics, log); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	if metricsListen != "" {
		if c.listener, err = net.Listen("tcp", metricsListen); err != nil {
			return errors.Join(fmt.Errorf("-metrics-listen: %w", err), c.shutdown(0))
		}
		mux := http.NewServeMux()
		// A collector that fails (RabbitMQ unreachable) leaves its own
		// metrics out, not the rest: pacer_store_up and the counters still
		// say what is wrong.
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}))
		addHealth(mux, readiness(c.store, c.broker), log)
		c.server = newHTTPServer(mux)
	}
	if err := c.start(ctx); err != nil {
		return errors.Join(err, c.shutdown(0))
	}
	<-ctx.Done()
	log.Info("shutting down")
	return c.shutdown(o.grace)
}
