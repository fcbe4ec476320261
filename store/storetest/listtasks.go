package storetest

import (
	"testing"

	"github.com/pacerhq/pacer/store"
)

func (su suite) testListTasks(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	j, ids := create(t, s, "k", t0, numbered(5, 10)...)
	create(t, s, "k", t0, numbered(2, 10)...) // another job's tasks stay out
	// Task 0 done, task 1 failed, task 3 failed; 2 and 4 pending.
	claim(t, s, ids[0], "w", t0)
	complete(t, s, store.Completion{TaskID: ids[0], Owner: "w", Now: t0, Finish: finish})
	for _, i := range []int{1, 3} {
		claim(t, s, ids[i], "w", t0)
		if _, err := s.FailTask(ctx, store.Failure{TaskID: ids[i], Owner: "w", Error: "boom", Now: t0, Finish: finish}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(states []store.TaskState, after int64, limit int) []int64 {
		t.Helper()
		tasks, err := s.ListTasks(ctx, j.ID, states, after, limit)
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		out := make([]int64, len(tasks))
		for i, task := range tasks {
			if task.JobID != j.ID {
				t.Fatalf("ListTasks returned task %d of job %d", task.ID, task.JobID)
			}
			out[i] = task.ID
		}
		return out
	}
	wantIDs(t, "every task", list(nil, 0, 100), ids)
	wantIDs(t, "failed tasks", list([]store.TaskState{store.TaskFailed}, 0, 100), []int64{ids[1], ids[3]})
	wantIDs(t, "failed or pending", list([]store.TaskState{store.TaskFailed, store.TaskPending}, 0, 100), []int64{ids[1], ids[2], ids[3], ids[4]})
	// Keyset paging: two at a time.
	wantIDs(t, "first page", list(nil, 0, 2), ids[:2])
	wantIDs(t, "second page", list(nil, ids[1], 2), ids[2:4])
	wantIDs(t, "last page", list(nil, ids[3], 2), ids[4:])
	wantIDs(t, "limit 0", list(nil, 0, 0), nil)
}
