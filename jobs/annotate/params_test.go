package annotate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pacerhq/pacer/jobs"
)

func TestPrepareRefuses(t *testing.T) {
	t.Parallel()
	many := make([]string, MaxAnnotators+1)
	for i := range many {
		many[i] = fmt.Sprintf("a%d", i)
	}
	manyJSON, _ := json.Marshal(many)
	tests := []struct {
		name, params, field, reason string
	}{
		{"empty", ``, "params.annotators", "missing"},
		{"unknown key", `{"annotators":["a"],"per_item":1,"colour":"red"}`, "params", "colour"},
		{"not an object", `[1]`, "params", "cannot unmarshal"},
		{"trailing", `{"annotators":["a"],"per_item":1} {}`, "params", "trailing"},
		{"no annotators", `{"per_item":1}`, "params.annotators", "missing"},
		{"empty list", `{"annotators":[],"per_item":1}`, "params.annotators", "no names"},
		{"empty text", `{"annotators":" , ","per_item":1}`, "params.annotators", "no names"},
		{"not names", `{"annotators":[1,2],"per_item":1}`, "params.annotators", "not a list"},
		{"bad char", `{"annotators":["ann","b b"],"per_item":1}`, "params.annotators", `name 2: "b b" holds " "`},
		{"bad char text", `{"annotators":"ann, b/b","per_item":1}`, "params.annotators", `name 2: "b/b" holds "/"`},
		{"empty name", `{"annotators":["ann",""],"per_item":1}`, "params.annotators", "name 2: empty"},
		{"too long", `{"annotators":["` + strings.Repeat("x", 65) + `"],"per_item":1}`, "params.annotators", "longer than 64"},
		{"duplicate", `{"annotators":["ann","bob","ann"],"per_item":1}`, "params.annotators", `names 1 and 3 are both "ann"`},
		{"too many", `{"annotators":` + string(manyJSON) + `,"per_item":1}`, "params.annotators", "at most 1000"},
		{"no per_item", `{"annotators":["a","b"]}`, "params.per_item", "missing"},
		{"per_item 0", `{"annotators":["a","b"],"per_item":0}`, "params.per_item", "between 1 and 2"},
		{"per_item above", `{"annotators":["a","b"],"per_item":3}`, "params.per_item", "between 1 and 2"},
		{"per_item text", `{"annotators":["a","b"],"per_item":"2"}`, "params", "per_item"},
		{"bad scope", `{"annotators":["a"],"per_item":1,"scope":"my project"}`, "params.scope", `"my project" holds " "`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New().Prepare(json.RawMessage(tc.params))
			var ve *jobs.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("Prepare(%s) = %v, want %s: …%s…", tc.params, err, tc.field, tc.reason)
			}
		})
	}
}

func TestPrepareNormalizes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, params, want string }{
		{"list", `{"annotators":["ann","bob"],"per_item":2}`, `{"annotators":["ann","bob"],"per_item":2,"scope":"default"}`},
		{"text", `{"annotators":"ann, bob\ncy@x.org","per_item":1,"scope":"pilot-1"}`, `{"annotators":["ann","bob","cy@x.org"],"per_item":1,"scope":"pilot-1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := New().Prepare(json.RawMessage(tc.params))
			if err != nil || string(got) != tc.want {
				t.Fatalf("Prepare(%s) = %s, %v; want %s", tc.params, got, err, tc.want)
			}
		})
	}
}

// FuzzAnnotators checks that ParseAnnotators never panics and that what it
// accepts is a valid list: 1 to MaxAnnotators distinct names, each of which
// it reads back as itself.
func FuzzAnnotators(f *testing.F) {
	for _, s := range []string{
		"ann", "ann, bob, cy", "ann\nbob\r\ncy\n", "a.b_c@d-e", " , ,", "", "ann ann",
		"ännä", "a/b", strings.Repeat("x", 65), strings.Repeat("a,", 1001),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseAnnotators(s)
		if err != nil {
			if names != nil {
				t.Fatalf("ParseAnnotators(%q) = %v with error %v", s, names, err)
			}
			return
		}
		if len(names) < 1 || len(names) > MaxAnnotators {
			t.Fatalf("ParseAnnotators(%q) = %d names", s, len(names))
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("ParseAnnotators(%q) repeats %q", s, n)
			}
			seen[n] = true
			if err := checkName(n); err != nil {
				t.Fatalf("ParseAnnotators(%q) accepted %q: %v", s, n, err)
			}
		}
		again, err := ParseAnnotators(strings.Join(names, ","))
		if err != nil || strings.Join(again, ",") != strings.Join(names, ",") {
			t.Fatalf("ParseAnnotators round trip of %v = %v, %v", names, again, err)
		}
	})
}

func TestPlan(t *testing.T) {
	t.Parallel()
	params, err := New().Prepare(json.RawMessage(`{"annotators":["a","b","c"],"per_item":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("\uFEFF# items\n")
	for i := range 2500 {
		fmt.Fprintf(&b, " item-%d \r\n\n", i)
	}
	var specs []jobs.TaskSpec
	if err := New().Plan(t.Context(), params, strings.NewReader(b.String()), func(s jobs.TaskSpec) error {
		specs = append(specs, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantItems := []int{2000, 2000, 1000}
	wantFirst := []int64{0, 1000, 2000}
	if len(specs) != 3 {
		t.Fatalf("Plan emitted %d tasks, want 3", len(specs))
	}
	for i, s := range specs {
		var pl payload
		if err := json.Unmarshal(s.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		if s.Items != wantItems[i] || pl.First != wantFirst[i] || pl.Items[0] != fmt.Sprintf("item-%d", wantFirst[i]) {
			t.Fatalf("task %d: items %d, first %d (%q); want %d, %d", i, s.Items, pl.First, pl.Items[0], wantItems[i], wantFirst[i])
		}
	}
	// Do assigns by the job-wide index: the second task's first item is item 1000.
	out, err := New().Do(t.Context(), jobs.Attempt{Params: params, Payload: specs[1].Payload})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 2000 {
		t.Fatalf("Do made %d instances, want 2000", len(out.Instances))
	}
	// 1000·2 mod 3 = 2: annotators c, a.
	if got := out.Instances[0].Annotator + out.Instances[1].Annotator; got != "ca" || out.Instances[0].Scope != "default" {
		t.Fatalf("item 1000 got %+v %+v, want c and a in scope default", out.Instances[0], out.Instances[1])
	}

	for _, bad := range []struct{ items, reason string }{
		{"a\nb\x01c\n", "line 2: item"},
		{"ok\n" + strings.Repeat("x", MaxItemLength+1) + "\n", "line 2: item is longer"},
		{"\xff\n", "line 1: item is not valid UTF-8"},
	} {
		err := New().Plan(t.Context(), params, strings.NewReader(bad.items), func(jobs.TaskSpec) error { return nil })
		var ve *jobs.ValidationError
		if !errors.As(err, &ve) || ve.Field != "ids" || !strings.Contains(ve.Reason, bad.reason) {
			t.Fatalf("Plan(%q) = %v, want ids: …%s…", bad.items, err, bad.reason)
		}
	}
}
