package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a [Server]. The zero value is usable: any non-empty
// bearer token is accepted, there is no quota, 5% of ids are missing and no
// faults are injected.
type Config struct {
	// Limit is how many requests each bearer token may make per Window.
	// Zero means no quota: every request is admitted and no x-rate-limit-*
	// headers are sent. Negative is an error.
	Limit int
	// Window is the length of a quota window, which opens at a token's first
	// request while none is open and closes Window later (X's fixed 15-minute
	// windows). Zero means 15 minutes. Negative is an error.
	Window time.Duration
	// Tokens are the bearer tokens the sandbox accepts; any other gets a 401.
	// Empty means any non-empty token is accepted. Each token has its own
	// quota. Tokens given to the sandbox are stand-ins: never a real
	// credential.
	Tokens []string
	// MissingPercent is the share of ids, from 0 to 100, that the sandbox
	// reports missing (see [Missing]). Zero means the default, 5; a negative
	// value means none are missing. Above 100 is an error.
	MissingPercent int
	// NowFunc tells the time for quota windows, the x-rate-limit-reset header
	// and the Date header, so tests can drive windows with a fake clock.
	// Nil means time.Now. Latency faults sleep in real time regardless.
	NowFunc func() time.Time
	// Faults are the faults injected from the start; [Server.SetFaults]
	// changes them at run time. The zero value injects none.
	Faults Faults
	// Seed seeds the generator that decides which requests a fault hits, so
	// that a run with faults can be repeated request by request. Zero is a
	// valid seed.
	Seed uint64
	// HideHeaders keeps the quota but sends no x-rate-limit-* headers, not
	// even on a 429: an upstream that says nothing of its limit, which
	// pacer must learn by backing off. The zero value sends them.
	HideHeaders bool
	// Endpoints sets the quota of each endpoint by name
	// ([EndpointTweetsLookup], [EndpointUserTweets],
	// [EndpointUserFollowers]): X counts requests per endpoint, so each
	// endpoint has its own window per token. An endpoint not named has Limit
	// per Window. Nil means every endpoint has Limit per Window. An unknown
	// name is an error.
	Endpoints map[string]EndpointQuota
	// Users overrides, by user id, how many followers and tweets the sandbox
	// gives a user; a user not named gets [FollowerCount] and [TweetCount].
	// Nil means no overrides.
	Users map[uint64]UserSpec
	// Texts overrides, by tweet id, the text of a tweet the sandbox finds
	// (an id that [Missing] says is missing stays missing), in lookups and
	// timelines alike: a test gives a tweet the text it needs, say markup
	// that a page must show as text. Nil means none. An empty text is an
	// error: X has no tweet without text.
	Texts map[uint64]string
}

// LogValue implements slog.LogValuer: it logs how many tokens c holds, never
// the tokens themselves.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("limit", c.Limit),
		slog.Duration("window", c.Window),
		slog.Int("tokens", len(c.Tokens)),
		slog.Int("missing_percent", c.MissingPercent),
	)
}

// DefaultWindow is the quota window used when [Config.Window] is zero.
const DefaultWindow = 15 * time.Minute

// DefaultMissingPercent is the share of missing ids used when
// [Config.MissingPercent] is zero.
const DefaultMissingPercent = 5

func (c *Config) validate() error {
	if c.Limit < 0 {
		return fmt.Errorf("limit %d is negative", c.Limit)
	}
	if c.Window < 0 {
		return fmt.Errorf("window %s is negative", c.Window)
	}
	for name, q := range c.Endpoints {
		switch name {
		case EndpointTweetsLookup, EndpointUserTweets, EndpointUserFollowers:
		default:
			return fmt.Errorf("endpoints: unknown endpoint %q", name)
		}
		if q.Limit < 0 || q.Window < 0 {
			return fmt.Errorf("endpoints: %s: limit %d or window %s is negative", name, q.Limit, q.Window)
		}
	}
	for id, u := range c.Users {
		if u.Followers < 0 || u.Tweets < 0 {
			return fmt.Errorf("users: %d: negative count", id)
		}
	}
	for id, text := range c.Texts {
		if text == "" {
			return fmt.Errorf("texts: %d: empty text", id)
		}
	}
	if c.MissingPercent > 100 {
		return fmt.Errorf("missing percent %d is above 100", c.MissingPercent)
	}
	for i, t := range c.Tokens {
		if t == "" {
			return fmt.Errorf("token %d is empty", i)
		}
	}
	if err := c.Faults.validate(); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	return nil
}

// Faults are the troubles a [Server] injects into requests it has admitted
// (authenticated and within the quota): they consume quota, as they would on
// the real API, but are never counted as served. The zero value injects none.
type Faults struct {
	// Latency delays every admitted request before it is answered. The
	// delay ends early if the client goes away. Negative is an error.
	Latency time.Duration
	// ErrorPercent is the share of admitted requests, 0 to 100, answered
	// with a 503 and an X-style problem body.
	ErrorPercent int
	// DropPercent is the share of admitted requests whose connection is
	// closed without a response.
	DropPercent int
	// MalformedPercent is the share of admitted requests answered 200 with
	// the first half of their JSON body only.
	MalformedPercent int
}

func (f Faults) validate() error {
	if f.Latency < 0 {
		return fmt.Errorf("latency %s is negative", f.Latency)
	}
	sum := 0
	for _, p := range []struct {
		name string
		v    int
	}{{"error", f.ErrorPercent}, {"drop", f.DropPercent}, {"malformed", f.MalformedPercent}} {
		if p.v < 0 || p.v > 100 {
			return fmt.Errorf("%s percent %d is not between 0 and 100", p.name, p.v)
		}
		sum += p.v
	}
	if sum > 100 {
		return fmt.Errorf("error, drop and malformed percents add up to %d, above 100", sum)
	}
	return nil
}

// Stats counts what a [Server] has seen since it was created or last [Server.Reset].
type Stats struct {
	// Requests counts every request to the API (not to /sandbox/), whatever
	// became of it.
	Requests int `json:"requests"`
	// Served counts requests answered 200 with the tweets or the page asked
	// for.
	Served int `json:"served"`
	// OverQuota counts requests refused with a 429: each one a request pacer
	// should not have sent.
	OverQuota int `json:"over_quota"`
	// Refused counts requests refused with a 429 in a window that
	// SpendWindow declared used up early: the upstream changed its mind,
	// which pacer can learn only from the 429 itself.
	Refused int `json:"refused_early"`
	// Unauthorized counts requests refused with a 401.
	Unauthorized int `json:"unauthorized"`
	// Faulted counts admitted requests that got an injected fault.
	Faulted int `json:"faulted"`
	// IDsRequested counts id lookups in served requests: each id counts once
	// per served request that asked for it.
	IDsRequested int `json:"ids_requested"`
	// IDsDistinct counts the different ids looked up in served requests.
	IDsDistinct int `json:"ids_distinct"`
	// IDsRepeated counts the ids looked up in more than one served request.
	IDsRepeated int `json:"ids_repeated"`
	// PagesRequested counts pages of the paginated lists served (each also
	// counts in Served).
	PagesRequested int `json:"pages_requested"`
	// PagesRepeated counts the pages, by endpoint, user and offset, served
	// more than once: each one a page pacer fetched again.
	PagesRepeated int `json:"pages_repeated"`
	// Tokens holds the counts of each bearer token that got past
	// authentication. [Server.Stats] keys it by token; GET /sandbox/stats
	// keys it by [TokenLabel], so that tokens never appear on the wire.
	Tokens map[string]TokenStats `json:"tokens"`
}

// TokenStats counts one bearer token's requests.
type TokenStats struct {
	Requests  int `json:"requests"`   // every request made with the token
	Served    int `json:"served"`     // requests answered 200
	OverQuota int `json:"over_quota"` // requests refused with a 429
	// Windows holds, for each tweet lookup quota window the token opened,
	// in order, how many requests it admitted: what a test compares with the
	// limit to see whether pacer used its quota to the full. The list
	// endpoints' windows, kept apart as X keeps them, are not listed.
	Windows []int `json:"windows,omitempty"`
}

// TokenLabel is how GET /sandbox/stats names a token: "sha256:" and the
// first 8 hex digits of its SHA-256, which identifies it without revealing
// it.
func TokenLabel(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:4])
}

// Server is the stand-in X API v2. It serves GET /2/tweets (tweet lookup),
// GET /2/users/:id/tweets and GET /2/users/:id/followers (paginated lists,
// see [FollowerCount], [TweetCount]), and GET /sandbox/stats (its [Stats] as JSON, with tokens replaced by their
// [TokenLabel]); any other path is a 404, any other method a 405.
//
// It expects the paths above at its root: to mount it under a prefix, wrap
// it in http.StripPrefix.
//
// A Server is safe for concurrent use. Create one with [New]; the zero value
// is not usable.
type Server struct {
	limit       int
	hideHeaders bool
	window      time.Duration
	quotas      map[string]EndpointQuota // effective, for every endpoint
	users       map[uint64]UserSpec
	texts       map[uint64]string
	tokens      map[string]bool // nil: any non-empty token
	revoked     map[string]bool // tokens answered 401 from now on
	missing     int             // effective percent, 0 to 100
	now         func() time.Time
	words       []string

	mu       sync.Mutex
	faults   Faults
	rng      *rand.Rand
	buckets  map[string]*bucket
	stats    Stats // Tokens unused: see perToken
	perToken map[string]*TokenStats
	idCounts map[uint64]int
	pages    map[pageKey]int
	added    map[uint64]int // tweets AddTweets gave each user
	listLog  []ListRequest  // user_tweets pages answered
}

// bucket is one token's open quota window.
type bucket struct {
	end   time.Time
	used  int
	spent bool // SpendWindow declared it used up, whatever its count
}

// New returns a Server configured by cfg, or an error naming the field of cfg
// that is invalid.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	s := &Server{
		limit:       cfg.Limit,
		hideHeaders: cfg.HideHeaders,
		window:      cfg.Window,
		missing:     cfg.MissingPercent,
		now:         cfg.NowFunc,
		words:       strings.Fields(vocabulary),
		faults:      cfg.Faults,
		rng:         rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	if s.window == 0 {
		s.window = DefaultWindow
	}
	s.quotas = make(map[string]EndpointQuota, 3)
	s.users = maps.Clone(cfg.Users)
	s.texts = maps.Clone(cfg.Texts)
	for _, e := range []string{EndpointTweetsLookup, EndpointUserTweets, EndpointUserFollowers} {
		q, ok := cfg.Endpoints[e]
		if !ok {
			q = EndpointQuota{Limit: s.limit}
		}
		if q.Window == 0 {
			q.Window = s.window
		}
		s.quotas[e] = q
	}
	switch {
	case s.missing == 0:
		s.missing = DefaultMissingPercent
	case s.missing < 0:
		s.missing = 0
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(cfg.Tokens) > 0 {
		s.tokens = make(map[string]bool, len(cfg.Tokens))
		for _, t := range cfg.Tokens {
			s.tokens[t] = true
		}
	}
	s.resetLocked()
	return s, nil
}

// MissingPercent returns the share of ids, 0 to 100, that s reports missing:
// pass it to [Missing] and [Protected] to predict s's answers.
func (s *Server) MissingPercent() int { return s.missing }

// SetFaults replaces the faults s injects, from the next request on. It
// returns an error, and changes nothing, if f is invalid. It is safe to call
// while s serves requests.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("set faults: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the faults s injects now.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns a snapshot of s's counters, with Tokens keyed by token.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Tokens = make(map[string]TokenStats, len(s.perToken))
	for t, ts := range s.perToken {
		c := *ts
		c.Windows = slices.Clone(ts.Windows)
		st.Tokens[t] = c
	}
	return st
}

// IDRequests returns how many served requests asked for the tweet id (given
// in decimal; leading zeros are ignored). It returns 0 for an id never asked
// for and for a string that is not an id.
func (s *Server) IDRequests(id string) int {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idCounts[n]
}

// PageRequests returns how many times s served the page of endpoint's list
// of user that starts at offset (0 for the first page). It returns 0 for a
// page never served.
func (s *Server) PageRequests(endpoint string, user uint64, offset int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages[pageKey{endpoint, user, offset}]
}

// Reset zeroes s's counters and closes every quota window, as if s were new.
// The faults and the state of the fault generator are kept.
// Revoke makes the sandbox answer every later request with token 401, as
// an upstream does for a revoked or suspended credential.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked == nil {
		s.revoked = make(map[string]bool)
	}
	s.revoked[token] = true
}

// SpendWindow makes the tweet lookup quota window of token answer as if it
// were used up, from now until it resets (opening one if none is open):
// every request gets a 429 with x-rate-limit-remaining: 0, counted in Stats.Refused, not
// in OverQuota. It stands for an upstream that counts more than pacer sent
// (another client on the same app, a limit lowered mid-window). It does
// nothing when the sandbox has no quota.
func (s *Server) SpendWindow(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quotas[EndpointTweetsLookup]
	if q.Limit == 0 {
		return
	}
	now := s.now()
	b := s.buckets[token]
	if b == nil || !now.Before(b.end) {
		b = &bucket{end: now.Add(q.Window)}
		s.buckets[token] = b
	}
	b.spent = true
}

func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.stats = Stats{}
	s.buckets = make(map[string]*bucket)
	s.perToken = make(map[string]*TokenStats)
	s.idCounts = make(map[uint64]int)
	s.pages = make(map[pageKey]int)
	s.listLog = nil
}

// fault is what an admitted request suffers.
type fault int

const (
	faultNone fault = iota
	faultError
	faultDrop
	faultMalformed
)

// admission is the decision taken for a request when it arrives.
type admission struct {
	authorized bool
	limited    bool // a quota applies: send the x-rate-limit-* headers
	limit      int
	over       bool // past the quota: 429
	remaining  int
	reset      time.Time
	fault      fault
	latency    time.Duration
}

// arrive counts a request and decides, under one lock, whether it is
// authorized, within its token's quota and faulted. Counting at arrival
// means concurrent requests can never both take the last unit of a quota.
//
// Each endpoint has its own window per token. Tweet lookup's (and that of
// any path the sandbox does not serve) is keyed by the token alone, which is
// the window [Server.SpendWindow] spends and TokenStats.Windows lists.
func (s *Server) arrive(token, endpoint string, now time.Time) admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	a := admission{authorized: token != "" && (s.tokens == nil || s.tokens[token]) && !s.revoked[token]}
	if !a.authorized {
		s.stats.Unauthorized++
		return a
	}
	ts := s.perToken[token]
	if ts == nil {
		ts = &TokenStats{}
		s.perToken[token] = ts
	}
	ts.Requests++
	if endpoint == "" {
		endpoint = EndpointTweetsLookup
	}
	quota := s.quotas[endpoint]
	lookup := endpoint == EndpointTweetsLookup
	key := token
	if !lookup {
		key = endpoint + " " + token
	}
	if quota.Limit > 0 {
		a.limited = true
		a.limit = quota.Limit
		b := s.buckets[key]
		if b == nil || !now.Before(b.end) {
			b = &bucket{end: now.Add(quota.Window)}
			s.buckets[key] = b
			if lookup {
				ts.Windows = append(ts.Windows, 0)
			}
		}
		if b.spent {
			a.over = true
			s.stats.Refused++
		} else if b.used >= quota.Limit {
			a.over = true
			s.stats.OverQuota++
			ts.OverQuota++
		} else {
			b.used++
			if n := len(ts.Windows); n > 0 && lookup {
				ts.Windows[n-1]++
			}
		}
		a.remaining = quota.Limit - b.used
		if b.spent {
			a.remaining = 0
		}
		a.reset = b.end
	}
	if a.over {
		return a
	}
	a.latency = s.faults.Latency
	if f := s.faults; f.ErrorPercent+f.DropPercent+f.MalformedPercent > 0 {
		switch r := s.rng.IntN(100); {
		case r < f.ErrorPercent:
			a.fault = faultError
		case r < f.ErrorPercent+f.DropPercent:
			a.fault = faultDrop
		case r < f.ErrorPercent+f.DropPercent+f.MalformedPercent:
			a.fault = faultMalformed
		}
		if a.fault != faultNone {
			s.stats.Faulted++
		}
	}
	return a
}

// served counts a request answered 200: a lookup of the tweets ids, or the
// page of a list.
func (s *Server) served(token string, ids []uint64, page *pageKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Served++
	s.perToken[token].Served++
	if page != nil {
		s.stats.PagesRequested++
		s.pages[*page]++
		if s.pages[*page] == 2 {
			s.stats.PagesRepeated++
		}
	}
	for _, id := range ids {
		s.stats.IDsRequested++
		s.idCounts[id]++
		switch s.idCounts[id] {
		case 1:
			s.stats.IDsDistinct++
		case 2:
			s.stats.IDsRepeated++
		}
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header, or
// "" if there is none.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// resetHeader formats t as X's x-rate-limit-reset: Unix epoch seconds,
// rounded up, so that a client waiting until then never starts early.
func resetHeader(t time.Time) string {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return strconv.FormatInt(sec, 10)
}

// Bodies X sends for the errors the sandbox reproduces.
const (
	unauthorizedBody = `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	rateLimitBody    = `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`
	unavailableBody  = `{"title":"Service Unavailable","type":"about:blank","status":503,"detail":"Service Unavailable"}`
	notFoundBody     = `{"title":"Not Found Error","type":"about:blank","status":404,"detail":"Sorry, that page does not exist."}`
	notAllowedBody   = `{"title":"Method Not Allowed","type":"about:blank","status":405,"detail":"Method Not Allowed"}`
)

const (
	jsonType    = "application/json; charset=utf-8"
	problemType = "application/problem+json"
)

// ServeHTTP answers one request. A request to the API is, in order: counted;
// refused with a 401 without a valid bearer token; refused with a 429 past
// its token's quota for the endpoint; delayed and faulted as [Faults] say;
// answered (a 404 for a path the sandbox does not serve, a 405 for a method
// other than GET, a 400 for invalid parameters or pagination token, else a
// 200). Every request with a valid token counts against that token's quota
// for the endpoint whatever its answer (a path the sandbox does not serve
// counts as tweet lookup), and every answer to it carries the endpoint's
// x-rate-limit-* headers when a quota is set; a 401 carries none, since
// without a valid token there is no quota to report.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sandbox/") {
		s.serveSandbox(w, r)
		return
	}
	now := s.now()
	h := w.Header()
	// The Date header follows NowFunc too, so that a client judging
	// x-rate-limit-reset against Date (as it should) sees one clock.
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	token := bearer(r)
	endpoint, _ := endpointOf(r.URL.Path)
	a := s.arrive(token, endpoint, now)
	if !a.authorized {
		write(w, http.StatusUnauthorized, problemType, []byte(unauthorizedBody))
		return
	}
	if a.limited && !s.hideHeaders {
		h.Set("x-rate-limit-limit", strconv.Itoa(a.limit))
		h.Set("x-rate-limit-remaining", strconv.Itoa(a.remaining))
		h.Set("x-rate-limit-reset", resetHeader(a.reset))
	}
	if a.over {
		write(w, http.StatusTooManyRequests, jsonType, []byte(rateLimitBody))
		return
	}
	if a.latency > 0 {
		t := time.NewTimer(a.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	status, ctype, body, ids, page := s.answer(h, r)
	switch a.fault {
	case faultError:
		write(w, http.StatusServiceUnavailable, problemType, []byte(unavailableBody))
	case faultDrop:
		drop(w)
	case faultMalformed:
		write(w, http.StatusOK, jsonType, body[:len(body)/2])
	default:
		if status == http.StatusOK {
			s.served(token, ids, page)
		}
		write(w, status, ctype, body)
	}
}

func write(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away: nothing to do
}

// drop closes the request's connection without a response.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// HTTP/2 cannot be hijacked; aborting the handler resets the stream.
	panic(http.ErrAbortHandler)
}

// answer builds the answer to an admitted API request: status, content type,
// body and, for a 200, the distinct ids looked up or the page served.
func (s *Server) answer(h http.Header, r *http.Request) (int, string, []byte, []uint64, *pageKey) {
	endpoint, user := endpointOf(r.URL.Path)
	if endpoint == "" {
		return http.StatusNotFound, problemType, []byte(notFoundBody), nil, nil
	}
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		return http.StatusMethodNotAllowed, problemType, []byte(notAllowedBody), nil, nil
	}
	invalid := func(problems []*paramError) (int, string, []byte, []uint64, *pageKey) {
		body := mustJSON(invalidRequest{
			Errors: problems,
			Title:  "Invalid Request",
			Detail: "One or more parameters to your request was invalid.",
			Type:   "https://api.twitter.com/2/problems/invalid-request",
		})
		return http.StatusBadRequest, jsonType, body, nil, nil
	}
	if endpoint != EndpointTweetsLookup {
		q, problems := parseListQuery(endpoint, user, r.URL.RawQuery)
		if len(problems) > 0 {
			return invalid(problems)
		}
		body, offset, perr := s.list(q)
		if perr != nil {
			return invalid([]*paramError{perr})
		}
		return http.StatusOK, jsonType, mustJSON(body), nil, &pageKey{endpoint, q.user, offset}
	}
	q, problems := parseLookupQuery(r.URL.RawQuery)
	if len(problems) > 0 {
		return invalid(problems)
	}
	ids := dedupe(q.ids)
	return http.StatusOK, jsonType, mustJSON(s.lookup(ids, q)), ids, nil
}

// invalidRequest is X's 400 body.
type invalidRequest struct {
	Errors []*paramError `json:"errors"`
	Title  string        `json:"title"`
	Detail string        `json:"detail"`
	Type   string        `json:"type"`
}

// lookupBody is X's 200 body for tweet lookup.
type lookupBody struct {
	Data     []sandboxTweet  `json:"data,omitempty"`
	Includes *includes       `json:"includes,omitempty"`
	Errors   []resourceError `json:"errors,omitempty"`
}

type includes struct {
	Users []sandboxUser `json:"users,omitempty"`
}

// resourceError is X's entry in "errors" for one missing tweet, its keys in
// X's order.
type resourceError struct {
	Value        string `json:"value"`
	Detail       string `json:"detail"`
	Title        string `json:"title"`
	ResourceType string `json:"resource_type"`
	Parameter    string `json:"parameter"`
	ResourceID   string `json:"resource_id"`
	Type         string `json:"type"`
}

// lookup answers a tweet lookup for ids (distinct, in the order asked).
// Expansions other than author_id are accepted and ignored, as are
// media.fields, poll.fields and place.fields.
func (s *Server) lookup(ids []uint64, q lookupQuery) lookupBody {
	var body lookupBody
	var authors []uint64
	for _, id := range ids {
		v := strconv.FormatUint(id, 10)
		switch {
		case Protected(id, s.missing):
			body.Errors = append(body.Errors, resourceError{
				Value:        v,
				Detail:       "Sorry, you are not authorized to see the Tweet with ids: [" + v + "].",
				Title:        "Authorization Error",
				ResourceType: "tweet",
				Parameter:    "ids",
				ResourceID:   v,
				Type:         "https://api.twitter.com/2/problems/not-authorized-for-resource",
			})
		case Missing(id, s.missing):
			body.Errors = append(body.Errors, resourceError{
				Value:        v,
				Detail:       "Could not find tweet with ids: [" + v + "].",
				Title:        "Not Found Error",
				ResourceType: "tweet",
				Parameter:    "ids",
				ResourceID:   v,
				Type:         "https://api.twitter.com/2/problems/resource-not-found",
			})
		default:
			body.Data = append(body.Data, s.tweet(id, q.tweetFields))
			if a := authorOf(id); !slices.Contains(authors, a) {
				authors = append(authors, a)
			}
		}
	}
	if q.expansions["author_id"] && len(authors) > 0 {
		body.Includes = &includes{}
		for _, a := range authors {
			body.Includes.Users = append(body.Includes.Users, makeUser(a, q.userFields))
		}
	}
	return body
}

// dedupe returns ids without repeats, in order of first appearance.
func dedupe(ids []uint64) []uint64 {
	out := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// mustJSON encodes v as an upstream would, without Go's HTML escaping:
// JSON does not ask for it, so a text of [Config.Texts] holding markup
// reaches pacer as the characters themselves, the harder case for a page.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the sandbox's own types are marshalled; they always encode.
		panic("sandbox: marshal response: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// serveSandbox serves the sandbox's own endpoints, which take no token and
// use no quota.
func (s *Server) serveSandbox(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sandbox/stats" {
		write(w, http.StatusNotFound, problemType, []byte(notFoundBody))
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		write(w, http.StatusMethodNotAllowed, problemType, []byte(notAllowedBody))
		return
	}
	st := s.Stats()
	labelled := make(map[string]TokenStats, len(st.Tokens))
	for t, ts := range st.Tokens {
		labelled[TokenLabel(t)] = ts
	}
	st.Tokens = labelled
	write(w, http.StatusOK, jsonType, mustJSON(st))
}
