package annotate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pacerhq/pacer/jobs"
)

// Name is the kind's stable name.
const Name = "annotate"

// BatchSize is how many items one task covers.
const BatchSize = 1000

// MaxItemLength is the longest item, in bytes, once spaces around it are
// trimmed.
const MaxItemLength = 256

// Kind is the annotate kind. The zero value is ready to use and it is safe
// for concurrent use.
type Kind struct{}

var _ jobs.Kind = Kind{}

// New returns the annotate kind.
func New() Kind { return Kind{} }

// Name returns "annotate".
func (Kind) Name() string { return Name }

// Prepare validates params (see [Params]) and returns them normalized: the
// annotators as a list and the scope set. A bad param is a
// *jobs.ValidationError naming it ("params.annotators", "params.per_item",
// "params.scope").
func (Kind) Prepare(params json.RawMessage) (json.RawMessage, error) {
	p, err := parseParams(params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// payload is one task: its items and the job-wide index of the first, so
// that every attempt assigns them the same way.
type payload struct {
	First int64    `json:"first"`
	Items []string `json:"items"`
}

// Plan reads the items, one per line, and emits a task per BatchSize of
// them; a task's Items counts the instances it creates (items × per_item),
// so the job's progress counts rows. A blank line, or one whose first
// non-space character is '#', holds no item. An item repeated in the list is
// not detected (that would hold every item in memory): it takes a second
// place in the round robin, and the store skips any (item, annotator) pair
// already present.
func (Kind) Plan(ctx context.Context, params json.RawMessage, items io.Reader, emit func(jobs.TaskSpec) error) error {
	p, err := parseParams(params)
	if err != nil {
		return err
	}
	if items == nil {
		return jobs.Invalid("ids", "no items: upload the items to annotate, one per line")
	}
	var (
		batch []string
		next  int64
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, err := json.Marshal(payload{First: next, Items: batch})
		if err != nil {
			return err
		}
		next += int64(len(batch))
		n := len(batch) * p.PerItem
		batch = batch[:0]
		return emit(jobs.TaskSpec{Payload: body, Items: n})
	}
	// Lines may run past MaxItemLength by surrounding spaces, which
	// parseItem trims, before they are refused as too long.
	err = jobs.ReadItems(ctx, items, 4*MaxItemLength, parseItem, func(item string) error {
		batch = append(batch, item)
		if len(batch) == BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// parseItem reads one line: an item of 1 to MaxItemLength bytes, as
// [jobs.TextItems] reads it; ok is false for a blank or '#' line.
var parseItem = jobs.TextItems(MaxItemLength)

// Do returns the instances of one task's items. It makes no request and
// a.HTTP goes unused. A payload or params it cannot read fails for good.
func (Kind) Do(ctx context.Context, a jobs.Attempt) (jobs.Outcome, error) {
	p, err := parseParams(a.Params)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("read params: %w", err))
	}
	var pl payload
	if err := json.Unmarshal(a.Payload, &pl); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("read payload: %w", err))
	}
	if pl.First < 0 {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("read payload: first item %d is negative", pl.First))
	}
	out := make([]jobs.Instance, 0, len(pl.Items)*p.PerItem)
	idx := make([]int, 0, p.PerItem)
	for j, item := range pl.Items {
		idx = Assign(idx[:0], pl.First+int64(j), len(p.Annotators), p.PerItem)
		for _, k := range idx {
			out = append(out, jobs.Instance{Scope: p.Scope, Key: item, Annotator: p.Annotators[k]})
		}
	}
	return jobs.Outcome{Instances: out}, nil
}

// Items returns the items of a task's payload, so that a job's failed tasks
// can run again (jobs.Rerunner). A rerun numbers its items from 0, so its
// instances take the round robin afresh.
func (Kind) Items(raw json.RawMessage) ([]string, error) {
	var pl payload
	if err := json.Unmarshal(raw, &pl); err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	return pl.Items, nil
}

// SourceJob names the job whose ok results are this job's items, when the
// params say so (jobs.ResultSourcer).
func (Kind) SourceJob(params json.RawMessage) (int64, bool) {
	var p Params
	if err := json.Unmarshal(params, &p); err != nil || p.SourceJob == 0 {
		return 0, false
	}
	return p.SourceJob, true
}
