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
