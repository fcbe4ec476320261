package sandbox

import (
	"encoding/base32"
	"fmt"
	"hash/crc32"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Endpoint names, the keys of [Config.Endpoints] and of page counts: X
// counts its quota per endpoint, and so does the sandbox.
const (
	EndpointTweetsLookup  = "tweets_lookup"  // GET /2/tweets
	EndpointUserTweets    = "user_tweets"    // GET /2/users/:id/tweets
	EndpointUserFollowers = "user_followers" // GET /2/users/:id/followers
)

// Page sizes of the paginated lists, as on X: max_results ranges and the
// default when max_results is absent.
const (
	MinUserTweets        = 5
	MaxUserTweets        = 100
	DefaultUserTweets    = 10
	MinUserFollowers     = 1
	MaxUserFollowers     = 1000
	DefaultUserFollowers = 100
)

// EndpointQuota is one endpoint's quota per bearer token: Limit requests per
// Window. Limit zero means no quota on the endpoint; Window zero means
// [Config.Window] (or [DefaultWindow]). Negative values are errors.
type EndpointQuota struct {
	Limit  int
	Window time.Duration
}

// UserSpec overrides how many followers and tweets the sandbox gives one
// user (see [FollowerCount] and [TweetCount]). Negative counts are errors.
type UserSpec struct {
	Followers int
	Tweets    int
}

// FollowerCount returns how many followers the sandbox gives the user with
// this id when [Config.Users] does not name it: a pure function of id, from
// 0 to 4,999.
func FollowerCount(id uint64) int { return int(mix(id^0x6f6c6c6f77657273) % 5000) }

// TweetCount returns how many tweets the sandbox gives the user with this id
// when [Config.Users] does not name it: a pure function of id, from 0 to
// 3,200 (X serves a user's 3,200 most recent tweets).
func TweetCount(id uint64) int { return int(mix(id^0x7477656574730000) % 3201) }

// FollowerID returns the id of the user's follower at index i (0 is the
// most recent follower): distinct for distinct i of one user. Every tenth of
// a user's first 500,000 followers comes from a pool shared by all users
// (ids 1,000,000 to 1,049,999), so that two users of a job share followers,
// as on X; the others are ids of 19 digits at most that only this user has.
func FollowerID(user uint64, i int) uint64 {
	if i%10 == 0 && i < 500_000 {
		return 1_000_000 + uint64(i/10)
	}
	return (1+mix(user)%9_000_000)*1_000_000_000_000 + uint64(i)
}

// userTweetGap is the time between two consecutive tweets of a user.
func userTweetGap(user uint64) time.Duration {
	return time.Duration(600+mix(user^0x676170)%3000) * time.Second
}

// userNewest is when the user's newest tweet was posted: a whole second in
// 2024, a pure function of user.
func userNewest(user uint64) time.Time {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(mix(user^0x6e6577)%(365*24*3600)) * time.Second)
}

// UserTweetID returns the id of the user's tweet at index i, 0 being the
// newest: a snowflake whose time is the tweet's [CreatedAt], so ids fall as
// i grows. Tweets are a fixed gap apart (10 to 60 minutes, per user).
func UserTweetID(user uint64, i int) uint64 {
	t := userNewest(user).Add(-time.Duration(i) * userTweetGap(user))
	ms := uint64(t.UnixMilli() - snowflakeEpoch)
	return ms<<22 | (mix(user)^uint64(i))&(1<<22-1)
}

// pageKey names one page served: an endpoint, a user and the offset of the
// page's first item in the user's whole list.
type pageKey struct {
	endpoint string
	user     uint64
	offset   int
}

// tokenEncoding is base32 without padding (in lower case on the wire).
func tokenEncoding() *base32.Encoding { return base32.HexEncoding.WithPadding(base32.NoPadding) }

// endpointCode is how a pagination token names its list endpoint.
func endpointCode(endpoint string) string {
	if endpoint == EndpointUserTweets {
		return "t"
	}
	return "f"
}

// encodePageToken returns the pagination token for the page of endpoint's
// list of user that starts at offset: "<t|f>:<user>:<offset>" with a CRC-32,
// base32 in lower case. It is opaque to clients and deterministic.
func encodePageToken(endpoint string, user uint64, offset int) string {
	payload := endpointCode(endpoint) + ":" + strconv.FormatUint(user, 10) + ":" + strconv.Itoa(offset)
	sum := crc32.ChecksumIEEE([]byte(payload))
	raw := fmt.Sprintf("%s:%08x", payload, sum)
	return strings.ToLower(tokenEncoding().EncodeToString([]byte(raw)))
}

// decodePageToken reads a token of [encodePageToken] for endpoint and user
// and returns its offset, from 1 to n-1 for a list of n items. Any other
// string is an error: one made up, cut, for another user or endpoint, or
// past the list's end.
func decodePageToken(token, endpoint string, user uint64, n int) (int, error) {
	if token == "" || len(token) > 128 || strings.ToLower(token) != token {
		return 0, fmt.Errorf("bad length")
	}
	raw, err := tokenEncoding().DecodeString(strings.ToUpper(token))
	// The decoder ignores stray low bits in the last character: only the
	// canonical spelling of a token is that token.
	if err != nil || strings.ToLower(tokenEncoding().EncodeToString(raw)) != token {
		return 0, fmt.Errorf("not base32")
	}
	i := strings.LastIndexByte(string(raw), ':')
	if i < 0 || len(raw)-i-1 != 8 {
		return 0, fmt.Errorf("no checksum")
	}
	payload, sumHex := string(raw[:i]), string(raw[i+1:])
	sum, err := strconv.ParseUint(sumHex, 16, 32)
	if err != nil || uint32(sum) != crc32.ChecksumIEEE([]byte(payload)) || strings.ToLower(sumHex) != sumHex {
		return 0, fmt.Errorf("bad checksum")
	}
	parts := strings.Split(payload, ":")
	if len(parts) != 3 || parts[0] != endpointCode(endpoint) {
		return 0, fmt.Errorf("not a token of this endpoint")
	}
	u, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || u != user || strconv.FormatUint(u, 10) != parts[1] {
		return 0, fmt.Errorf("not a token of this user")
	}
	off, err := strconv.Atoi(parts[2])
	if err != nil || strconv.Itoa(off) != parts[2] || off < 1 || off >= n {
		return 0, fmt.Errorf("offset out of range")
	}
	return off, nil
}

// The query parameters each list endpoint accepts.
const (
	userTweetsParams = "max_results,pagination_token,start_time,end_time,since_id,until_id," +
		"exclude,expansions,tweet.fields,media.fields,poll.fields,place.fields,user.fields"
	userFollowersParams = "max_results,pagination_token,expansions,tweet.fields,user.fields"
	followerExpansions  = "pinned_tweet_id"
)

// listQuery is a validated request for a page of a user's list.
type listQuery struct {
	endpoint    string
	user        uint64
	maxResults  int
	token       string
	start, end  time.Time // zero: unbounded
	since       uint64    // zero: unbounded
	until       uint64    // zero: unbounded
	tweetFields map[string]bool
	expansions  map[string]bool
	userFields  map[string]bool
}

// parseListQuery validates the request for endpoint of user (the path's id,
// as given) as X does, returning every problem it finds. The token is checked
// later, once the list's length is known.
func parseListQuery(endpoint, userID, raw string) (listQuery, []*paramError) {
	q := listQuery{endpoint: endpoint}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, []*paramError{newParamError("query", []string{raw}, "The query string could not be parsed")}
	}
	allowed, lo, hi, def, expansions := userFollowersParams, MinUserFollowers, MaxUserFollowers, DefaultUserFollowers, followerExpansions
	if endpoint == EndpointUserTweets {
		allowed, lo, hi, def, expansions = userTweetsParams, MinUserTweets, MaxUserTweets, DefaultUserTweets, expansionValues
	}
	var problems []*paramError
	if !isTweetID(userID) {
		problems = append(problems, newParamError("id", []string{userID},
			"The `id` query parameter value [%s] does not match ^[0-9]{1,19}$", userID))
	} else {
		q.user, _ = strconv.ParseUint(userID, 10, 64)
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !inList(allowed, name) {
			problems = append(problems, newParamError(name, values[name],
				"The query parameter [%s] is not one of [%s]", name, allowed))
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
	q.maxResults = def
	if v, ok := values["max_results"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < lo || n > hi {
			problems = append(problems, newParamError("max_results", v,
				"The `max_results` query parameter value [%s] is not between %d and %d", v[0], lo, hi))
		}
		q.maxResults = n
	}
	if v, ok := values["pagination_token"]; ok {
		q.token = v[0]
		if q.token == "" {
			problems = append(problems, newParamError("pagination_token", v,
				"The `pagination_token` query parameter can not be empty"))
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start_time", &q.start}, {"end_time", &q.end}} {
		if v, ok := values[p.name]; ok {
			t, err := time.Parse(time.RFC3339, v[0])
			if err != nil {
				problems = append(problems, newParamError(p.name, v,
					"Invalid '%s':'%s'. '%s' must be a valid RFC 3339 timestamp (YYYY-MM-DDTHH:mm:ssZ)", p.name, v[0], p.name))
			}
			*p.dst = t
		}
	}
	if !q.start.IsZero() && !q.end.IsZero() && !q.start.Before(q.end) {
		problems = append(problems, newParamError("start_time", []string{values.Get("start_time")},
			"Invalid 'start_time':'%s'. 'start_time' must be before 'end_time'", values.Get("start_time")))
	}
	for _, p := range []struct {
		name string
		dst  *uint64
	}{{"since_id", &q.since}, {"until_id", &q.until}} {
		if v, ok := values[p.name]; ok {
			n, err := strconv.ParseUint(v[0], 10, 64)
			if !isTweetID(v[0]) || err != nil || n == 0 {
				problems = append(problems, newParamError(p.name, v,
					"The `%s` query parameter value [%s] does not match ^[0-9]{1,19}$", p.name, v[0]))
			}
			*p.dst = n
		}
	}
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
	q.expansions = set("expansions", expansions)
	q.userFields = set("user.fields", userFields)
	return q, problems
}

// listBody is X's 200 body for a page of a list.
type listBody struct {
	Data     any       `json:"data,omitempty"`
	Includes *includes `json:"includes,omitempty"`
	Meta     listMeta  `json:"meta"`
}

type listMeta struct {
	ResultCount int    `json:"result_count"`
	NextToken   string `json:"next_token,omitempty"`
}

// counts returns the user's follower and tweet counts.
func (s *Server) counts(user uint64) UserSpec {
	if u, ok := s.users[user]; ok {
		return u
	}
	return UserSpec{Followers: FollowerCount(user), Tweets: TweetCount(user)}
}

// list answers a validated list request: the page, or a *paramError for a
// bad pagination token. offset is the page's first item in the whole list.
func (s *Server) list(q listQuery) (listBody, int, *paramError) {
	var body listBody
	c := s.counts(q.user)
	n, lo, hi := c.Followers, 0, c.Followers
	extra := 0
	if q.endpoint == EndpointUserTweets {
		extra = s.addedTweets(q.user)
		n = c.Tweets + extra
		lo = sort.Search(n, func(i int) bool {
			id := UserTweetID(q.user, i-extra)
			return (q.until == 0 || id < q.until) && (q.end.IsZero() || CreatedAt(id).Before(q.end))
		})
		hi = sort.Search(n, func(i int) bool {
			id := UserTweetID(q.user, i-extra)
			return (q.since != 0 && id <= q.since) || (!q.start.IsZero() && CreatedAt(id).Before(q.start))
		})
		hi = max(hi, lo)
	}
	offset := lo
	if q.token != "" {
		off, err := decodePageToken(q.token, q.endpoint, q.user, n)
		if err != nil {
			return body, 0, newParamError("pagination_token", []string{q.token},
				"The `pagination_token` query parameter value [%s] is not a valid pagination token", q.token)
		}
		offset = max(off, lo)
	}
	end := min(offset+q.maxResults, hi)
	offset = min(offset, end)
	body.Meta.ResultCount = end - offset
	if end < hi {
		body.Meta.NextToken = encodePageToken(q.endpoint, q.user, end)
	}
	if q.endpoint == EndpointUserTweets {
		s.logList(q, offset-extra, end-extra)
	}
	if end == offset {
		return body, offset, nil
	}
	if q.endpoint == EndpointUserFollowers {
		users := make([]sandboxUser, 0, end-offset)
		for i := offset; i < end; i++ {
			users = append(users, makeUser(FollowerID(q.user, i), q.userFields))
		}
		body.Data = users
		return body, offset, nil
	}
	tweets := make([]sandboxTweet, 0, end-offset)
	for i := offset; i < end; i++ {
		t := s.tweet(UserTweetID(q.user, i-extra), q.tweetFields)
		if t.AuthorID != "" {
			t.AuthorID = strconv.FormatUint(q.user, 10)
		}
		tweets = append(tweets, t)
	}
	body.Data = tweets
	if q.expansions["author_id"] {
		body.Includes = &includes{Users: []sandboxUser{makeUser(q.user, q.userFields)}}
	}
	return body, offset, nil
}

// endpointOf returns the endpoint a path names and, for a list, the user id
// as given; "" for a path the sandbox does not serve.
func endpointOf(path string) (endpoint, user string) {
	if path == "/2/tweets" {
		return EndpointTweetsLookup, ""
	}
	rest, ok := strings.CutPrefix(path, "/2/users/")
	if !ok {
		return "", ""
	}
	user, what, ok := strings.Cut(rest, "/")
	if !ok || user == "" {
		return "", ""
	}
	switch what {
	case "tweets":
		return EndpointUserTweets, user
	case "followers":
		return EndpointUserFollowers, user
	}
	return "", ""
}
