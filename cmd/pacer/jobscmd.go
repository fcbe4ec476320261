package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pacerhq/pacer/web"
)

// cmdJobs lists jobs newest first, a table row each, filtered by state and
// kind as the jobs page is.
func cmdJobs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cf            clientFlags
		state, kind   string
		limit, before int
		asJSON        bool
	)
	f := newFlagSet("jobs", "jobs [flags]", getenv, stderr)
	cf.register(f)
	f.String(&state, "state", "", "only jobs in this state (queued, running, paused, succeeded, failed, cancelled)")
	f.String(&kind, "kind", "", "only jobs of this kind")
	f.Int(&limit, "limit", 20, "how many jobs, 1 to 500")
	f.Int(&before, "before", 0, "only jobs older than this job id (the next page)")
	f.Bool(&asJSON, "json", false, "print the API's JSON, one job a line")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) > 0 {
		return fmt.Errorf("jobs: unexpected argument %q", f.args()[0])
	}
	if limit < 1 || limit > 500 {
		return fmt.Errorf("-limit: %d is not from 1 to 500", limit)
	}
	if before < 0 {
		return fmt.Errorf("-before: %d is not a job id", before)
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if state != "" {
		q.Set("state", state)
	}
	if kind != "" {
		q.Set("kind", kind)
	}
	if before > 0 {
		q.Set("before", strconv.Itoa(before))
	}
	list, err := client.jobs(ctx, q)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, v := range list {
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no jobs")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tPROGRESS\tDONE\tTOTAL\tFAILED\tREQUESTS\tITEMS/S\tETA\tCREATED\t")
	for _, v := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f%%\t%d\t%d\t%d\t%d\t%.1f\t%s\t%s\t\n",
			v.ID, v.Kind, v.State, v.Progress*100, v.ItemsDone, v.ItemsTotal, v.ItemsFailed, v.Requests, v.Rate,
			etaCell(v), v.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == limit {
		fmt.Fprintf(stdout, "more: pacer jobs -before %d\n", list[len(list)-1].ID)
	}
	return nil
}

// etaCell is a job's ETA for a table: "-" when unknown or finished, and
// "quota" when the job waits on a quota.
func etaCell(v web.JobView) string {
	switch {
	case v.State.Finished():
		return "-"
	case v.RateLimitedUntil != nil:
		return "quota " + v.RateLimitedUntil.UTC().Format("15:04:05")
	case v.ETASeconds == nil:
		return "?"
	}
	return (time.Duration(*v.ETASeconds) * time.Second).String()
}
