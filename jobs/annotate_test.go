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

// TestAnnotateCreatesInstancesOnce runs the annotate kind end to end on the
// SQLite rig: 10,000 items × 3 of 7 annotators make 30,000 instances, spread
// evenly; the same job again makes none.
func TestAnnotateCreatesInstancesOnce(t *testing.T) {
	r := newRig(t, rigConfig{})
	r.kinds.Register(annotate.New())
	r.start(t)
	annotators := []string{"ann", "bob", "cy", "dee", "eve", "fay", "gus"}
	params, _ := json.Marshal(map[string]any{"annotators": annotators, "per_item": 3, "scope": "pilot"})
	var items strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&items, "item-%05d\n", i)
	}
	submit := func() store.Job {
		t.Helper()
		j, err := r.service.Submit(t.Context(), jobs.Submission{
			Kind: "annotate", Credential: "main", Params: params, Items: strings.NewReader(items.String()),
		})
		if err != nil {
			t.Fatal(err)
		}
		if j.ItemsTotal != 30_000 || j.TasksTotal != 10 {
			t.Fatalf("submitted %+v: want 30,000 items (rows) in 10 tasks", j)
		}
		return r.waitFinished(t, j.ID)
	}

	first := submit()
	if first.State != store.JobSucceeded || first.ItemsDone != 30_000 || first.Requests != 0 {
		t.Fatalf("first job: %+v; want succeeded, 30,000 rows, no requests", first)
	}
	total, created, err := r.store.CountInstances(t.Context(), "pilot", first.ID)
	if err != nil || total != 30_000 || created != 30_000 {
		t.Fatalf("after the first job: %d instances, %d created by it, %v; want 30,000", total, created, err)
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
	// 30,000 over 7: five annotators get 4,286 and two get 4,285.
	lo, hi := 30_000, 0
	for _, a := range annotators {
		lo, hi = min(lo, perAnnotator[a]), max(hi, perAnnotator[a])
	}
	if len(perAnnotator) != 7 || hi-lo > 1 || lo != 4285 {
		t.Fatalf("instances per annotator %v: want 4,285 or 4,286 each", perAnnotator)
	}
	if len(perItem) != 10_000 {
		t.Fatalf("%d items have instances, want 10,000", len(perItem))
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
	if err != nil || total != 30_000 || created != 0 {
		t.Fatalf("after the second job: %d instances, %d created by it, %v; want 30,000 and 0", total, created, err)
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
