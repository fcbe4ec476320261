// Package jobs owns the lifecycle of jobs and tasks: the [Kind] interface and
// its [Registry], the [Service] that validates a submission and plans it into
// tasks, the [Dispatcher] that hands due tasks to the broker (and republishes
// those a lost message left behind), and the [Worker] loop that claims a
// delivered task, runs it under its quota and commits its outcome. The
// [Scheduler] keeps schedules (a job template and when to run it) and
// submits each due run once, however many processes run one.
//
// jobs imports ratelimit, store and broker, never a concrete kind, driver or
// web: cmd/pacer registers the kinds and wires the drivers.
//
// The rules it keeps (DESIGN.md): the store is the truth and the broker only
// carries task ids; a task's results, its done mark and its job's counters
// commit in one transaction, and a redelivered task that is done is
// acknowledged without calling the upstream again; no delivery waits on a
// quota: a task whose quota is spent is put back in the store for the reset
// and its delivery acknowledged.
package jobs
