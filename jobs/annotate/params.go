package annotate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// Limits on params.
const (
	// MaxAnnotators is the most annotators a job may name.
	MaxAnnotators = 1000
	// MaxNameLength is the longest annotator or scope name, in bytes.
	MaxNameLength = 64
	// DefaultScope is the scope of a job that names none.
	DefaultScope = "default"
)

// Params are the annotate kind's params, as JSON:
//
//	{"annotators": ["ann", "bob", "cy"], "per_item": 2, "scope": "pilot"}
//
// annotators may also be one string of names separated by commas or white
// space, as a form's text field sends it ("ann, bob\ncy").
type Params struct {
	// Annotators are the names, in the order that assignment takes them:
	// 1 to MaxAnnotators names, each 1 to MaxNameLength of [A-Za-z0-9._@-],
	// no two the same.
	Annotators []string `json:"annotators"`
	// PerItem is how many annotators each item gets: 1 to len(Annotators).
	PerItem int `json:"per_item"`
	// Scope is the project the instances belong to; an instance already in
	// the scope is never created again. Default DefaultScope.
	Scope string `json:"scope,omitempty"`
	// SourceJob, when set, takes the items from that finished job's ok
	// results (their keys) instead of an uploaded list.
	SourceJob int64 `json:"source_job,omitempty"`
}

// rawParams is Params as submitted: annotators as a list or as text.
type rawParams struct {
	Annotators json.RawMessage `json:"annotators"`
	PerItem    *int            `json:"per_item"`
	Scope      string          `json:"scope"`
	SourceJob  int64           `json:"source_job"`
}

// parseParams validates raw and returns the params normalized. Errors are
// *jobs.ValidationError naming the field.
func parseParams(raw json.RawMessage) (Params, error) {
	var p Params
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, jobs.Invalid("params.annotators", "missing; name the annotators")
	}
	var r rawParams
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return p, jobs.Invalid("params", "%v (known keys: annotators, per_item, scope, source_job)", err)
	}
	if dec.More() {
		return p, jobs.Invalid("params", "trailing data after the JSON object")
	}
	names, err := annotatorsFromJSON(r.Annotators)
	if err != nil {
		return p, jobs.Invalid("params.annotators", "%v", err)
	}
	p.Annotators = names
	switch {
	case r.PerItem == nil:
		return p, jobs.Invalid("params.per_item", "missing; how many annotators each item needs, 1 to %d", len(names))
	case *r.PerItem < 1 || *r.PerItem > len(names):
		return p, jobs.Invalid("params.per_item", "%d is not between 1 and %d, the number of annotators", *r.PerItem, len(names))
	}
	p.PerItem = *r.PerItem
	p.Scope = r.Scope
	if p.Scope == "" {
		p.Scope = DefaultScope
	}
	if err := checkName(p.Scope); err != nil {
		return p, jobs.Invalid("params.scope", "%v", err)
	}
	if r.SourceJob < 0 {
		return p, jobs.Invalid("params.source_job", "%d is not a job id", r.SourceJob)
	}
	p.SourceJob = r.SourceJob
	return p, nil
}

// annotatorsFromJSON reads annotators as a JSON list of names or a string of
// names.
func annotatorsFromJSON(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("missing; name 1 to 1000 annotators")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("not a string or a list of names: %v", err)
		}
		return ParseAnnotators(s)
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("not a list of names")
	}
	return checkAnnotators(list)
}

// ParseAnnotators reads a list of annotator names separated by commas or
// white space ("ann, bob\ncy"), as a form's text field holds it, and returns
// the names in order. Empty entries are ignored. It returns an error whose
// text says what is wrong, in words a user can act on, when there is no name
// or more than MaxAnnotators, when a name is not 1 to MaxNameLength of
// [A-Za-z0-9._@-], or when a name repeats.
func ParseAnnotators(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
	if len(fields) > MaxAnnotators {
		return nil, fmt.Errorf("%d names; at most %d", len(fields), MaxAnnotators)
	}
	return checkAnnotators(fields)
}

// checkAnnotators checks a list of names: 1 to MaxAnnotators valid names, no
// two the same.
func checkAnnotators(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, errors.New("no names; name 1 to 1000 annotators")
	}
	if len(names) > MaxAnnotators {
		return nil, fmt.Errorf("%d names; at most %d", len(names), MaxAnnotators)
	}
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if err := checkName(n); err != nil {
			return nil, fmt.Errorf("name %d: %v", i+1, err)
		}
		if j, dup := seen[n]; dup {
			return nil, fmt.Errorf("names %d and %d are both %q", j+1, i+1, n)
		}
		seen[n] = i
	}
	return names, nil
}

// checkName checks one annotator or scope name.
func checkName(n string) error {
	if n == "" {
		return errors.New("empty name")
	}
	if len(n) > MaxNameLength {
		return fmt.Errorf("%s… is longer than %d characters", strconv.QuoteToASCII(n[:20]), MaxNameLength)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-' {
			continue
		}
		return fmt.Errorf("%s holds %s; use letters, digits and . _ @ -", strconv.QuoteToASCII(n), strconv.QuoteToASCII(n[i:i+1]))
	}
	return nil
}
