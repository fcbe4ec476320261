package sandbox

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The values X API v2 documents for tweet lookup's query parameters, as the
// comma-separated lists X quotes back in its 400 messages. They are constants
// rather than maps so that the package keeps no mutable state.
const (
	lookupParams = "ids,expansions,tweet.fields,media.fields,poll.fields,place.fields,user.fields"

	tweetFields = "article,attachments,author_id,card_uri,community_id,context_annotations," +
		"conversation_id,created_at,display_text_range,edit_controls,edit_history_tweet_ids," +
		"entities,geo,id,in_reply_to_user_id,lang,media_metadata,non_public_metrics,note_tweet," +
		"organic_metrics,possibly_sensitive,promoted_metrics,public_metrics,referenced_tweets," +
		"reply_settings,scopes,source,text,withheld"

	expansionValues = "article.cover_media,article.media_entities,attachments.media_keys," +
		"attachments.media_source_tweet,attachments.poll_ids,author_id,edit_history_tweet_ids," +
		"entities.mentions.username,geo.place_id,in_reply_to_user_id," +
		"entities.note.mentions.username,referenced_tweets.id," +
		"referenced_tweets.id.attachments.media_keys,referenced_tweets.id.author_id"

	userFields = "affiliation,connection_status,created_at,description,entities,id," +
		"is_identity_verified,location,most_recent_tweet_id,name,parody,pinned_tweet_id," +
		"profile_banner_url,profile_image_url,protected,public_metrics,receives_your_dm," +
		"subscription,subscription_type,url,username,verified,verified_followers_count," +
		"verified_type,withheld"
)

// inList reports whether v is one of the comma-separated values of list.
func inList(list, v string) bool {
	return v != "" && !strings.Contains(v, ",") && strings.Contains(","+list+",", ","+v+",")
}

// paramError is one entry of X's "Invalid Request" problem: the parameter,
// the values it objects to and X's message.
type paramError struct {
	Parameters map[string][]string `json:"parameters"`
	Message    string              `json:"message"`
}

func (e *paramError) Error() string { return e.Message }

func newParamError(param string, values []string, format string, args ...any) *paramError {
	if values == nil {
		values = []string{}
	}
	return &paramError{Parameters: map[string][]string{param: values}, Message: fmt.Sprintf(format, args...)}
}

// parseIDs parses tweet lookup's ids parameter as X does: 1 to [MaxIDs]
// comma-separated ids, no spaces, each 1 to 19 ASCII digits. It returns the
// ids in order, as given (duplicates included), or a *paramError in X's words.
func parseIDs(s string) ([]uint64, error) {
	if s == "" {
		return nil, newParamError("ids", nil, "The `ids` query parameter can not be empty")
	}
	n := strings.Count(s, ",") + 1
	if n > MaxIDs {
		return nil, newParamError("ids", []string{s},
			"The number of values in the `ids` query parameter list [%d] is not between 1 and %d", n, MaxIDs)
	}
	ids := make([]uint64, 0, n)
	for v := range strings.SplitSeq(s, ",") {
		if !isTweetID(v) {
			return nil, newParamError("ids", []string{v},
				"The `ids` query parameter value [%s] does not match ^[0-9]{1,19}$", v)
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil { // unreachable: 19 digits always fit in a uint64
			return nil, newParamError("ids", []string{v},
				"The `ids` query parameter value [%s] does not match ^[0-9]{1,19}$", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// isTweetID reports whether v matches ^[0-9]{1,19}$.
func isTweetID(v string) bool {
	if len(v) == 0 || len(v) > 19 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// lookupQuery is a validated tweet lookup request.
type lookupQuery struct {
	ids         []uint64
	tweetFields map[string]bool
	expansions  map[string]bool
	userFields  map[string]bool
}

// parseLookupQuery validates a raw query string as X validates tweet lookup's.
// It returns every problem it finds, as X does, in a stable order.
func parseLookupQuery(raw string) (lookupQuery, []*paramError) {
	var q lookupQuery
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, []*paramError{newParamError("query", []string{raw}, "The query string could not be parsed")}
	}
	var problems []*paramError
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !inList(lookupParams, name) {
			problems = append(problems, newParamError(name, values[name],
				"The query parameter [%s] is not one of [%s]", name, lookupParams))
			continue
		}
		if len(values[name]) > 1 {
			problems = append(problems, newParamError(name, values[name],
				"Duplicate parameters are not allowed: the `%s` query parameter", name))
		}
	}
	if len(problems) > 0 {
		return q, problems
	}
	ids, err := parseIDs(values.Get("ids"))
	if err != nil {
		problems = append(problems, err.(*paramError))
	}
	q.ids = ids
	set := func(param, allowed string) map[string]bool {
		if _, ok := values[param]; !ok {
			return nil
		}
		m := make(map[string]bool)
		for v := range strings.SplitSeq(values.Get(param), ",") {
			if !inList(allowed, v) {
				problems = append(problems, newParamError(param, []string{v},
					"The `%s` query parameter value [%s] is not one of [%s]", param, v, allowed))
				continue
			}
			m[v] = true
		}
		return m
	}
	q.tweetFields = set("tweet.fields", tweetFields)
	q.expansions = set("expansions", expansionValues)
	q.userFields = set("user.fields", userFields)
	return q, problems
}
