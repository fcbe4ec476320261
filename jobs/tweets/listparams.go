package tweets

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
)

// ListParams are the params of the paginated kinds, user_tweets and
// user_followers. The zero value asks for every item in pages of the
// largest size, with X's default fields. Once [UserList.Prepare] has
// normalized them, MaxResults is set and times are RFC 3339 in UTC.
type ListParams struct {
	// MaxResults is the page size asked of X: 5 to 100 for user_tweets, 1
	// to 1000 for user_followers. Zero means the largest.
	MaxResults int `json:"max_results,omitempty"`
	// MaxItems stops a user's list after this many rows. Zero means all.
	MaxItems int `json:"max_items,omitempty"`

	Expansions  []string `json:"expansions,omitempty"`
	TweetFields []string `json:"tweet_fields,omitempty"`
	UserFields  []string `json:"user_fields,omitempty"`

	// StartTime and EndTime (user_tweets only) keep tweets created at or
	// after StartTime and before EndTime, as X's start_time and end_time.
	StartTime string `json:"start_time,omitempty"`
	EndTime   string `json:"end_time,omitempty"`
	// SinceID and UntilID (user_tweets only) keep tweets with ids above
	// SinceID and below UntilID, as X's since_id and until_id.
	SinceID string `json:"since_id,omitempty"`
	UntilID string `json:"until_id,omitempty"`
	// SinceIDs (user_tweets only) raises SinceID for single users: user id
	// to tweet id. A recurring schedule carries each user's newest tweet
	// here from run to run ([UserList.Advance]).
	SinceIDs map[string]string `json:"since_ids,omitempty"`
}

// maxSinceIDs caps the users of since_ids.
const maxSinceIDs = 100_000

// listSpec is what tells the two paginated kinds apart.
type listSpec struct {
	name       string
	path       string // appended to /2/users/<id>
	minResults int
	maxResults int
	expansions string // the expansions X accepts
	tweets     bool   // the time and id filters apply
}

// knownListParams names the params a paginated kind accepts, for errors.
func (s *listSpec) knownParams() string {
	if s.tweets {
		return "end_time, expansions, max_items, max_results, since_id, since_ids, start_time, tweet_fields, until_id, user_fields"
	}
	return "expansions, max_items, max_results, tweet_fields, user_fields"
}

// parseListParams validates raw params of a paginated kind and returns them
// normalized. Errors are *jobs.ValidationError naming "params" or
// "params.<name>".
func parseListParams(spec *listSpec, raw json.RawMessage) (ListParams, error) {
	var p ListParams
	raw = bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case !json.Valid(raw):
		return p, jobs.Invalid("params", "not valid JSON")
	case raw[0] != '{' || json.Unmarshal(raw, &fields) != nil:
		return p, jobs.Invalid("params", "must be a JSON object, such as {\"max_results\": 100}")
	}
	var err error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		field := "params." + clip(name, 40)
		switch name {
		case "max_results":
			p.MaxResults, err = parseInt(name, v, spec.minResults, spec.maxResults)
		case "max_items":
			p.MaxItems, err = parseInt(name, v, 0, 1<<31-1)
		case "expansions":
			p.Expansions, err = parseList(name, v, "expansion", spec.expansions)
		case "tweet_fields":
			p.TweetFields, err = parseList(name, v, "tweet field", tweetFieldValues)
		case "user_fields":
			p.UserFields, err = parseList(name, v, "user field", userFieldValues)
		case "start_time", "end_time", "since_id", "until_id", "since_ids":
			if !spec.tweets {
				return p, jobs.Invalid(field, "not a param of %s; known params are %s", spec.name, spec.knownParams())
			}
			switch name {
			case "start_time":
				p.StartTime, err = parseTime(name, v)
			case "end_time":
				p.EndTime, err = parseTime(name, v)
			case "since_id":
				p.SinceID, err = parseIDParam(name, v)
			case "until_id":
				p.UntilID, err = parseIDParam(name, v)
			case "since_ids":
				p.SinceIDs, err = parseSinceIDs(v)
			}
		default:
			hint := strings.ReplaceAll(name, ".", "_")
			if hint != name && strings.Contains(", "+spec.knownParams()+",", " "+hint+",") {
				return p, jobs.Invalid(field, "unknown param; did you mean %s?", hint)
			}
			return p, jobs.Invalid(field, "unknown param; known params are %s", spec.knownParams())
		}
		if err != nil {
			return p, err
		}
	}
	if p.MaxResults == 0 {
		p.MaxResults = spec.maxResults
	}
	if p.StartTime != "" && p.EndTime != "" {
		s, _ := time.Parse(time.RFC3339, p.StartTime)
		e, _ := time.Parse(time.RFC3339, p.EndTime)
		if !s.Before(e) {
			return p, jobs.Invalid("params.end_time", "%s is not after start_time %s", p.EndTime, p.StartTime)
		}
	}
	if p.SinceID != "" && p.UntilID != "" {
		s, _ := strconv.ParseUint(p.SinceID, 10, 64)
		u, _ := strconv.ParseUint(p.UntilID, 10, 64)
		if s+1 >= u {
			return p, jobs.Invalid("params.until_id", "%s leaves no id between since_id %s and it", p.UntilID, p.SinceID)
		}
	}
	return p, nil
}

// parseInt reads an integer param, a JSON number or a string of digits (as
// a form sends it), from lo to hi; null is zero.
func parseInt(name string, raw json.RawMessage, lo, hi int) (int, error) {
	field := "params." + name
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		return 0, jobs.Invalid(field, "must be a whole number from %d to %d", lo, hi)
	}
	if n < lo || n > hi {
		return 0, jobs.Invalid(field, "%d is not from %d to %d", n, lo, hi)
	}
	return n, nil
}

// parseTime reads an RFC 3339 time param and returns it in UTC to the
// second, the form X takes (YYYY-MM-DDTHH:mm:ssZ); null or "" is none.
func parseTime(name string, raw json.RawMessage) (string, error) {
	field := "params." + name
	var s string
	if string(bytes.TrimSpace(raw)) == "null" {
		return "", nil
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", jobs.Invalid(field, "must be an RFC 3339 time string, such as 2024-05-01T00:00:00Z")
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "", jobs.Invalid(field, "%q is not an RFC 3339 time, such as 2024-05-01T00:00:00Z", clip(s, 40))
	}
	if t.Nanosecond() != 0 {
		return "", jobs.Invalid(field, "%q has fractions of a second; X takes whole seconds", clip(s, 40))
	}
	if t.Year() < 2006 || t.Year() > 9999 {
		return "", jobs.Invalid(field, "%q is before X existed or too far ahead", clip(s, 40))
	}
	return t.UTC().Format(time.RFC3339), nil
}

// parseIDParam reads a tweet id param: a string or number of 1 to 19
// digits, not zero; null or "" is none. It returns the canonical id.
func parseIDParam(name string, raw json.RawMessage) (string, error) {
	field := "params." + name
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw) // a number
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", nil
	}
	if strings.Contains(s, "#") {
		return "", jobs.Invalid(field, "%q is not a tweet id (digits only)", clip(s, 40))
	}
	id, ok, err := ParseIDLine(s)
	if err != nil {
		return "", jobs.Invalid(field, "%v", err)
	}
	if !ok {
		return "", nil
	}
	return id, nil
}

// parseSinceIDs reads since_ids: a JSON object of user id to tweet id, both
// canonical ids (as strings or numbers), at most maxSinceIDs of them; null
// or {} is none.
func parseSinceIDs(raw json.RawMessage) (map[string]string, error) {
	const field = "params.since_ids"
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, jobs.Invalid(field, "must be an object of user id to tweet id, such as {\"2244994945\": \"1460323737035677698\"}")
	}
	if len(m) > maxSinceIDs {
		return nil, jobs.Invalid(field, "%d users, more than %d", len(m), maxSinceIDs)
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for user, v := range m {
		u, ok, err := ParseIDLine(user)
		if err != nil || !ok || strings.Contains(user, "#") {
			return nil, jobs.Invalid(field, "%q is not a user id (digits only)", clip(user, 40))
		}
		id, err := parseIDParam("since_ids", v)
		if err != nil {
			var ve *jobs.ValidationError
			if errors.As(err, &ve) {
				return nil, jobs.Invalid(field, "user %s: %s", u, ve.Reason)
			}
			return nil, err
		}
		if id != "" {
			out[u] = id
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
