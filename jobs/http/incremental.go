package httpkind

import (
	"encoding/json"
	"fmt"

	"github.com/pacerhq/pacer/jobs"
)

var _ jobs.Incremental = (*Get)(nil)

// Advance implements [jobs.Incremental] for a start_url walk: the next run
// of a schedule starts at the last page the previous run stored (the page
// of the highest number among marks, whose key is its URL, cursor and
// all), so a feed that grows at its end is read on from where the last run
// stopped, that page again included, instead of from its first page. A
// previous run that stored no page starts where that run started. A
// url_template job, which has no pages, is returned as it is; so is one
// whose carried URL has left the allowlist.
func (g *Get) Advance(params, prev json.RawMessage, marks []jobs.Mark) (json.RawMessage, error) {
	p, err := parseParams(params, g.al)
	if err != nil {
		return nil, err
	}
	if !p.paged() {
		return params, nil
	}
	start, last := "", 0
	for _, m := range marks {
		var task pagePayload
		if json.Unmarshal(m.Payload, &task) != nil || task.Page <= last || task.URL != m.Key {
			continue
		}
		start, last = task.URL, task.Page
	}
	if start == "" && prev != nil {
		if pp, err := parseParams(prev, g.al); err == nil && pp.paged() {
			start = pp.StartURL
		}
	}
	if start == "" {
		return params, nil
	}
	if _, err := checkURL(start, g.al); err != nil {
		return params, nil
	}
	p.StartURL = start
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}
