package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pacerhq/pacer/web"
)

// cmdControl is `pacer cancel|pause|resume|rerun JOB_ID`: one POST to the
// job's action in the JSON API. cancel, pause and resume print the job as it
// now is; rerun prints the new job, which covers the failed and missing items
// of the old one, and with -wait follows it as submit -wait does.
func cmdControl(ctx context.Context, action string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cf       clientFlags
		wait     bool
		interval time.Duration
	)
	f := newFlagSet(action, action+" [flags] JOB_ID", getenv, stderr)
	cf.register(f)
	if action == "rerun" {
		f.Bool(&wait, "wait", false, "follow the new job with a progress bar until it ends; exit 1 if it fails")
		f.Duration(&interval, "interval", time.Second, "how often -wait polls")
	}
	if err := f.parse(args); err != nil {
		return err
	}
	id, err := jobIDArg(f.args())
	if err != nil {
		return err
	}
	if wait && interval <= 0 {
		return fmt.Errorf("-interval: %s is not positive", interval)
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	var v web.JobView
	if err := client.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", id, action), &v); err != nil {
		return fmt.Errorf("%s job %d: %w", action, id, err)
	}
	if action != "rerun" {
		fmt.Fprintln(stdout, statusLine(v))
		return nil
	}
	fmt.Fprintf(stdout, "job %d submitted (re-run of job %d): %d items in %d tasks\n", v.ID, id, v.ItemsTotal, v.TasksTotal)
	if !wait {
		return nil
	}
	return follow(ctx, client, v, interval, stdout, stderr)
}

// jobIDArg reads the one JOB_ID argument of a command.
func jobIDArg(args []string) (int64, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("JOB_ID: want one job id, got %d arguments", len(args))
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("JOB_ID: %q is not a job id", args[0])
	}
	return id, nil
}
