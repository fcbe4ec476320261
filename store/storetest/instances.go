package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// instances returns items × annotators instances of scope, keys "item-%04d".
func instances(scope string, items int, annotators ...string) []store.Instance {
	var out []store.Instance
	for i := range items {
		for _, a := range annotators {
			out = append(out, store.Instance{Scope: scope, Key: fmt.Sprintf("item-%04d", i), Annotator: a})
		}
	}
	return out
}

func (su suite) testInstances(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	count := func(what, scope string, jobID, wantTotal, wantCreated int64) {
		t.Helper()
		total, created, err := s.CountInstances(ctx, scope, jobID)
		if err != nil {
			t.Fatalf("%s: CountInstances: %v", what, err)
		}
		if total != wantTotal || created != wantCreated {
			t.Fatalf("%s: CountInstances(%q, %d) = %d, %d; want %d, %d", what, scope, jobID, total, created, wantTotal, wantCreated)
		}
	}

	// A batch larger than a driver's statement batch, with a repeated row.
	first := instances("p", 700, "ann", "bob")
	first = append(first, first[3])
	j1, ids := create(t, s, "annotate", t0, store.NewTask{Payload: []byte(`{}`), Items: 1400})
	claim(t, s, ids[0], "w", t0)
	got := complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: t0, Instances: first})
	if got.ItemsDone != 1400 || got.State != store.JobSucceeded {
		t.Fatalf("job after instances: %s; want 1400 items done, succeeded", jobStr(got))
	}
	count("first job", "p", j1.ID, 1400, 1400)

	// A second job over overlapping items creates only the new ones; another
	// scope keeps its own.
	second := instances("p", 800, "ann", "bob", "cy")
	j2, ids := create(t, s, "annotate", t0, store.NewTask{Payload: []byte(`{}`), Items: len(second)})
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: at(time.Second), Instances: second})
	count("second job", "p", j2.ID, 2400, 1000)
	count("first job again", "p", j1.ID, 2400, 1400)
	j3, ids := create(t, s, "annotate", t0, store.NewTask{Payload: []byte(`{}`), Items: 1})
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: t0, Instances: instances("q", 1, "ann")})
	count("other scope", "q", j3.ID, 1, 1)
	count("scope p after q", "p", j3.ID, 2400, 0)
	count("unknown scope", "none", j1.ID, 0, 0)

	// Keyset paging over the instances job 2 created, in (key, annotator) order.
	var all []store.Instance
	afterKey, afterAnn := "", ""
	for {
		page, err := s.ListInstances(ctx, j2.ID, afterKey, afterAnn, 300)
		if err != nil {
			t.Fatalf("ListInstances: %v", err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		last := page[len(page)-1]
		afterKey, afterAnn = last.Key, last.Annotator
	}
	if len(all) != 1000 {
		t.Fatalf("ListInstances paged %d instances of job 2, want 1000", len(all))
	}
	for i, in := range all {
		if in.JobID != j2.ID || !in.CreatedAt.Equal(at(time.Second)) {
			t.Fatalf("instance %d = %+v, want job %d created at %v", i, in, j2.ID, at(time.Second))
		}
		if i > 0 && (in.Key < all[i-1].Key || in.Key == all[i-1].Key && in.Annotator <= all[i-1].Annotator) {
			t.Fatalf("instances %d and %d out of order: %+v, %+v", i-1, i, all[i-1], in)
		}
	}
	// The first 700 items' cy rows and items 700-799 for all three.
	if all[0].Key != "item-0000" || all[0].Annotator != "cy" {
		t.Fatalf("first instance of job 2 = %+v, want item-0000/cy", all[0])
	}
	if page, err := s.ListInstances(ctx, j2.ID, "", "", 0); err != nil || len(page) != 0 {
		t.Fatalf("ListInstances limit 0 = %d instances, %v; want none", len(page), err)
	}
}

func (su suite) testInstancesInvalid(t *testing.T) {
	s := su.newStore(t)
	_, ids := create(t, s, "annotate", t0, store.NewTask{Payload: []byte(`{}`), Items: 1})
	claim(t, s, ids[0], "w", t0)
	for _, in := range []store.Instance{
		{Key: "k", Annotator: "a"},
		{Scope: "p", Annotator: "a"},
		{Scope: "p", Key: "k"},
	} {
		_, err := s.CompleteTask(t.Context(), store.Completion{TaskID: ids[0], Owner: "w", Now: t0, Finish: finish, Instances: []store.Instance{in}})
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Fatalf("CompleteTask with instance %+v: %v; want an argument error", in, err)
		}
	}
	if task := getTask(t, s, ids[0]); task.State != store.TaskPending {
		t.Fatalf("task after refused completions: %s", taskStr(task))
	}
	if total, _, err := s.CountInstances(t.Context(), "p", 0); err != nil || total != 0 {
		t.Fatalf("CountInstances after refused completions = %d, %v; want 0", total, err)
	}
}
