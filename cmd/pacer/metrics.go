package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/inproc"
	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// defaultWorkerMetricsListen is where `pacer work` serves /metrics unless
// told otherwise, so that a worker is scrapable without configuration. It
// is loopback: a worker reachable from elsewhere is a deliberate choice.
// Several workers on one host each need their own -metrics-listen.
const defaultWorkerMetricsListen = "127.0.0.1:9464"

// managementURLFlag adds -rabbitmq-management-url, for the unacknowledged
// messages of the queue, which AMQP does not report.
func (o *options) managementURLFlag(f *flagSet) {
	f.String(&o.managementURL, "rabbitmq-management-url", "", "RabbitMQ management API (http://user:pass@host:15672), for the queue's unacknowledged messages in /metrics; empty to report none")
}

// validManagementURL checks -rabbitmq-management-url before any connection
// is opened. The error never quotes the URL, which holds a password.
func validManagementURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-rabbitmq-management-url: not an http(s) URL with a host")
	}
	return nil
}

// openMeteredBroker opens the broker as openBroker does and, for RabbitMQ,
// counts its reconnections on reg and registers the collector that asks the
// server about the queue at scrape time.
func openMeteredBroker(ctx context.Context, o *options, reg prometheus.Registerer, log *slog.Logger) (broker.Broker, error) {
	if o.amqpURL == "" {
		return inproc.New(), nil
	}
	b, err := rabbitmq.New(ctx, rabbitmq.Config{URL: o.amqpURL, Queue: o.queue, Logger: log, Metrics: rabbitmq.NewMetrics(reg)})
	if err != nil {
		return nil, fmt.Errorf("connect to rabbitmq: %w", err)
	}
	qc, err := rabbitmq.NewQueueCollector(b, rabbitmq.QueueCollectorConfig{ManagementURL: o.managementURL})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("-rabbitmq-management-url: %w", err)
	}
	reg.MustRegister(qc)
	return b, nil
}

// registerProcessMetrics registers what serve and work both report: whether
// the store answers, and which credential each quota belongs to.
func registerProcessMetrics(reg prometheus.Registerer, s store.Store, creds jobs.Credentials) {
	reg.MustRegister(jobs.NewStoreCollector(s, 0))
	jobs.RegisterCredentialQuotas(reg, creds)
}
