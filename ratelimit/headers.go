package ratelimit

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxHorizon bounds every reset, window and Retry-After an upstream may name.
// A time further away is garbage (often milliseconds sent where seconds were
// meant), and honouring it would park a job for years.
const maxHorizon = 366 * 24 * time.Hour

// maxCount bounds limits and remaining counts. No upstream grants a billion
// requests per window; a bigger number is garbage.
const maxCount = 1_000_000_000

// Observation is what one upstream response says about its quota.
//
// Observe fills the quota fields from one header dialect only, so that a
// limit never comes from one quota and the remaining count from another.
// The zero Observation is not what Observe returns for a response that says
// nothing: its Remaining of 0 claims an exhausted quota.
type Observation struct {
	Limit      int           // requests per window; 0 when not said
	Remaining  int           // requests left in the window; -1 when not said
	Reset      time.Time     // when the window resets, on the local clock; zero when not said
	Window     time.Duration // the window's length, from RateLimit-Policy's w= (or the structured field); 0 when not said
	RetryAfter time.Time     // from Retry-After, on the local clock; zero when absent
	Throttled  bool          // the response refused the request for its rate: 429; 403 with remaining 0 or Retry-After; 503 with Retry-After
}

// Observe reads resp's status and headers at local time now. A nil resp
// says nothing.
//
// It reads three dialects and uses the first that says anything, in this
// order: X's x-rate-limit-*, GitHub's x-ratelimit-* (deriving remaining from
// x-ratelimit-used when needed), then the IETF draft's RateLimit-Limit,
// RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy and structured
// RateLimit fields. Retry-After is always read. A value that is not a
// number, is negative, or names a time more than a year away is ignored,
// leaving that field unset; the rest of the observation stands.
//
// Epoch resets are judged against the response's Date header, so a skewed
// local clock neither waits too long nor starts too early: the returned
// Reset is now plus (reset − Date). Without a parseable Date the epoch is
// taken as is. Delta resets count from now. A reset in the past becomes now.
//
// Throttled is set for 429; for 403 when the quota's remaining count is 0
// or a valid Retry-After came with it (GitHub's secondary limits send 403
// with retry-after while the primary quota still has room); and for 503
// with a valid Retry-After.
func Observe(resp *http.Response, now time.Time) Observation {
	o := Observation{Remaining: -1}
	if resp == nil {
		return o
	}
	h := resp.Header
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		date = time.Time{}
	}
	if v := h.Get("Retry-After"); v != "" {
		if t, err := ParseRetryAfter(v, date, now); err == nil {
			o.RetryAfter = t
		}
	}

	q, ok := epochQuota(h, "X-Rate-Limit-", date, now)
	if !ok {
		q, ok = epochQuota(h, "X-Ratelimit-", date, now)
	}
	if !ok {
		q = ietfQuota(h, now)
	}
	o.Limit, o.Remaining, o.Reset, o.Window = q.limit, q.remaining, q.reset, q.window

	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		o.Throttled = true
	case http.StatusForbidden:
		o.Throttled = o.Remaining == 0 || !o.RetryAfter.IsZero()
	case http.StatusServiceUnavailable:
		o.Throttled = !o.RetryAfter.IsZero()
	}
	return o
}

// Until is when the quota has room again according to o: for a throttled
// response the later of RetryAfter and Reset (zero if neither is known),
// except that RetryAfter alone counts when Remaining is above 0; for
// Remaining == 0, Reset; otherwise zero, meaning o gives no reason to wait.
// A zero result for a throttled o leaves the wait to the caller's backoff.
func (o Observation) Until() time.Time {
	switch {
	case o.Throttled && o.Remaining > 0 && !o.RetryAfter.IsZero():
		// The quota still has room, so the refusal came from another
		// limit (GitHub's secondary limits, X's per-second caps) and Reset
		// is not what ends it: GitHub documents waiting Retry-After alone,
		// and Reset can be an hour away.
		return o.RetryAfter
	case o.Throttled:
		if o.RetryAfter.After(o.Reset) {
			return o.RetryAfter
		}
		return o.Reset
	case o.Remaining == 0:
		return o.Reset
	}
	return time.Time{}
}

// Known reports whether o says anything (any field set): false for what
// Observe returns from a response without rate-limit headers, Retry-After
// or a throttling status.
func (o Observation) Known() bool {
	return o.Limit != 0 || o.Remaining != -1 || !o.Reset.IsZero() || o.Window != 0 ||
		!o.RetryAfter.IsZero() || o.Throttled
}

// ParseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date.
// Returns the local time it names, judged against date (the response's Date
// header, zero when absent) so that a skewed local clock does no harm: an
// HTTP-date names now + (value − date) when date is set, the value as is
// otherwise. Delta-seconds count from now; a fraction of a second is
// accepted. A time in the past is returned as now.
//
// Returns an error when value is empty, is neither form, is negative, or
// names a time more than a year away.
func ParseRetryAfter(value string, date, now time.Time) (time.Time, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return time.Time{}, fmt.Errorf("retry-after is empty")
	}
	if isDigit(v[0]) {
		d, ok := parseDelta(v)
		if !ok {
			return time.Time{}, fmt.Errorf("retry-after %q: want delta-seconds within a year", value)
		}
		return now.Add(d), nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		// err names only the last layout http.ParseTime tried, so it
		// would mislead more than help.
		return time.Time{}, fmt.Errorf("retry-after %q: want delta-seconds or an HTTP-date", value)
	}
	if !date.IsZero() {
		t = now.Add(t.Sub(date))
	}
	if t.Sub(now) > maxHorizon {
		return time.Time{}, fmt.Errorf("retry-after %q: more than a year away", value)
	}
	return notBefore(t, now), nil
}

// reading is one dialect's reading of limit, remaining, reset and window.
type reading struct {
	limit     int
	remaining int
	reset     time.Time
	window    time.Duration
}

// epochQuota reads the X (prefix "X-Rate-Limit-") or GitHub
// ("X-Ratelimit-") dialect: counts and a reset in Unix epoch seconds. It
// reports whether any of the fields held a valid value. Only GitHub sends
// x-ratelimit-used, so reading it under X's prefix finds nothing.
func epochQuota(h http.Header, prefix string, date, now time.Time) (reading, bool) {
	q := reading{remaining: -1}
	limit, haveLimit := parseCount(firstMember(h, prefix+"Limit"))
	if haveLimit {
		q.limit = limit
	}
	if n, ok := parseCount(firstMember(h, prefix+"Remaining")); ok {
		q.remaining = n
	} else if used, ok := parseCount(firstMember(h, prefix+"Used")); ok && haveLimit && used <= limit {
		q.remaining = limit - used
	}
	reset, haveReset := epochReset(firstMember(h, prefix+"Reset"), date, now)
	if haveReset {
		q.reset = reset
	}
	return q, haveLimit || q.remaining >= 0 || haveReset
}

// epochReset turns a reset in Unix epoch seconds into local time, judged
// against date when it is set. A reset more than a year from date (or now)
// in either direction is garbage; one in the recent past is now.
func epochReset(s string, date, now time.Time) (time.Time, bool) {
	// Twelve digits reach the year 33658; epochs in milliseconds have 13.
	if s == "" || len(s) > 12 || !allDigits(s) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ahead time.Duration
	if !date.IsZero() {
		// Both are within ±1e12 seconds, so neither this difference nor
		// the comparison below overflows.
		delta := sec - date.Unix()
		if delta > int64(maxHorizon/time.Second) || -delta > int64(maxHorizon/time.Second) {
			return time.Time{}, false
		}
		ahead = time.Duration(delta) * time.Second
	} else {
		ahead = time.Unix(sec, 0).Sub(now) // saturates rather than overflows
		if ahead > maxHorizon || -ahead > maxHorizon {
			return time.Time{}, false
		}
	}
	return notBefore(now.Add(ahead), now), true
}

// ietfQuota reads the IETF draft's fields, both the older RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset (delta seconds) with
// RateLimit-Policy "100;w=60", and the newer structured RateLimit
// ("default";r=50;t=30) with RateLimit-Policy ("default";q=100;w=60). The
// older separate fields win over the structured one where both are sent.
func ietfQuota(h http.Header, now time.Time) reading {
	q := reading{remaining: -1}
	haveLimit := false

	limits := headerMembers(h, "Ratelimit-Limit")
	if len(limits) > 0 {
		q.limit, haveLimit = parseCount(limits[0].bare)
	}
	if rem := headerMembers(h, "Ratelimit-Remaining"); len(rem) > 0 {
		if n, ok := parseCount(rem[0].bare); ok {
			q.remaining = n
		}
	}
	if rst := headerMembers(h, "Ratelimit-Reset"); len(rst) > 0 {
		if d, ok := parseDelta(rst[0].bare); ok {
			q.reset = now.Add(d)
		}
	}

	cur, haveCur := bindingMember(headerMembers(h, "Ratelimit"))
	if haveCur {
		if n, ok := parseCount(cur.param("r", "remaining")); ok && q.remaining < 0 {
			q.remaining = n
		}
		if d, ok := parseDelta(cur.param("t", "reset")); ok && q.reset.IsZero() {
			q.reset = now.Add(d)
		}
		if n, ok := parseCount(cur.params["limit"]); ok && !haveLimit {
			q.limit, haveLimit = n, true
		}
	}

	policies := headerMembers(h, "Ratelimit-Policy")
	if len(policies) == 0 && len(limits) > 1 {
		// The first drafts listed the policies after the limit itself:
		// "RateLimit-Limit: 100, 100;w=60, 1000;w=3600".
		policies = limits[1:]
	}
	if p, ok := pickPolicy(policies, cur.name(), q.limit, haveLimit); ok {
		if n, ok := parseCount(p.quota()); ok && !haveLimit {
			q.limit = n
		}
		if d, ok := parseDelta(p.params["w"]); ok && d > 0 {
			q.window = d
		}
	}
	return q
}

// bindingMember picks, from the members of a structured RateLimit field,
// the one that binds: the fewest requests remaining, and of those the
// latest reset. Sending because the first of several quotas has room while
// another is exhausted only earns a 429. draft-07's dictionary form
// ("RateLimit: limit=100, remaining=50, reset=30") is folded into one member
// with those keys as parameters.
func bindingMember(ms []member) (member, bool) {
	dict := member{params: map[string]string{}}
	for _, m := range ms {
		switch m.bare {
		case "limit", "remaining", "reset":
			if !m.quoted {
				dict.params[m.bare] = m.value
			}
		}
	}
	if len(dict.params) > 0 {
		return dict, true
	}
	var best member
	var bestR int
	var bestT time.Duration
	found := false
	for _, m := range ms {
		r, ok := parseCount(m.params["r"])
		if !ok {
			continue
		}
		t, _ := parseDelta(m.params["t"])
		if !found || r < bestR || r == bestR && t > bestT {
			best, bestR, bestT, found = m, r, t, true
		}
	}
	return best, found
}

// pickPolicy chooses among RateLimit-Policy members: the one named like the
// binding RateLimit member, else the first whose quota equals the limit,
// else the first.
func pickPolicy(ps []member, name string, limit int, haveLimit bool) (member, bool) {
	if len(ps) == 0 {
		return member{}, false
	}
	if name != "" {
		for _, p := range ps {
			if p.name() == name {
				return p, true
			}
		}
	}
	if haveLimit {
		for _, p := range ps {
			if n, ok := parseCount(p.quota()); ok && n == limit {
				return p, true
			}
		}
	}
	return ps[0], true
}

// member is one member of a comma-separated header list, read leniently as
// an older draft's "100;w=60", a structured-field item "default";q=100 or
// token item burst;q=100, or a dictionary member remaining=50.
type member struct {
	bare   string            // the item (or dictionary key), unquoted
	quoted bool              // bare was a quoted string
	value  string            // a dictionary member's value, after "="
	params map[string]string // parameters by lower-case key, values unquoted
}

// name is the policy name the member carries, if it is not a bare number.
func (m member) name() string {
	if m.quoted || m.bare != "" && !allDigits(m.bare) {
		return m.bare
	}
	return ""
}

// quota is a policy's quota: the bare number of the older drafts or q=.
func (m member) quota() string {
	if !m.quoted && allDigits(m.bare) && m.bare != "" {
		return m.bare
	}
	return m.params["q"]
}

// param returns the parameter named short (draft-08 on), else long
// (draft-07's dictionary keys).
func (m member) param(short, long string) string {
	if v, ok := m.params[short]; ok {
		return v
	}
	return m.params[long]
}

// headerMembers splits every value of the named header into list members.
func headerMembers(h http.Header, name string) []member {
	var ms []member
	for _, v := range h.Values(name) {
		for _, s := range splitUnquoted(v, ',') {
			if s = strings.TrimSpace(s); s != "" {
				ms = append(ms, parseMember(s))
			}
		}
	}
	return ms
}

func parseMember(s string) member {
	parts := splitUnquoted(s, ';')
	var m member
	head := strings.TrimSpace(parts[0])
	if strings.HasPrefix(head, `"`) {
		m.bare, m.quoted = unquote(head), true
	} else if k, v, ok := strings.Cut(head, "="); ok {
		m.bare, m.value = strings.ToLower(strings.TrimSpace(k)), unquote(strings.TrimSpace(v))
	} else {
		m.bare = head
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			if m.params == nil {
				m.params = map[string]string{}
			}
			m.params[k] = unquote(strings.TrimSpace(v))
		}
	}
	return m
}

// splitUnquoted splits s at each sep that is not inside a quoted string.
func splitUnquoted(s string, sep byte) []string {
	var parts []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote strips a structured-field string's quotes and escapes; anything
// else is returned as is.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// firstMember returns the first comma-separated member of the named
// header, trimmed: a proxy that merges duplicate headers sends "10, 10".
func firstMember(h http.Header, name string) string {
	v, _, _ := strings.Cut(h.Get(name), ",")
	return strings.TrimSpace(v)
}

// parseCount reads a non-negative decimal count no larger than maxCount.
func parseCount(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxCount {
		return 0, false
	}
	return n, true
}

// parseDelta reads non-negative decimal seconds, "30" or "1.5", up to
// maxHorizon. Digits past the nanosecond are dropped.
func parseDelta(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || !allDigits(whole) || hasFrac && (frac == "" || !allDigits(frac)) {
		return 0, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec > int64(maxHorizon/time.Second) {
		return 0, false
	}
	d := time.Duration(sec) * time.Second
	for i, scale := 0, 100*time.Millisecond; i < len(frac) && scale > 0; i, scale = i+1, scale/10 {
		d += time.Duration(frac[i]-'0') * scale
	}
	if d > maxHorizon {
		return 0, false
	}
	return d, true
}

// notBefore returns t, or now when t is earlier.
func notBefore(t, now time.Time) time.Time {
	if t.Before(now) {
		return now
	}
	return t
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
