package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

// cmdStatus prints one job, or the newest jobs.
func cmdStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var asJSON bool
	var limit int
	f := newFlagSet("status", "status [flags] [JOB_ID]", getenv, stderr)
	cf.register(f)
	f.Bool(&asJSON, "json", false, "print JSON instead of lines")
	f.Int(&limit, "limit", 20, "how many jobs to list without a JOB_ID")
	if err := f.parse(args); err != nil {
		return err
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	switch rest := f.args(); len(rest) {
	case 0:
		if limit < 1 || limit > 500 {
			return fmt.Errorf("-limit: %d is not from 1 to 500", limit)
		}
		list, err := client.jobs(ctx, url.Values{"limit": {strconv.Itoa(limit)}})
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(list)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no jobs")
		}
		for _, v := range list {
			fmt.Fprintln(stdout, statusLine(v))
		}
		return nil
	case 1:
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("JOB_ID: %q is not a job id", rest[0])
		}
		v, err := client.job(ctx, id)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(v)
		}
		fmt.Fprintln(stdout, statusLine(v))
		return nil
	default:
		return fmt.Errorf("status takes at most one JOB_ID, got %d arguments", len(rest))
	}
}
