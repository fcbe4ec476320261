package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/rabbitmq"
	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
)

// cmdBench measures pacer. "bench throughput" runs a tweet-lookup job whose
// tasks call a sandbox without a quota, end to end (submit to finish),
// embedded and, given PostgreSQL and RabbitMQ, distributed; and measures in
// the same run the raw limits of this machine: RabbitMQ publish-with-confirm
// plus consume-with-ack of empty persistent messages, and PostgreSQL
// single-row transaction commits. "bench quota" is cmdBenchQuota, "bench
// rows" cmdBenchRows, "bench page" cmdBenchPage.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "quota" {
		return cmdBenchQuota(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "rows" {
		return cmdBenchRows(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "page" {
		return cmdBenchPage(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "throughput" {
		return errors.New("bench: want a benchmark name: throughput, quota, rows or page")
	}
	var o options
	var items, rawN int
	f := newFlagSet("bench throughput", "bench throughput [flags]", getenv, stderr)
	o.storeFlags(f, "")
	o.brokerFlags(f)
	f.Int(&o.concurrency, "concurrency", 8, "tasks each worker runs at once")
	f.Int(&items, "items", 50000, "ids in the benchmark job (100 per task)")
	f.Int(&rawN, "raw", 5000, "messages and commits in the raw measurements")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if items < 100 || rawN < 1 || o.concurrency < 1 {
		return errors.New("bench: -items must be at least 100, -raw and -concurrency at least 1")
	}
	log, err := newLogger(stderr, "warn", "text")
	if err != nil {
		return err
	}
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	xURL := "http://" + ln.Addr().String()

	// Rows print as they are measured, so fixed widths rather than a
	// tabwriter that would hold them back.
	fmt.Fprintf(stdout, "%-60s %18s  %s\n", "measure", "result", "note")
	report := func(name string, v float64, unit, note string) {
		fmt.Fprintf(stdout, "%-60s %18s  %s\n", name, fmt.Sprintf("%.0f %s", v, unit), note)
	}

	dir, err := os.MkdirTemp("", "pacer-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tps, err := benchPipeline(ctx, "sqlite:"+filepath.Join(dir, "bench.db"), "", "", 1, o.concurrency, items, xURL, log)
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	report("end-to-end, embedded (SQLite + in-process queue, 1 worker)", tps, "tasks/s", fmt.Sprintf("%d ids, 100 per task, concurrency %d", items, o.concurrency))

	pg := strings.HasPrefix(o.databaseURL, "postgres")
	if pg && o.amqpURL != "" {
		queue := fmt.Sprintf("pacer.bench.%08x", rand.Uint32())
		tps, err := benchPipeline(ctx, o.databaseURL, o.amqpURL, queue, 2, o.concurrency, items, xURL, log)
		if err != nil {
			return fmt.Errorf("distributed: %w", err)
		}
		report("end-to-end, distributed (PostgreSQL + RabbitMQ, 2 workers)", tps, "tasks/s", fmt.Sprintf("%d ids, concurrency %d each", items, o.concurrency))
		rate, err := rabbitmq.ProbeRoundTrip(ctx, o.amqpURL, rawN)
		if err != nil {
			return fmt.Errorf("raw rabbitmq: %w", err)
		}
		report("raw RabbitMQ publish-confirm + consume-ack", rate, "msgs/s", fmt.Sprintf("%d empty persistent messages, quorum queue", rawN))
		db, err := postgres.Open(ctx, postgres.Config{URL: o.databaseURL, Logger: log})
		if err != nil {
			return err
		}
		rate, err = db.ProbeCommits(ctx, rawN)
		db.Close()
		if err != nil {
			return fmt.Errorf("raw postgres: %w", err)
		}
		report("raw PostgreSQL single-row commits", rate, "commits/s", fmt.Sprintf("%d transactions, one connection", rawN))
	} else {
		fmt.Fprintln(stderr, "bench: set -database-url (postgres://…) and -amqp-url for the distributed and raw measurements")
	}
	return nil
}

// benchPipeline runs one job of items ids through a dispatcher and workers
// and returns tasks per second from submit to the job's end.
func benchPipeline(ctx context.Context, dbURL, amqpURL, queue string, workers, concurrency, items int, xURL string, log *slog.Logger) (float64, error) {
	s, err := openStore(ctx, dbURL, log)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	kinds, err := newRegistry(xURL)
	if err != nil {
		return 0, err
	}
	// A quota declared too large to bind: undeclared, pacer would learn the
	// sandbox's (absent) quota at a conservative pace, and the benchmark
	// would measure the learning instead of the pipeline.
	creds := jobs.Credentials{"bench": {Name: "bench", Token: "bench-token",
		Quotas: []ratelimit.Quota{{Key: fmt.Sprintf("bench-%08x", rand.Uint32()), Limit: 100_000_000, Window: time.Second}}}}
	var brokers []broker.Broker
	newBroker := func() (broker.Broker, error) {
		if amqpURL == "" {
			if len(brokers) > 0 {
				return brokers[0], nil // one in-process queue
			}
		}
		b, err := openBroker(ctx, amqpURL, queue, log)
		if err == nil {
			brokers = append(brokers, b)
		}
		return b, err
	}
	defer func() {
		if rb, ok := brokers[0].(*rabbitmq.Broker); ok {
			_ = rb.DeleteQueue(context.WithoutCancel(ctx))
		}
		for _, b := range brokers {
			b.Close()
		}
	}()
	pub, err := newBroker()
	if err != nil {
		return 0, err
	}
	disp, err := jobs.NewDispatcher(jobs.DispatcherConfig{Store: s, Broker: pub, Logger: log, Interval: 50 * time.Millisecond})
	if err != nil {
		return 0, err
	}
	o := options{concurrency: concurrency, taskTimeout: 30 * time.Second, maxAttempts: 5, quotaMargin: time.Second}
	var ws []*jobs.Worker
	for range workers {
		b, err := newBroker()
		if err != nil {
			return 0, err
		}
		w, err := newWorker(&o, s, b, kinds, creds, nil, log)
		if err != nil {
			return 0, err
		}
		ws = append(ws, w)
	}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds, Credentials: creds, Nudge: disp.Nudge})
	if err != nil {
		return 0, err
	}
	for _, w := range ws {
		if err := w.Start(ctx); err != nil {
			return 0, err
		}
		defer w.Stop(context.WithoutCancel(ctx))
	}
	if err := disp.Start(ctx); err != nil {
		return 0, err
	}
	defer disp.Stop(context.WithoutCancel(ctx))

	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 0, 64<<10)
		for i := range items {
			buf = strconv.AppendUint(buf, demoIDBase+uint64(i), 10)
			buf = append(buf, '\n')
		}
		pw.CloseWithError(func() error { _, err := pw.Write(buf); return err }())
	}()
	start := time.Now()
	job, err := svc.Submit(ctx, jobs.Submission{Kind: "tweet_lookup", Credential: "bench", Items: pr})
	if err != nil {
		return 0, err
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		j, err := s.GetJob(ctx, job.ID)
		if err != nil {
			return 0, err
		}
		if j.State.Finished() {
			if j.State != store.JobSucceeded {
				return 0, fmt.Errorf("bench job ended %s: %s", j.State, j.Summary)
			}
			return float64(j.TasksTotal) / time.Since(start).Seconds(), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}
