package tweets

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pacerhq/pacer/jobs"
)

// Params are tweet_lookup's params: which extra data X should return with
// each tweet. Each list holds values of X's query parameter of the same name
// (tweet.fields, expansions, user.fields), sorted and without repeats once
// [Lookup.Prepare] has normalized them. The zero value asks for X's default
// fields only: id, text and edit_history_tweet_ids.
type Params struct {
	Expansions  []string `json:"expansions,omitempty"`
	TweetFields []string `json:"tweet_fields,omitempty"`
	UserFields  []string `json:"user_fields,omitempty"`
}

// The values X API v2 documents for tweet lookup, as comma-separated lists.
// They are constants rather than maps so that the package keeps no mutable
// state; X adds values now and then, and a value it has added but these lists
// lack is refused until it is added here.
const (
	tweetFieldValues = "article,attachments,author_id,card_uri,community_id,context_annotations," +
		"conversation_id,created_at,display_text_range,edit_controls,edit_history_tweet_ids," +
		"entities,geo,id,in_reply_to_user_id,lang,media_metadata,non_public_metrics,note_tweet," +
		"organic_metrics,possibly_sensitive,promoted_metrics,public_metrics,referenced_tweets," +
		"reply_settings,scopes,source,text,withheld"

	expansionValues = "article.cover_media,article.media_entities,attachments.media_keys," +
		"attachments.media_source_tweet,attachments.poll_ids,author_id,edit_history_tweet_ids," +
		"entities.mentions.username,entities.note.mentions.username,geo.place_id," +
		"in_reply_to_user_id,referenced_tweets.id,referenced_tweets.id.attachments.media_keys," +
		"referenced_tweets.id.author_id"

	userFieldValues = "affiliation,connection_status,created_at,description,entities,id," +
		"is_identity_verified,location,most_recent_tweet_id,name,parody,pinned_tweet_id," +
		"profile_banner_url,profile_image_url,protected,public_metrics,receives_your_dm," +
		"subscription,subscription_type,url,username,verified,verified_followers_count," +
		"verified_type,withheld"

	knownParams = "expansions, tweet_fields, user_fields"
)

// inList reports whether v is one of the comma-separated values of list.
func inList(list, v string) bool {
	return v != "" && !strings.Contains(v, ",") && strings.Contains(","+list+",", ","+v+",")
}

// parseParams validates raw params as submitted and returns them normalized.
// Errors are *jobs.ValidationError naming "params" or "params.<name>".
func parseParams(raw json.RawMessage) (Params, error) {
	var p Params
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	if !json.Valid(raw) {
		return p, jobs.Invalid("params", "not valid JSON")
	}
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return p, jobs.Invalid("params", "must be a JSON object, such as {\"tweet_fields\": [\"created_at\"]}")
	}
	var err error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		switch name {
		case "expansions":
			p.Expansions, err = parseList(name, v, "expansion", expansionValues)
		case "tweet_fields":
			p.TweetFields, err = parseList(name, v, "tweet field", tweetFieldValues)
		case "user_fields":
			p.UserFields, err = parseList(name, v, "user field", userFieldValues)
		default:
			field := "params." + clip(name, 40)
			switch hint := strings.ReplaceAll(name, ".", "_"); hint {
			case "expansions", "tweet_fields", "user_fields":
				return p, jobs.Invalid(field, "unknown param; did you mean %s?", hint)
			}
			return p, jobs.Invalid(field, "unknown param; known params are %s", knownParams)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// parseList reads one list param: null, a JSON list of strings or one
// comma-separated string (list items may hold commas too). Spaces around
// values and empty values are ignored; the result is sorted, without repeats,
// and nil when empty.
func parseList(name string, raw json.RawMessage, what, allowed string) ([]string, error) {
	field := "params." + name
	var items []string
	var one string
	switch raw = bytes.TrimSpace(raw); {
	case string(raw) == "null":
		return nil, nil
	case json.Unmarshal(raw, &one) == nil:
		items = []string{one}
	case json.Unmarshal(raw, &items) == nil:
	default:
		return nil, jobs.Invalid(field, "must be a list of strings or a comma-separated string")
	}
	var out []string
	for _, item := range items {
		for v := range strings.SplitSeq(item, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if !inList(allowed, v) {
				return nil, jobs.Invalid(field, "unknown %s %q; X accepts %s", what, clip(v, 40),
					strings.ReplaceAll(allowed, ",", ", "))
			}
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// clip shortens s to at most n bytes, at a rune boundary, marking the cut, so
// that an error quoting user input stays short.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
