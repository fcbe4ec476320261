package tweets

import (
	"encoding/json"
	"fmt"
)

// Items returns the tweet ids a tweet_lookup task covered, so that the
// failed work of a job can run again (jobs.Rerunner).
func (l *Lookup) Items(payload json.RawMessage) ([]string, error) {
	var p taskPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode tweet lookup task: %w", err)
	}
	return p.IDs, nil
}

// Items returns the user a user_tweets or user_followers page task was
// walking, so that a re-run covers the users whose lists failed
// (jobs.Rerunner). A re-run walks such a user's list again from the first
// page: the pages the old job stored are in the old job.
func (l *UserList) Items(payload json.RawMessage) ([]string, error) {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode %s task: %w", l.Name(), err)
	}
	if p.UserID == "" {
		return nil, fmt.Errorf("decode %s task: no user_id", l.Name())
	}
	return []string{p.UserID}, nil
}
