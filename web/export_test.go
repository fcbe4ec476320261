package web_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

func TestExportInstancesCSV(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tasks := []store.NewTask{{Payload: []byte(`{}`), Items: 12_000}}
	j, err := e.store.CreateJob(ctx, store.NewJob{Kind: "annotate", Params: []byte(`{}`), Credential: "demo"}, now, func() (store.NewTask, error) {
		if len(tasks) == 0 {
			return store.NewTask{}, io.EOF
		}
		t := tasks[0]
		tasks = tasks[1:]
		return t, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.store.DispatchDue(ctx, now, time.Hour, 10)
	if err != nil || len(ids) != 1 {
		t.Fatalf("DispatchDue = %v, %v", ids, err)
	}
	if _, _, err := e.store.ClaimTask(ctx, ids[0], "w", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var ins []store.Instance
	for i := range 6000 {
		for _, a := range []string{"ann", "bob"} {
			ins = append(ins, store.Instance{Scope: "pilot", Key: fmt.Sprintf("item,%05d", i), Annotator: a})
		}
	}
	if _, err := e.store.CompleteTask(ctx, store.Completion{TaskID: ids[0], Owner: "w", Now: now, Finish: jobs.Finish, Instances: ins}); err != nil {
		t.Fatal(err)
	}

	resp, body := e.do(t, "GET", fmt.Sprintf("/jobs/%d/instances.csv", j.ID), "", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 12_001 {
		t.Fatalf("export has %d records, want a header and 12,000 rows", len(recs))
	}
	want := [][]string{
		{"scope", "item_key", "annotator", "created_at"},
		{"pilot", "item,00000", "ann", "2030-01-02T03:04:05Z"},
		{"pilot", "item,00000", "bob", "2030-01-02T03:04:05Z"},
	}
	for i, w := range want {
		if strings.Join(recs[i], "|") != strings.Join(w, "|") {
			t.Fatalf("record %d = %q, want %q", i, recs[i], w)
		}
	}
	if last := recs[len(recs)-1]; last[1] != "item,05999" || last[2] != "bob" {
		t.Fatalf("last record = %q", last)
	}

	if resp, _ := e.do(t, "GET", "/jobs/999/instances.csv", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("export of an unknown job: %s", resp.Status)
	}
}
