package tweets

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pacerhq/pacer/jobs"
)

var _ jobs.Incremental = (*UserList)(nil)

// Advance implements [jobs.Incremental] for user_tweets: it returns params
// with each user's since_ids entry raised to the newest tweet the previous
// run stored for that user (marks, one per page task, whose payload names
// the user), and never behind that user's entry in prev (the previous
// run's params) or in params, so that the next run of a schedule fetches
// only tweets posted since, user by user. Users the previous run stored
// nothing for keep their entries. A mark that is not a tweet id, or a task
// payload that names no user, moves nothing. user_followers has no such
// bound: its params are returned as they are.
func (l *UserList) Advance(params, prev json.RawMessage, marks []jobs.Mark) (json.RawMessage, error) {
	if !l.spec.tweets {
		return params, nil
	}
	p, err := parseListParams(l.spec, params)
	if err != nil {
		return nil, err
	}
	since := map[string]uint64{}
	raise := func(user, id string) {
		if v := idValue(id); v > since[user] {
			since[user] = v
		}
	}
	for u, id := range p.SinceIDs {
		raise(u, id)
	}
	if prev != nil {
		if pp, err := parseListParams(l.spec, prev); err == nil {
			for u, id := range pp.SinceIDs {
				raise(u, id)
			}
		}
	}
	for _, m := range marks {
		var task pagePayload
		if json.Unmarshal(m.Payload, &task) != nil {
			continue
		}
		user, ok, err := ParseIDLine(task.UserID)
		if id, idOK, idErr := ParseIDLine(m.Key); err == nil && ok && idErr == nil && idOK && id == m.Key {
			raise(user, id)
		}
	}
	floor, until := idValue(p.SinceID), idValue(p.UntilID)
	p.SinceIDs = nil
	for u, v := range since {
		if v <= floor || (until != 0 && v+1 >= until) {
			continue // since_id already covers it, or nothing would be left
		}
		if p.SinceIDs == nil {
			p.SinceIDs = make(map[string]string, len(since))
		}
		p.SinceIDs[u] = strconv.FormatUint(v, 10)
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
