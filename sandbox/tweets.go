package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxIDs is the most ids one tweet lookup request may carry, as on X.
const MaxIDs = 100

// snowflakeEpoch is X's snowflake epoch in Unix milliseconds: an id's top 42
// bits count milliseconds since then.
const snowflakeEpoch = 1288834974657

// mix is splitmix64's finaliser: a fast, well-spread hash of an id, so that
// everything the sandbox says about a tweet is a pure function of its id.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Missing reports whether the tweet with this id is missing (deleted or
// protected) when percent of all ids are missing. It is a pure function of id
// and percent, so tests can predict exactly which ids of a batch come back in
// "errors": about percent in 100 of any large set of ids are missing. percent
// at or below 0 means none, at or above 100 means all.
func Missing(id uint64, percent int) bool {
	if percent <= 0 {
		return false
	}
	return mix(id)%100 < uint64(percent)
}

// Protected reports whether a missing tweet is missing because its author is
// protected (an "Authorization Error") rather than because it was deleted (a
// "Not Found Error"). About one missing tweet in four is protected. It is
// false for every tweet that is not [Missing].
func Protected(id uint64, percent int) bool {
	return Missing(id, percent) && (mix(id)>>40)%4 == 0
}

// CreatedAt returns the time the sandbox says the tweet with this id was
// created: its snowflake timestamp, (id>>22) ms after 2010-11-04T01:42:54.657Z,
// truncated to the second as X reports it. Ids too small to carry a
// timestamp (the pre-2010 sequential ids) are clamped to the snowflake epoch,
// and the largest ids stay within the 22nd century, so the result always
// formats as RFC 3339.
func CreatedAt(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + snowflakeEpoch).UTC().Truncate(time.Second)
}

// xTime is the layout X uses for created_at: millisecond precision, UTC, Z.
const xTime = "2006-01-02T15:04:05.000Z"

// vocabulary is what the sandbox's tweets are written in.
const vocabulary = "the a quota window limit request token rate reset header tweet " +
	"reply thread archive research data sample collect pacer worker queue " +
	"retry backoff upstream deleted protected window morning evening today " +
	"again never always slowly quickly honest exact global fifteen minutes"

// sandboxTweet is a tweet object in X API v2's shape. Fields not asked for in
// tweet.fields stay empty and are omitted, as on X; id, text and
// edit_history_tweet_ids are X's default fields and always present.
type sandboxTweet struct {
	EditHistoryTweetIDs []string       `json:"edit_history_tweet_ids"`
	ID                  string         `json:"id"`
	Text                string         `json:"text"`
	AuthorID            string         `json:"author_id,omitempty"`
	ConversationID      string         `json:"conversation_id,omitempty"`
	CreatedAt           string         `json:"created_at,omitempty"`
	Lang                string         `json:"lang,omitempty"`
	PossiblySensitive   *bool          `json:"possibly_sensitive,omitempty"`
	PublicMetrics       *tweetMetrics  `json:"public_metrics,omitempty"`
	ReplySettings       string         `json:"reply_settings,omitempty"`
	Source              string         `json:"source,omitempty"`
	EditControls        *editControls  `json:"edit_controls,omitempty"`
	Entities            *tweetEntities `json:"entities,omitempty"`
}

type tweetMetrics struct {
	RetweetCount    uint64 `json:"retweet_count"`
	ReplyCount      uint64 `json:"reply_count"`
	LikeCount       uint64 `json:"like_count"`
	QuoteCount      uint64 `json:"quote_count"`
	BookmarkCount   uint64 `json:"bookmark_count"`
	ImpressionCount uint64 `json:"impression_count"`
}

type editControls struct {
	EditsRemaining int    `json:"edits_remaining"`
	IsEditEligible bool   `json:"is_edit_eligible"`
	EditableUntil  string `json:"editable_until"`
}

type tweetEntities struct {
	Hashtags []hashtag `json:"hashtags,omitempty"`
}

type hashtag struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Tag   string `json:"tag"`
}

// sandboxUser is a user object in X API v2's shape, for includes.users.
type sandboxUser struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Username      string       `json:"username"`
	CreatedAt     string       `json:"created_at,omitempty"`
	Description   string       `json:"description,omitempty"`
	Location      string       `json:"location,omitempty"`
	Protected     *bool        `json:"protected,omitempty"`
	Verified      *bool        `json:"verified,omitempty"`
	PublicMetrics *userMetrics `json:"public_metrics,omitempty"`
}

type userMetrics struct {
	FollowersCount uint64 `json:"followers_count"`
	FollowingCount uint64 `json:"following_count"`
	TweetCount     uint64 `json:"tweet_count"`
	ListedCount    uint64 `json:"listed_count"`
	LikeCount      uint64 `json:"like_count"`
}

// authorOf returns the id of the user who wrote tweet id: one of about
// 50,000 stand-in users, so that a large lookup shares authors.
func authorOf(id uint64) uint64 {
	return 1_000_000 + (mix(id)>>17)%50_000
}

// makeTweet builds the tweet with this id, with the fields in fields (a set
// of tweet.fields values).
func makeTweet(id uint64, words []string, fields map[string]bool) sandboxTweet {
	h := mix(id)
	ids := strconv.FormatUint(id, 10)
	n := 5 + int(h%9)
	parts := make([]string, 0, n+1)
	seq := h
	for range n {
		seq = mix(seq)
		parts = append(parts, words[seq%uint64(len(words))])
	}
	text := strings.Join(parts, " ")
	var tag *hashtag
	if h%3 == 0 {
		tag = &hashtag{Start: len(text) + 1, End: len(text) + 7, Tag: "pacer"}
		text += " #pacer"
	}
	t := sandboxTweet{EditHistoryTweetIDs: []string{ids}, ID: ids, Text: text}
	created := CreatedAt(id)
	if fields["author_id"] {
		t.AuthorID = strconv.FormatUint(authorOf(id), 10)
	}
	if fields["conversation_id"] {
		t.ConversationID = ids
	}
	if fields["created_at"] {
		t.CreatedAt = created.Format(xTime)
	}
	if fields["lang"] {
		langs := [...]string{"en", "en", "en", "en", "de", "fr", "es", "ja", "pt", "und"}
		t.Lang = langs[(h>>8)%uint64(len(langs))]
	}
	if fields["possibly_sensitive"] {
		sensitive := (h>>12)%50 == 0
		t.PossiblySensitive = &sensitive
	}
	if fields["public_metrics"] {
		m := mix(h)
		t.PublicMetrics = &tweetMetrics{
			RetweetCount:    m % 500,
			ReplyCount:      (m >> 9) % 100,
			LikeCount:       (m >> 16) % 5000,
			QuoteCount:      (m >> 29) % 50,
			BookmarkCount:   (m >> 35) % 200,
			ImpressionCount: (m >> 43) % 100_000,
		}
	}
	if fields["reply_settings"] {
		t.ReplySettings = "everyone"
	}
	if fields["source"] {
		t.Source = "pacer sandbox"
	}
	if fields["edit_controls"] {
		t.EditControls = &editControls{EditableUntil: created.Add(time.Hour).Format(xTime)}
	}
	if fields["entities"] && tag != nil {
		t.Entities = &tweetEntities{Hashtags: []hashtag{*tag}}
	}
	return t
}

// tweet is makeTweet with the text of [Config.Texts], if it names id. An
// overridden text carries no hashtag entity: its offsets were the generated
// text's.
func (s *Server) tweet(id uint64, fields map[string]bool) sandboxTweet {
	t := makeTweet(id, s.words, fields)
	if text, ok := s.texts[id]; ok {
		t.Text, t.Entities = text, nil
	}
	return t
}

// makeUser builds the stand-in user with this id, with the fields in fields
// (a set of user.fields values).
func makeUser(id uint64, fields map[string]bool) sandboxUser {
	h := mix(id ^ 0x5bd1e995)
	u := sandboxUser{
		ID:       strconv.FormatUint(id, 10),
		Name:     fmt.Sprintf("Sandbox User %d", id),
		Username: fmt.Sprintf("sandbox_%d", id),
	}
	if fields["created_at"] {
		u.CreatedAt = time.UnixMilli(snowflakeEpoch - int64(h%(1<<38))).UTC().Format(xTime)
	}
	if fields["description"] {
		u.Description = "A stand-in account of the pacer sandbox."
	}
	if fields["location"] {
		u.Location = "Localhost"
	}
	if fields["protected"] {
		f := false
		u.Protected = &f
	}
	if fields["verified"] {
		v := h%10 == 0
		u.Verified = &v
	}
	if fields["public_metrics"] {
		u.PublicMetrics = &userMetrics{
			FollowersCount: h % 100_000,
			FollowingCount: (h >> 17) % 2000,
			TweetCount:     (h >> 28) % 50_000,
			ListedCount:    (h >> 44) % 300,
			LikeCount:      (h >> 50) % 10_000,
		}
	}
	return u
}
