package tweets

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pacerhq/pacer/jobs"
)

var _ jobs.Incremental = (*UserList)(nil)

// Advance implements [jobs.Incremental] for user_tweets: it returns params
// with since_id raised to the highest of params' own since_id, prev's (the
// previous run's params) and mark (the highest tweet id the previous run
// collected), so that the next run of a schedule fetches only tweets posted
// since. A mark that is not a tweet id, or that would leave no id below
// until_id, moves nothing. user_followers has no such bound: its params are
// returned as they are.
func (l *UserList) Advance(params, prev json.RawMessage, mark string) (json.RawMessage, error) {
	if !l.spec.tweets {
		return params, nil
	}
	p, err := parseListParams(l.spec, params)
	if err != nil {
		return nil, err
	}
	since := idValue(p.SinceID)
	if prev != nil {
		if pp, err := parseListParams(l.spec, prev); err == nil {
			since = max(since, idValue(pp.SinceID))
		}
	}
	if m, ok, err := ParseIDLine(mark); err == nil && ok && m == mark {
		since = max(since, idValue(m))
	}
	if until := idValue(p.UntilID); until != 0 && since+1 >= until {
		return params, nil
	}
	if since != 0 {
		p.SinceID = strconv.FormatUint(since, 10)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// idValue is a canonical tweet id's value; 0 for "".
func idValue(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}
