// Command pacer runs long, rate-limited API collection jobs.
//
//	pacer run        everything in one process: SQLite, an in-process queue, workers, the page and a sandbox
//	pacer serve      the page, the API and the dispatcher, on PostgreSQL and RabbitMQ
//	pacer work       a worker, on PostgreSQL and RabbitMQ (run any number, anywhere)
//	pacer submit     submit a job to a running pacer, optionally waiting with a progress bar
//	pacer status     show one job, or the newest jobs
//	pacer jobs       list jobs, filtered by state and kind
//	pacer export     write a job's results as CSV or JSON Lines
//	pacer cancel     cancel a job (also pause, resume, rerun)
//	pacer migrate    apply the store's migrations
//	pacer sandbox    serve the stand-in X API v2 upstream
//	pacer bench      measure throughput and quota use
//	pacer version    print the version, revision and Go version
//
// main only wires the process to run, which tests drive whole.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pacer:", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		os.Exit(1)
	}
}

// exitError is an error whose only content is an exit status (a job the
// user waited for failed, say).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `pacer runs long, rate-limited API collection jobs.

usage: pacer <command> [flags]

commands:
  run       everything in one process: SQLite, in-process queue, workers, page on 127.0.0.1:8080, sandbox
  serve     the page, the JSON API and the dispatcher (PostgreSQL + RabbitMQ)
  work      a worker (PostgreSQL + RabbitMQ); run any number of them
  submit    submit a job; --wait draws a progress bar until it ends
  status    show a job, or the newest jobs
  jobs      list jobs: -state, -kind, -limit, -before
  export    write a job's results to stdout: -format csv or jsonl
  cancel    cancel a job; also "pause", "resume", and "rerun" (a new job of the failed items)
  schedules list the schedules; "schedule create|pause|resume|delete" changes one
  migrate   apply the store's migrations
  sandbox   serve the stand-in X API v2 upstream; "sandbox ids N" prints N demo ids
  bench     measure: "bench throughput" (tasks/s and raw limits), "bench quota" (quota held and used),
            "bench rows" (bulk inserts), "bench page" (the results page at a million rows)
  version   print pacer's version, VCS revision and Go version

Every flag has an environment twin: -database-url is PACER_DATABASE_URL.
"pacer <command> -h" lists a command's flags.
`

// run is the whole program: it parses args and runs a subcommand until ctx
// ends (SIGINT or SIGTERM).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, getenv, stderr)
	case "serve":
		return cmdServe(ctx, rest, getenv, stderr)
	case "work":
		return cmdWork(ctx, rest, getenv, stderr)
	case "submit":
		return cmdSubmit(ctx, rest, getenv, stdin, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, getenv, stdout, stderr)
	case "jobs":
		return cmdJobs(ctx, rest, getenv, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, getenv, stdout, stderr)
	case "cancel", "pause", "resume", "rerun":
		return cmdControl(ctx, cmd, rest, getenv, stdout, stderr)
	case "schedules":
		return cmdSchedules(ctx, rest, getenv, stdout, stderr)
	case "schedule":
		return cmdSchedule(ctx, rest, getenv, stdin, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "sandbox":
		return cmdSandbox(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	case "version":
		return cmdVersion(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
