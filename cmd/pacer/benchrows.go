package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
)

// rowsBenchConfig is what `pacer bench rows` measures, as its flags give it.
type rowsBenchConfig struct {
	DatabaseURL string // postgres://…, required
	AMQPURL     string // RabbitMQ; empty for the in-process queue
	Items       int    // items in the annotate job
	Annotators  int    // annotators the job names
	PerItem     int    // annotators per item: rows = Items × PerItem
	Concurrency int    // tasks the one worker runs at once
	Raw         int    // rows ProbeCopy copies; 0 means Items × PerItem
	Rounds      int    // job-then-COPY rounds; the medians are reported
}

func (c *rowsBenchConfig) validate() error {
	switch {
	case c.DatabaseURL == "":
		return errors.New("-database-url: required: postgres://…; the raw COPY rate is measured on PostgreSQL only")
	case !isPostgresURL(c.DatabaseURL):
		return fmt.Errorf("-database-url: %q is not postgres://…; the raw COPY rate is measured on PostgreSQL only", c.DatabaseURL)
	case c.Items < 1:
		return fmt.Errorf("-items: %d is below 1", c.Items)
	case c.Annotators < 1:
		return fmt.Errorf("-annotators: %d is below 1", c.Annotators)
	case c.PerItem < 1 || c.PerItem > c.Annotators:
		return fmt.Errorf("-per-item: %d is not between 1 and -annotators (%d)", c.PerItem, c.Annotators)
	case c.Concurrency < 1:
		return fmt.Errorf("-concurrency: %d is below 1", c.Concurrency)
	case c.Raw < 0:
		return fmt.Errorf("-raw: %d is negative", c.Raw)
	case c.Rounds < 1:
		return fmt.Errorf("-rounds: %d is below 1", c.Rounds)
	}
	return nil
}

// rowsResult is the JSON line `pacer bench rows` prints.
type rowsResult struct {
	Items      int `json:"items"`
	Annotators int `json:"annotators"`
	PerItem    int `json:"per_item"`
	// Rows is the instances each round's job created (Items × PerItem).
	Rows int64 `json:"rows"`
	// Rounds is how many job-then-COPY rounds ran.
	Rounds int `json:"rounds"`
	// Seconds is the median job's submit-to-finish time.
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"` // median over rounds
	// RawRows and RawRowsPerSecond are the ProbeCopy measurement (median).
	RawRows          int     `json:"raw_rows"`
	RawRowsPerSecond float64 `json:"raw_rows_per_second"`
	// Ratio is the median over rounds of each round's pacer rate / raw
	// rate: the two halves of a round run back to back, so a neighbour's
	// load weighs on both alike.
	Ratio float64 `json:"ratio"`
	// RatioMin and RatioMax are the lowest and highest round's ratio.
	RatioMin float64 `json:"ratio_min"`
	RatioMax float64 `json:"ratio_max"`
	// Store is "postgres+inproc" or "postgres+rabbitmq".
	Store string `json:"store"`
}

// cmdBenchRows is `pacer bench rows`: rounds of one annotate job of items ×
// per-item instances through a dispatcher and one worker, timed from submit
// to the job's end, each followed at once by PostgreSQL's raw COPY rate of as
// many rows into a table of the same shape ([postgres.DB.ProbeCopy]). It
// reports the medians and the median of the rounds' ratios: on a shared
// machine a neighbour's load comes and goes, and a round's two halves, back
// to back, bear it alike. The broker carries one message per 1,000 items,
// so it matters little: the measure is the store's bulk insert of instances.
func cmdBenchRows(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    rowsBenchConfig
		logLvl string
	)
	f := newFlagSet("bench rows", "bench rows [flags]", getenv, stderr)
	f.String(&cfg.DatabaseURL, "database-url", "", "the store, postgres://… (required: the raw COPY rate is PostgreSQL's); the job's instances stay in it, so give it a schema of its own")
	f.String(&cfg.AMQPURL, "amqp-url", "", "RabbitMQ URL; empty for the in-process queue (the benchmark measures the store's bulk insert, not the broker)")
	f.Int(&cfg.Items, "items", 100000, "items in the annotate job")
	f.Int(&cfg.Annotators, "annotators", 7, "annotators the job names")
	f.Int(&cfg.PerItem, "per-item", 3, "annotators per item: the job creates items × per-item rows")
	f.Int(&cfg.Concurrency, "concurrency", 4, "tasks the worker runs at once")
	f.Int(&cfg.Raw, "raw", 0, "rows in the raw COPY measurement; 0 means items × per-item")
	f.Int(&cfg.Rounds, "rounds", 5, "rounds of one job then one raw COPY; medians are reported, since a shared machine's load comes and goes")
	f.String(&logLvl, "log-level", "warn", "debug, info, warn or error")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) > 0 {
		return fmt.Errorf("bench rows: unexpected argument %q", f.args()[0])
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Raw == 0 {
		cfg.Raw = cfg.Items * cfg.PerItem
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
	db, ok := s.(*postgres.DB)
	if !ok {
		return fmt.Errorf("-database-url: not a PostgreSQL store (%T)", s)
	}

	runID := fmt.Sprintf("%08x", rand.Uint32())
	// The annotate kind makes no request: the registry's base URL goes
	// unused. The credential's quota is declared too large to bind, as in
	// bench throughput.
	kinds, err := newRegistry("http://127.0.0.1:1")
	if err != nil {
		return err
	}
	creds := jobs.Credentials{"bench": {Name: "bench", Token: "bench-token",
		Quotas: []ratelimit.Quota{{Key: "bench-rows-" + runID, Limit: 100_000_000, Window: time.Second}}}}
	o := options{concurrency: cfg.Concurrency, taskTimeout: 5 * time.Minute, maxAttempts: 5, quotaMargin: time.Second}
	c, err := startBenchCluster(ctx, s, cfg.AMQPURL, "pacer.bench.rows."+runID, 1, &o, kinds, creds, log)
	if err != nil {
		return err
	}
	defer c.stop(ctx)

	fmt.Fprintf(stdout, "%-60s %18s  %s\n", "measure", "result", "note")
	report := func(name, result, note string) {
		fmt.Fprintf(stdout, "%-60s %18s  %s\n", name, result, note)
	}
	mode := "postgres+inproc"
	if cfg.AMQPURL != "" {
		mode = "postgres+rabbitmq"
	}
	r := rowsResult{Items: cfg.Items, Annotators: cfg.Annotators, PerItem: cfg.PerItem, RawRows: cfg.Raw, Store: mode}

	r.Rounds = cfg.Rounds
	var secs, rates, raws, ratios []float64
	for round := range cfg.Rounds {
		// A scope per round: no instance of an earlier round collides.
		scope := fmt.Sprintf("bench-rows-%s-%d", runID, round)
		elapsed, jobID, err := runAnnotateJob(ctx, c, scope, cfg)
		if err != nil {
			return fmt.Errorf("bench rows: round %d: %w", round+1, err)
		}
		_, created, err := s.CountInstances(ctx, scope, jobID)
		if err != nil {
			return err
		}
		if want := int64(cfg.Items) * int64(cfg.PerItem); created != want {
			return fmt.Errorf("bench rows: job %d created %d instances, want %d (items × per-item)", jobID, created, want)
		}
		r.Rows = created
		raw, err := db.ProbeCopy(ctx, cfg.Raw)
		if err != nil {
			return fmt.Errorf("raw postgres: %w", err)
		}
		rate := float64(created) / elapsed.Seconds()
		secs, rates, raws = append(secs, elapsed.Seconds()), append(rates, rate), append(raws, raw)
		ratios = append(ratios, rate/raw)
		report(fmt.Sprintf("round %d: pacer annotate job / raw COPY", round+1),
			fmt.Sprintf("%.1f%%", 100*rate/raw), fmt.Sprintf("%.0f vs %.0f rows/s", rate, raw))
	}
	if err := c.stop(ctx); err != nil {
		return err
	}
	r.Seconds = round3(median(secs))
	r.RowsPerSecond = median(rates)
	r.RawRowsPerSecond = median(raws)
	r.Ratio = round3(median(ratios))
	r.RatioMin, r.RatioMax = round3(slices.Min(ratios)), round3(slices.Max(ratios))
	report(fmt.Sprintf("pacer annotate job, %s (1 worker × %d)", mode, cfg.Concurrency),
		fmt.Sprintf("%.0f rows/s", r.RowsPerSecond),
		fmt.Sprintf("median of %d; %d items × %d of %d annotators, %d rows in %.2f s", cfg.Rounds, cfg.Items, cfg.PerItem, cfg.Annotators, r.Rows, r.Seconds))
	report("raw PostgreSQL COPY into a table of the same shape", fmt.Sprintf("%.0f rows/s", r.RawRowsPerSecond),
		fmt.Sprintf("median of %d; %d rows, 3,000 per COPY, one transaction, one connection", cfg.Rounds, cfg.Raw))
	report("pacer / raw", fmt.Sprintf("%.1f%%", 100*r.Ratio),
		fmt.Sprintf("median of the rounds' ratios (%.1f%% to %.1f%%); aim: at least 70%%", 100*r.RatioMin, 100*r.RatioMax))
	r.RowsPerSecond = float64(int64(r.RowsPerSecond + 0.5))
	r.RawRowsPerSecond = float64(int64(r.RawRowsPerSecond + 0.5))
	return json.NewEncoder(stdout).Encode(r)
}

// runAnnotateJob submits an annotate job of cfg.Items items in scope and
// waits for it to end. It returns the time from submit to the job's end and
// the job's id, or an error if the job did not succeed.
func runAnnotateJob(ctx context.Context, c *benchCluster, scope string, cfg rowsBenchConfig) (time.Duration, int64, error) {
	names := make([]string, cfg.Annotators)
	for i := range names {
		names[i] = "annotator-" + strconv.Itoa(i+1)
	}
	params, err := json.Marshal(map[string]any{"annotators": names, "per_item": cfg.PerItem, "scope": scope})
	if err != nil {
		return 0, 0, err
	}
	var b strings.Builder
	b.Grow(cfg.Items * 16)
	for i := range cfg.Items {
		b.WriteString("item-")
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	start := time.Now()
	job, err := c.svc.Submit(ctx, jobs.Submission{Kind: "annotate", Credential: "bench", Params: params, Items: strings.NewReader(b.String())})
	if err != nil {
		return 0, 0, err
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		j, err := c.store.GetJob(ctx, job.ID)
		if err != nil {
			return 0, 0, fmt.Errorf("job %d: %w", job.ID, err)
		}
		if j.State.Finished() {
			if j.State != store.JobSucceeded {
				return 0, 0, fmt.Errorf("job %d ended %s: %s", j.ID, j.State, j.Summary)
			}
			return time.Since(start), j.ID, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("job %d: %w", job.ID, ctx.Err())
		case <-t.C:
		}
	}
}

// median returns the middle of xs (the mean of the two middle values when
// their count is even); xs must not be empty. It sorts a copy.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
