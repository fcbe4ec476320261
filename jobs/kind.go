package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
)

// Kind is one kind of job: a stable name, its params, how it plans tasks and
// how it carries one out. A kind knows its upstream and its params and nothing
// of the store, the broker or the web (STYLE.md): it returns rows and the
// worker loop commits them with the task.
//
// Implementations must be safe for concurrent use: one Kind value serves every
// task of every job of that kind.
type Kind interface {
	// Name is the kind's stable snake_case name (tweet_lookup), stored in
	// rows. Renaming a kind takes a migration.
	Name() string
	// Prepare validates the job's params as submitted (JSON, possibly empty)
	// and returns them normalized. A bad param is a *ValidationError naming
	// the field, as "params.<name>".
	Prepare(params json.RawMessage) (json.RawMessage, error)
	// Plan reads the job's items (one per line, streamed: never hold them
	// all) and emits its initial tasks in order. items is nil when none were
	// given. A bad item is a *ValidationError with Field "ids" whose reason
	// names the line; emit's errors are returned as they are.
	Plan(ctx context.Context, params json.RawMessage, items io.Reader, emit func(TaskSpec) error) error
	// Do carries out one attempt of one task. It makes its upstream requests
	// with a.HTTP, which authenticates them and holds the quota; a request
	// that must wait for the quota fails with a *ratelimit.ThrottledError,
	// which Do returns (wrapped is fine). Errors steer the worker: Permanent
	// for a task that can never succeed, anything else is retried with
	// backoff.
	Do(ctx context.Context, a Attempt) (Outcome, error)
}

// TaskSpec is one task a kind plans or discovers.
type TaskSpec struct {
	Payload json.RawMessage // the kind's own description of the task
	Items   int             // items the task covers; 0 when unknown (a page)
}

// Attempt is what a kind's Do gets for one attempt of one task.
type Attempt struct {
	JobID   int64
	TaskID  int64
	Number  int // 1 for the first attempt
	Params  json.RawMessage
	Payload json.RawMessage
	// HTTP sends the kind's upstream requests: it adds the job's credential
	// and waits for or refuses on the quota. Never nil.
	HTTP *http.Client
}

// Result statuses a kind may report in a Row.
const (
	StatusOK       = "ok"
	StatusNotFound = "not_found"
)

// Row is one result: an item and what the upstream said of it.
type Row struct {
	Key    string          // the item's key, unique within a job (a tweet id)
	Status string          // StatusOK or StatusNotFound
	Data   json.RawMessage // the item as the upstream returned it; nil for none
	Reason string          // the upstream's reason for StatusNotFound
}

// Instance is one annotation instance a kind creates: item Key to be
// annotated by Annotator, within Scope (a project). An instance already
// present, from any job, is skipped, so re-running a job creates nothing
// twice.
type Instance struct {
	Scope     string
	Key       string
	Annotator string
}

// Outcome is what one successful attempt produced.
type Outcome struct {
	Rows []Row
	Next []TaskSpec // follow-up tasks, committed with the rows
	// Instances are annotation instances to create, committed with the
	// rows. They change no counter: a kind that creates them plans each
	// task's Items as the instances it covers, so progress counts rows.
	Instances []Instance
}

// ValidationError is bad input, found before anything is enqueued. Field
// names the input ("kind", "credential", "ids", "params.tweet_fields"), Reason
// says what is wrong in words a user can act on.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Invalid returns a *ValidationError for field.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Registry maps kind names to kinds. The zero value is an empty registry ready
// to use; it is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// Register adds k. It panics if a kind of that name is already registered or
// the name is empty: both are programmer errors at start-up.
func (r *Registry) Register(k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := k.Name()
	if name == "" {
		panic("jobs: Register of a kind with an empty name")
	}
	if _, dup := r.kinds[name]; dup {
		panic("jobs: kind " + name + " registered twice")
	}
	if r.kinds == nil {
		r.kinds = make(map[string]Kind)
	}
	r.kinds[name] = k
}

// Lookup returns the kind called name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Rerunner is a Kind whose tasks can be turned back into the items they
// covered, so that a job's failed work can run again as a new job
// (Service.Rerun). Items returns the items of one task's payload, one per
// element, as Plan reads them.
type Rerunner interface {
	Items(payload json.RawMessage) ([]string, error)
}

// ResultSourcer is a Kind whose items may be another job's results: when
// SourceJob reports a job id for the params, Service.Submit streams the keys
// of that finished job's ok results as the items, in key order.
type ResultSourcer interface {
	SourceJob(params json.RawMessage) (int64, bool)
}
