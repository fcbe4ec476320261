package jobs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/jobs/annotate"
	"github.com/pacerhq/pacer/store"
)

// TestAnnotateCreatesInstancesOnce runs the annotate kind end to end on a
// PostgreSQL rig (its COPY path; the SQLite one is in storetest): 100,000
// items × 3 of 7 annotators make exactly 300,000 instances, within one per
// annotator; the same job again makes none.
func TestAnnotateCreatesInstancesOnce(t *testing.T) {
	t.Parallel() // 300,000 rows take a while under -race: overlap them
	r := newRig(t, rigConfig{postgres: true})
	r.kinds.Register(annotate.New())
	r.start(t)
	annotators := []string{"ann", "bob", "cy", "dee", "eve", "fay", "gus"}
	params, _ := json.Marshal(map[string]any{"annotators": annotators, "per_item": 3, "scope": "pilot"})
	var items strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&items, "item-%06d\n", i)
	}
	submit := func() store.Job {
		t.Helper()
		j, err := r.service.Submit(t.Context(), jobs.Submission{
			Kind: "annotate", Credential: "main", Params: params, Items: strings.NewReader(items.String()),
		})
		if err != nil {
			t.Fatal(err)
		}
		if j.ItemsTotal != 300_000 || j.TasksTotal != 100 {
			t.Fatalf("submitted %+v: want 300,000 items (rows) in 100 tasks", j)
		}
		return r.waitFinished(t, j.ID)
	}

	first := submit()
	if first.State != store.JobSucceeded || first.ItemsDone != 300_000 || first.Requests != 0 {
		t.Fatalf("first job: %+v; want succeeded, 300,000 rows, no requests", first)
	}
	total, created, err := r.store.CountInstances(t.Context(), "pilot", first.ID)
	if err != nil || total != 300_000 || created != 300_000 {
		t.Fatalf("after the first job: %d instances, %d created by it, %v; want 300,000", total, created, err)
	}
	perAnnotator := map[string]int{}
	perItem := map[string]int{}
	afterKey, afterAnn := "", ""
	for {
		page, err := r.store.ListInstances(t.Context(), first.ID, afterKey, afterAnn, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, in := range page {
			perAnnotator[in.Annotator]++
			perItem[in.Key]++
		}
		afterKey, afterAnn = page[len(page)-1].Key, page[len(page)-1].Annotator
	}
	// 300,000 over 7: six annotators get 42,857 and one 42,858, or so: within one.
	lo, hi := 300_000, 0
	for _, a := range annotators {
		lo, hi = min(lo, perAnnotator[a]), max(hi, perAnnotator[a])
	}
	if len(perAnnotator) != 7 || hi-lo > 1 || lo != 42857 {
		t.Fatalf("instances per annotator %v: want 42,857 or 42,858 each", perAnnotator)
	}
	if len(perItem) != 100_000 {
		t.Fatalf("%d items have instances, want 100,000", len(perItem))
	}
	for k, n := range perItem {
		if n != 3 {
			t.Fatalf("item %s has %d instances, want 3", k, n)
		}
	}

	second := submit()
	if second.State != store.JobSucceeded {
		t.Fatalf("second job: %+v", second)
	}
	total, created, err = r.store.CountInstances(t.Context(), "pilot", second.ID)
	if err != nil || total != 300_000 || created != 0 {
		t.Fatalf("after the second job: %d instances, %d created by it, %v; want 300,000 and 0", total, created, err)
	}
}

// TestAnnotateRefusesBadParams checks that a bad annotator list stops at the
// door: the error names the field and no job is created.
func TestAnnotateRefusesBadParams(t *testing.T) {
	r := newRig(t, rigConfig{})
	r.kinds.Register(annotate.New())
	_, err := r.service.Submit(t.Context(), jobs.Submission{
		Kind: "annotate", Credential: "main",
		Params: json.RawMessage(`{"annotators":["ann","ann"],"per_item":1}`),
		Items:  strings.NewReader("a\nb\n"),
	})
	var ve *jobs.ValidationError
	if !errors.As(err, &ve) || ve.Field != "params.annotators" {
		t.Fatalf("Submit = %v, want a params.annotators error", err)
	}
	if js, err := r.store.ListJobs(t.Context(), store.JobFilter{}); err != nil || len(js) != 0 {
		t.Fatalf("jobs after a refused submission: %d, %v; want none", len(js), err)
	}
}

// Annotation instances for every collected tweet: the items are a finished
// job's ok results.
func TestAnnotateFromSourceJob(t *testing.T) {
	r := newRig(t, rigConfig{})
	r.kinds.Register(annotate.New())
	ctx := t.Context()
	var ve *jobs.ValidationError
	// Before the workers start, a source job that has not finished is
	// refused.
	queued := r.submit(t, 10)
	notYet := fmt.Sprintf(`{"annotators":["ann"],"per_item":1,"source_job":%d}`, queued.ID)
	if _, err := r.service.Submit(ctx, jobs.Submission{Kind: "annotate", Credential: "main", Params: json.RawMessage(notYet)}); !errors.As(err, &ve) || ve.Field != "params.source_job" {
		t.Fatalf("annotate from an unfinished job = %v, want a params.source_job error", err)
	}
	r.start(t)
	source := r.waitFinished(t, r.submit(t, 1000).ID)
	counts, err := r.store.CountResults(ctx, source.ID)
	if err != nil {
		t.Fatal(err)
	}
	ok := counts[store.ResultOK]
	if ok == 0 || counts[store.ResultNotFound] == 0 {
		t.Fatalf("source results %v: want ok and not_found ones", counts)
	}
	params := fmt.Appendf(nil, `{"annotators":["ann","bob"],"per_item":2,"scope":"tweets","source_job":%d}`, source.ID)
	j, err := r.service.Submit(ctx, jobs.Submission{Kind: "annotate", Credential: "main", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if j.ItemsTotal != 2*ok {
		t.Fatalf("job %+v: want %d rows, two for each ok result", j, 2*ok)
	}
	j = r.waitFinished(t, j.ID)
	total, created, err := r.store.CountInstances(ctx, "tweets", j.ID)
	if err != nil || total != 2*ok || created != 2*ok {
		t.Fatalf("instances %d (%d by this job), %v: want %d", total, created, err, 2*ok)
	}
	// A job that does not exist is refused by field too.
	for _, p := range []string{`{"annotators":["ann"],"per_item":1,"source_job":999}`} {
		if _, err := r.service.Submit(ctx, jobs.Submission{Kind: "annotate", Credential: "main", Params: json.RawMessage(p)}); !errors.As(err, &ve) || ve.Field != "params.source_job" {
			t.Fatalf("Submit(%s) = %v, want a params.source_job error", p, err)
		}
	}
	if _, err := r.service.Submit(ctx, jobs.Submission{Kind: "annotate", Credential: "main", Params: params, Items: strings.NewReader("x\n")}); !errors.As(err, &ve) || ve.Field != "ids" {
		t.Fatalf("source_job and ids together: %v, want an ids error", err)
	}
}
