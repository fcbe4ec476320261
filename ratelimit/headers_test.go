package ratelimit_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
)

// obsNow is the local clock in these tests: Fri, 14 Mar 2025 12:00:00 GMT,
// Unix 1741953600.
func obsNow() time.Time { return time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC) }

// obsEpoch is obsNow()+d in Unix epoch seconds, as X and GitHub send resets.
func obsEpoch(d time.Duration) string { return strconv.FormatInt(obsNow().Add(d).Unix(), 10) }

// obsResponse builds a response from name, value pairs. Header.Add
// canonicalizes the names, as net/http does for a real response.
func obsResponse(tb testing.TB, status int, body string, kv ...string) *http.Response {
	tb.Helper()
	if len(kv)%2 != 0 {
		tb.Fatalf("obsResponse: odd header list %q", kv)
	}
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

// observationDiff describes how got differs from want, comparing times with
// Equal; "" when they match.
func observationDiff(got, want ratelimit.Observation) string {
	var d []string
	if got.Limit != want.Limit {
		d = append(d, fmt.Sprintf("Limit = %d, want %d", got.Limit, want.Limit))
	}
	if got.Remaining != want.Remaining {
		d = append(d, fmt.Sprintf("Remaining = %d, want %d", got.Remaining, want.Remaining))
	}
	if !got.Reset.Equal(want.Reset) {
		d = append(d, fmt.Sprintf("Reset = %v, want %v", got.Reset, want.Reset))
	}
	if got.Window != want.Window {
		d = append(d, fmt.Sprintf("Window = %v, want %v", got.Window, want.Window))
	}
	if !got.RetryAfter.Equal(want.RetryAfter) {
		d = append(d, fmt.Sprintf("RetryAfter = %v, want %v", got.RetryAfter, want.RetryAfter))
	}
	if got.Throttled != want.Throttled {
		d = append(d, fmt.Sprintf("Throttled = %v, want %v", got.Throttled, want.Throttled))
	}
	return strings.Join(d, "; ")
}

const xRateLimitBody = `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`

func TestObserve(t *testing.T) {
	t.Parallel()
	now := obsNow()
	date := now.Format(http.TimeFormat)
	at := func(d time.Duration) time.Time { return now.Add(d) }

	tests := []struct {
		name   string
		status int
		body   string
		header []string
		want   ratelimit.Observation
	}{
		// X API v2.
		{
			name:   "x 200",
			status: 200,
			header: []string{"Date", date, "Content-Type", "application/json; charset=utf-8",
				"x-rate-limit-limit", "900", "x-rate-limit-remaining", "897", "x-rate-limit-reset", obsEpoch(14*time.Minute + 31*time.Second),
				"x-response-time", "112", "x-transaction-id", "9c1a7e3f5b2d4a61"},
			want: ratelimit.Observation{Limit: 900, Remaining: 897, Reset: at(14*time.Minute + 31*time.Second)},
		},
		{
			name:   "x 429 code 88",
			status: 429,
			body:   xRateLimitBody,
			header: []string{"Date", date, "x-rate-limit-limit", "900", "x-rate-limit-remaining", "0", "x-rate-limit-reset", obsEpoch(7*time.Minute + 12*time.Second)},
			want:   ratelimit.Observation{Limit: 900, Remaining: 0, Reset: at(7*time.Minute + 12*time.Second), Throttled: true},
		},
		{
			name:   "x 429 with room left (per-second cap)",
			status: 429,
			body:   xRateLimitBody,
			header: []string{"Date", date, "x-rate-limit-limit", "300", "x-rate-limit-remaining", "211", "x-rate-limit-reset", obsEpoch(11 * time.Minute)},
			want:   ratelimit.Observation{Limit: 300, Remaining: 211, Reset: at(11 * time.Minute), Throttled: true},
		},
		{
			name:   "x reset already past is now",
			status: 200,
			header: []string{"Date", date, "x-rate-limit-limit", "900", "x-rate-limit-remaining", "0", "x-rate-limit-reset", obsEpoch(-3 * time.Second)},
			want:   ratelimit.Observation{Limit: 900, Remaining: 0, Reset: now},
		},

		// GitHub REST.
		{
			name:   "github 200",
			status: 200,
			header: []string{"Date", date, "x-github-request-id", "C2A4:1F3E:8B1D2A:8E5F11:67D41A20",
				"x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4987", "x-ratelimit-reset", obsEpoch(41 * time.Minute),
				"x-ratelimit-used", "13", "x-ratelimit-resource", "core"},
			want: ratelimit.Observation{Limit: 5000, Remaining: 4987, Reset: at(41 * time.Minute)},
		},
		{
			name:   "github 403 primary limit exhausted",
			status: 403,
			body:   `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`,
			header: []string{"Date", date, "x-ratelimit-limit", "5000", "x-ratelimit-remaining", "0",
				"x-ratelimit-reset", obsEpoch(23 * time.Minute), "x-ratelimit-used", "5000", "x-ratelimit-resource", "core"},
			want: ratelimit.Observation{Limit: 5000, Remaining: 0, Reset: at(23 * time.Minute), Throttled: true},
		},
		{
			name:   "github 403 secondary limit with retry-after",
			status: 403,
			body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`,
			header: []string{"Date", date, "retry-after", "60", "x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4990",
				"x-ratelimit-reset", obsEpoch(52 * time.Minute), "x-ratelimit-used", "10", "x-ratelimit-resource", "core"},
			want: ratelimit.Observation{Limit: 5000, Remaining: 4990, Reset: at(52 * time.Minute), RetryAfter: at(time.Minute), Throttled: true},
		},
		{
			name:   "github 403 not about rate",
			status: 403,
			body:   `{"message":"Resource not accessible by integration"}`,
			header: []string{"Date", date, "x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4999", "x-ratelimit-reset", obsEpoch(time.Hour)},
			want:   ratelimit.Observation{Limit: 5000, Remaining: 4999, Reset: at(time.Hour)},
		},
		{
			name:   "github 429 exhausted",
			status: 429,
			header: []string{"Date", date, "x-ratelimit-limit", "60", "x-ratelimit-remaining", "0", "x-ratelimit-reset", obsEpoch(30 * time.Minute), "x-ratelimit-used", "60"},
			want:   ratelimit.Observation{Limit: 60, Remaining: 0, Reset: at(30 * time.Minute), Throttled: true},
		},
		{
			name:   "github remaining from used",
			status: 200,
			header: []string{"Date", date, "x-ratelimit-limit", "60", "x-ratelimit-used", "58", "x-ratelimit-reset", obsEpoch(time.Minute)},
			want:   ratelimit.Observation{Limit: 60, Remaining: 2, Reset: at(time.Minute)},
		},
		{
			name:   "github used above limit is ignored",
			status: 200,
			header: []string{"x-ratelimit-limit", "60", "x-ratelimit-used", "61"},
			want:   ratelimit.Observation{Limit: 60, Remaining: -1},
		},

		// IETF draft, older separate fields.
		{
			name:   "ietf old style",
			status: 200,
			header: []string{"RateLimit-Limit", "100", "RateLimit-Remaining", "50", "RateLimit-Reset", "30", "RateLimit-Policy", "100;w=60"},
			want:   ratelimit.Observation{Limit: 100, Remaining: 50, Reset: at(30 * time.Second), Window: time.Minute},
		},
		{
			name:   "ietf old style, policy matching the limit",
			status: 200,
			header: []string{"RateLimit-Limit", "1000", "RateLimit-Remaining", "999", "RateLimit-Reset", "3599", "RateLimit-Policy", "100;w=60, 1000;w=3600"},
			want:   ratelimit.Observation{Limit: 1000, Remaining: 999, Reset: at(3599 * time.Second), Window: time.Hour},
		},
		{
			name:   "ietf old style, no policy matches: the first",
			status: 200,
			header: []string{"RateLimit-Limit", "500", "RateLimit-Policy", "100;w=60", "RateLimit-Policy", "1000;w=3600"},
			want:   ratelimit.Observation{Limit: 500, Remaining: -1, Window: time.Minute},
		},
		{
			name:   "ietf first drafts list policies in the limit",
			status: 200,
			header: []string{"RateLimit-Limit", "10, 10;w=1, 50;w=60", "RateLimit-Remaining", "9", "RateLimit-Reset", "1"},
			want:   ratelimit.Observation{Limit: 10, Remaining: 9, Reset: at(time.Second), Window: time.Second},
		},
		{
			name:   "ietf lower-case names and whitespace",
			status: 200,
			header: []string{"ratelimit-limit", " 100 ", "ratelimit-remaining", "\t7", "ratelimit-reset", "12 ", "ratelimit-policy", " 100 ; w = 60 "},
			want:   ratelimit.Observation{Limit: 100, Remaining: 7, Reset: at(12 * time.Second), Window: time.Minute},
		},
		{
			name:   "ietf 429",
			status: 429,
			header: []string{"RateLimit-Limit", "100", "RateLimit-Remaining", "0", "RateLimit-Reset", "48", "RateLimit-Policy", "100;w=60"},
			want:   ratelimit.Observation{Limit: 100, Remaining: 0, Reset: at(48 * time.Second), Window: time.Minute, Throttled: true},
		},

		// IETF draft, structured fields.
		{
			name:   "ietf structured",
			status: 200,
			header: []string{"RateLimit-Policy", `"default";q=100;w=60`, "RateLimit", `"default";r=50;t=30`},
			want:   ratelimit.Observation{Limit: 100, Remaining: 50, Reset: at(30 * time.Second), Window: time.Minute},
		},
		{
			name:   "ietf structured, the exhausted quota binds",
			status: 429,
			header: []string{"RateLimit-Policy", `"burst";q=100;w=60, "daily";q=1000;w=86400`, "RateLimit", `"burst";r=40;t=20, "daily";r=0;t=7200`},
			want:   ratelimit.Observation{Limit: 1000, Remaining: 0, Reset: at(2 * time.Hour), Window: 24 * time.Hour, Throttled: true},
		},
		{
			name:   "ietf structured with partition key",
			status: 200,
			header: []string{"RateLimit-Policy", `"peruser";q=500;w=3600;pk=:cHsdsRa894==:`, "RateLimit", `"peruser";r=499;t=3599;pk=:cHsdsRa894==:`},
			want:   ratelimit.Observation{Limit: 500, Remaining: 499, Reset: at(3599 * time.Second), Window: time.Hour},
		},
		{
			name:   "ietf draft-07 dictionary",
			status: 200,
			header: []string{"RateLimit", "limit=100, remaining=50, reset=30", "RateLimit-Policy", "100;w=60"},
			want:   ratelimit.Observation{Limit: 100, Remaining: 50, Reset: at(30 * time.Second), Window: time.Minute},
		},

		// Precedence: X, then GitHub, then IETF; one dialect per observation.
		{
			name:   "x wins over github and ietf",
			status: 200,
			header: []string{"Date", date, "x-rate-limit-limit", "900", "x-rate-limit-remaining", "10", "x-rate-limit-reset", obsEpoch(time.Minute),
				"x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4000", "x-ratelimit-reset", obsEpoch(time.Hour),
				"RateLimit-Limit", "100", "RateLimit-Remaining", "1", "RateLimit-Reset", "5", "RateLimit-Policy", "100;w=60"},
			want: ratelimit.Observation{Limit: 900, Remaining: 10, Reset: at(time.Minute)},
		},
		{
			name:   "github wins over ietf",
			status: 200,
			header: []string{"Date", date, "x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4000", "x-ratelimit-reset", obsEpoch(time.Hour),
				"RateLimit-Limit", "100", "RateLimit-Remaining", "1", "RateLimit-Reset", "5"},
			want: ratelimit.Observation{Limit: 5000, Remaining: 4000, Reset: at(time.Hour)},
		},
		{
			name:   "garbage x falls through to github",
			status: 200,
			header: []string{"Date", date, "x-rate-limit-limit", "lots", "x-rate-limit-remaining", "-3", "x-rate-limit-reset", "soon",
				"x-ratelimit-limit", "5000", "x-ratelimit-remaining", "4000", "x-ratelimit-reset", obsEpoch(time.Hour)},
			want: ratelimit.Observation{Limit: 5000, Remaining: 4000, Reset: at(time.Hour)},
		},

		// Retry-After and status.
		{
			name:   "503 with retry-after is throttled",
			status: 503,
			header: []string{"Date", date, "Retry-After", "120"},
			want:   ratelimit.Observation{Remaining: -1, RetryAfter: at(2 * time.Minute), Throttled: true},
		},
		{
			name:   "503 without retry-after is not",
			status: 503,
			header: []string{"Date", date},
			want:   ratelimit.Observation{Remaining: -1},
		},
		{
			name:   "503 with garbage retry-after is not",
			status: 503,
			header: []string{"Retry-After", "later"},
			want:   ratelimit.Observation{Remaining: -1},
		},
		{
			name:   "429 with retry-after http-date",
			status: 429,
			header: []string{"Date", date, "Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat)},
			want:   ratelimit.Observation{Remaining: -1, RetryAfter: at(90 * time.Second), Throttled: true},
		},
		{
			name:   "429 with nothing else",
			status: 429,
			want:   ratelimit.Observation{Remaining: -1, Throttled: true},
		},
		{
			name:   "200 says nothing",
			status: 200,
			header: []string{"Date", date, "Content-Type", "application/json"},
			want:   ratelimit.Observation{Remaining: -1},
		},

		// Garbage is ignored field by field.
		{
			name:   "garbage counts",
			status: 200,
			header: []string{"x-rate-limit-limit", "1e3", "x-rate-limit-remaining", "+5", "x-rate-limit-reset", obsEpoch(time.Minute), "Date", date},
			want:   ratelimit.Observation{Remaining: -1, Reset: at(time.Minute)},
		},
		{
			name:   "absurd counts",
			status: 200,
			header: []string{"x-rate-limit-limit", "99999999999999999999", "x-rate-limit-remaining", "12.5", "x-rate-limit-reset", obsEpoch(time.Minute), "Date", date},
			want:   ratelimit.Observation{Remaining: -1, Reset: at(time.Minute)},
		},
		{
			name:   "reset more than a year away",
			status: 200,
			header: []string{"Date", date, "x-rate-limit-limit", "900", "x-rate-limit-remaining", "1", "x-rate-limit-reset", obsEpoch(400 * 24 * time.Hour)},
			want:   ratelimit.Observation{Limit: 900, Remaining: 1},
		},
		{
			name:   "reset in milliseconds",
			status: 200,
			header: []string{"Date", date, "x-ratelimit-limit", "60", "x-ratelimit-remaining", "1", "x-ratelimit-reset", obsEpoch(time.Minute) + "000"},
			want:   ratelimit.Observation{Limit: 60, Remaining: 1},
		},
		{
			name:   "reset of zero",
			status: 200,
			header: []string{"x-ratelimit-limit", "60", "x-ratelimit-remaining", "1", "x-ratelimit-reset", "0"},
			want:   ratelimit.Observation{Limit: 60, Remaining: 1},
		},
		{
			name:   "ietf reset given as an epoch",
			status: 200,
			header: []string{"RateLimit-Limit", "100", "RateLimit-Remaining", "3", "RateLimit-Reset", obsEpoch(time.Minute)},
			want:   ratelimit.Observation{Limit: 100, Remaining: 3},
		},
		{
			name:   "ietf garbage policy and negative reset",
			status: 200,
			header: []string{"RateLimit-Limit", "100", "RateLimit-Reset", "-5", "RateLimit-Policy", "100;w=soon, ;;, \"x\";q=-1;w=0"},
			want:   ratelimit.Observation{Limit: 100, Remaining: -1},
		},
		{
			name:   "merged duplicate headers",
			status: 200,
			header: []string{"Date", date, "x-rate-limit-limit", "900, 900", "x-rate-limit-remaining", "5,5", "x-rate-limit-reset", obsEpoch(time.Minute)},
			want:   ratelimit.Observation{Limit: 900, Remaining: 5, Reset: at(time.Minute)},
		},
		{
			name:   "unparseable date: epoch taken as is",
			status: 200,
			header: []string{"Date", "yesterday", "x-rate-limit-limit", "900", "x-rate-limit-remaining", "5", "x-rate-limit-reset", obsEpoch(time.Minute)},
			want:   ratelimit.Observation{Limit: 900, Remaining: 5, Reset: at(time.Minute)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ratelimit.Observe(obsResponse(t, tc.status, tc.body, tc.header...), now)
			if d := observationDiff(got, tc.want); d != "" {
				t.Errorf("Observe: %s", d)
			}
		})
	}
}

func TestObserveNil(t *testing.T) {
	t.Parallel()
	o := ratelimit.Observe(nil, obsNow())
	if d := observationDiff(o, ratelimit.Observation{Remaining: -1}); d != "" {
		t.Errorf("Observe(nil): %s", d)
	}
	if o.Known() {
		t.Error("Observe(nil).Known() = true")
	}
}

// TestObserveDateSkew checks that an epoch reset or Retry-After date names
// the same wait whether the local clock is right, ahead or behind: what
// counts is the distance from the response's Date.
func TestObserveDateSkew(t *testing.T) {
	t.Parallel()
	upstream := obsNow() // the upstream's clock, taken as true
	tests := []struct {
		name string
		skew time.Duration // local clock minus upstream clock
	}{
		{"in step", 0},
		{"local 5m ahead", 5 * time.Minute},
		{"local 5m behind", -5 * time.Minute},
		{"local 1h ahead", time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			local := upstream.Add(tc.skew)
			resp := obsResponse(t, 429, xRateLimitBody,
				"Date", upstream.Format(http.TimeFormat),
				"x-rate-limit-limit", "900", "x-rate-limit-remaining", "0",
				"x-rate-limit-reset", strconv.FormatInt(upstream.Add(10*time.Minute).Unix(), 10),
				"Retry-After", upstream.Add(12*time.Minute).Format(http.TimeFormat))
			o := ratelimit.Observe(resp, local)
			if got := o.Reset.Sub(local); got != 10*time.Minute {
				t.Errorf("Reset - now = %v, want 10m0s", got)
			}
			if got := o.RetryAfter.Sub(local); got != 12*time.Minute {
				t.Errorf("RetryAfter - now = %v, want 12m0s", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := obsNow()
	upstream := now.Add(-5 * time.Minute) // the local clock is 5 minutes ahead
	tests := []struct {
		name  string
		value string
		date  time.Time
		want  time.Duration // from now
		ok    bool
	}{
		{"seconds", "120", time.Time{}, 2 * time.Minute, true},
		{"seconds ignore date", "120", upstream, 2 * time.Minute, true},
		{"seconds with whitespace", " 30\t", time.Time{}, 30 * time.Second, true},
		{"zero", "0", time.Time{}, 0, true},
		{"fraction", "1.5", time.Time{}, 1500 * time.Millisecond, true},
		{"leading zeros", "0060", time.Time{}, time.Minute, true},
		{"a year", "31622400", time.Time{}, 366 * 24 * time.Hour, true},
		{"imf-fixdate against date", upstream.Add(90 * time.Second).Format(http.TimeFormat), upstream, 90 * time.Second, true},
		{"imf-fixdate without date", now.Add(90 * time.Second).Format(http.TimeFormat), time.Time{}, 90 * time.Second, true},
		{"rfc 850", "Friday, 14-Mar-25 12:01:00 GMT", time.Time{}, time.Minute, true},
		{"asctime", "Fri Mar 14 12:02:00 2025", time.Time{}, 2 * time.Minute, true},
		{"date in the past is now", "Fri, 14 Mar 2025 11:00:00 GMT", time.Time{}, 0, true},
		{"epoch date means now", "Thu, 01 Jan 1970 00:00:00 GMT", time.Time{}, 0, true},
		{"empty", "", time.Time{}, 0, false},
		{"blank", "   ", time.Time{}, 0, false},
		{"words", "soon", time.Time{}, 0, false},
		{"negative", "-1", time.Time{}, 0, false},
		{"plus sign", "+5", time.Time{}, 0, false},
		{"exponent", "1e3", time.Time{}, 0, false},
		{"trailing dot", "5.", time.Time{}, 0, false},
		{"unit", "30s", time.Time{}, 0, false},
		{"more than a year", "31622401", time.Time{}, 0, false},
		{"overflow", "99999999999999999999999", time.Time{}, 0, false},
		{"far date", "Fri, 31 Dec 9999 23:59:59 GMT", time.Time{}, 0, false},
		{"far date against date", "Fri, 31 Dec 9999 23:59:59 GMT", upstream, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ratelimit.ParseRetryAfter(tc.value, tc.date, now)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseRetryAfter(%q) error = %v, want ok=%v", tc.value, err, tc.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "retry-after") {
					t.Errorf("error %q does not say what it was parsing", err)
				}
				return
			}
			if d := got.Sub(now); d != tc.want {
				t.Errorf("ParseRetryAfter(%q) = now%+v, want now+%v", tc.value, d, tc.want)
			}
		})
	}
}

func TestObservationUntil(t *testing.T) {
	t.Parallel()
	now := obsNow()
	reset, retry := now.Add(10*time.Minute), now.Add(time.Minute)
	tests := []struct {
		name string
		o    ratelimit.Observation
		want time.Time
	}{
		{"room left", ratelimit.Observation{Limit: 900, Remaining: 5, Reset: reset}, time.Time{}},
		{"nothing said", ratelimit.Observation{Remaining: -1}, time.Time{}},
		{"exhausted", ratelimit.Observation{Limit: 900, Remaining: 0, Reset: reset}, reset},
		{"exhausted, reset unknown", ratelimit.Observation{Limit: 900, Remaining: 0}, time.Time{}},
		{"throttled, reset only", ratelimit.Observation{Remaining: 0, Reset: reset, Throttled: true}, reset},
		{"throttled, retry-after only", ratelimit.Observation{Remaining: -1, RetryAfter: retry, Throttled: true}, retry},
		{"throttled, reset later", ratelimit.Observation{Remaining: 0, Reset: reset, RetryAfter: retry, Throttled: true}, reset},
		{"throttled, retry-after later", ratelimit.Observation{Remaining: 0, Reset: retry, RetryAfter: reset, Throttled: true}, reset},
		{"throttled, remaining unknown: the later", ratelimit.Observation{Remaining: -1, Reset: reset, RetryAfter: retry, Throttled: true}, reset},
		{"throttled with room: retry-after alone", ratelimit.Observation{Limit: 5000, Remaining: 4990, Reset: reset, RetryAfter: retry, Throttled: true}, retry},
		{"throttled with room, no retry-after: reset", ratelimit.Observation{Limit: 300, Remaining: 211, Reset: reset, Throttled: true}, reset},
		{"throttled, nothing known", ratelimit.Observation{Remaining: -1, Throttled: true}, time.Time{}},
		{"retry-after without throttling", ratelimit.Observation{Remaining: 3, RetryAfter: retry}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.o.Until(); !got.Equal(tc.want) {
				t.Errorf("Until() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestObservationKnown(t *testing.T) {
	t.Parallel()
	now := obsNow()
	tests := []struct {
		name string
		o    ratelimit.Observation
		want bool
	}{
		{"nothing", ratelimit.Observation{Remaining: -1}, false},
		{"zero value claims remaining 0", ratelimit.Observation{}, true},
		{"limit", ratelimit.Observation{Limit: 1, Remaining: -1}, true},
		{"remaining", ratelimit.Observation{Remaining: 3}, true},
		{"reset", ratelimit.Observation{Remaining: -1, Reset: now}, true},
		{"window", ratelimit.Observation{Remaining: -1, Window: time.Minute}, true},
		{"retry-after", ratelimit.Observation{Remaining: -1, RetryAfter: now}, true},
		{"throttled", ratelimit.Observation{Remaining: -1, Throttled: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.o.Known(); got != tc.want {
				t.Errorf("Known() = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzObserve(f *testing.F) {
	date := obsNow().Format(http.TimeFormat)
	e := obsEpoch
	// status, Date, X limit/remaining/reset, GitHub limit/remaining/reset/used,
	// IETF limit/remaining/reset/policy, structured RateLimit, Retry-After.
	f.Add(200, date, "900", "897", e(14*time.Minute), "", "", "", "", "", "", "", "", "", "")
	f.Add(429, date, "900", "0", e(7*time.Minute), "", "", "", "", "", "", "", "", "", "")
	f.Add(403, date, "", "", "", "5000", "0", e(23*time.Minute), "5000", "", "", "", "", "", "")
	f.Add(403, date, "", "", "", "5000", "4990", e(52*time.Minute), "10", "", "", "", "", "", "60")
	f.Add(200, date, "", "", "", "60", "", e(time.Minute), "58", "", "", "", "", "", "")
	f.Add(200, "", "", "", "", "", "", "", "", "100", "50", "30", "100;w=60", "", "")
	f.Add(200, "", "", "", "", "", "", "", "", "10, 10;w=1, 50;w=60", "9", "1", "", "", "")
	f.Add(429, "", "", "", "", "", "", "", "", "", "", "", `"burst";q=100;w=60, "daily";q=1000;w=86400`, `"burst";r=40;t=20, "daily";r=0;t=7200`, "")
	f.Add(200, "", "", "", "", "", "", "", "", "", "", "", "100;w=60", "limit=100, remaining=50, reset=30", "")
	f.Add(503, date, "", "", "", "", "", "", "", "", "", "", "", "", "Fri, 14 Mar 2025 12:01:30 GMT")
	f.Add(429, "Thu, 01 Jan 1970 00:00:00 GMT", "1e3", "-1", "99999999999999", "x", "+5", "0", "9999999999", "", "", "-5", ";;,", `"\"`, "-1")
	f.Add(200, "Fri, 31 Dec 9999 23:59:59 GMT", "", "", e(time.Minute)+"000", "", "", "", "", "", "", "31622401", "1;w=31622401", `"a";r=1;t=1.`, "31622400")
	f.Fuzz(func(t *testing.T, status int, date, xLimit, xRem, xReset, ghLimit, ghRem, ghReset, ghUsed, limit, rem, reset, policy, rl, retryAfter string) {
		now := obsNow()
		h := http.Header{}
		for name, v := range map[string]string{
			"Date": date, "Retry-After": retryAfter,
			"X-Rate-Limit-Limit": xLimit, "X-Rate-Limit-Remaining": xRem, "X-Rate-Limit-Reset": xReset,
			"X-Ratelimit-Limit": ghLimit, "X-Ratelimit-Remaining": ghRem, "X-Ratelimit-Reset": ghReset, "X-Ratelimit-Used": ghUsed,
			"Ratelimit-Limit": limit, "Ratelimit-Remaining": rem, "Ratelimit-Reset": reset, "Ratelimit-Policy": policy, "Ratelimit": rl,
		} {
			if v != "" {
				h.Set(name, v)
			}
		}
		o := ratelimit.Observe(&http.Response{StatusCode: status, Header: h}, now)
		if o.Remaining < -1 || o.Limit < 0 || o.Window < 0 {
			t.Fatalf("Observe = %+v: negative count or window", o)
		}
		year := now.Add(366 * 24 * time.Hour)
		for name, v := range map[string]time.Time{"Reset": o.Reset, "RetryAfter": o.RetryAfter, "Until()": o.Until()} {
			if !v.IsZero() && (v.Before(now) || v.After(year)) {
				t.Fatalf("%s = %v, want zero or within a year from %v", name, v, now)
			}
		}
		if o.Throttled && status != 429 && status != 403 && status != 503 {
			t.Fatalf("Throttled for status %d", status)
		}
		if status == 429 && !o.Throttled {
			t.Fatal("429 not throttled")
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range [][2]string{
		{"120", ""},
		{"0", ""},
		{"1.5", ""},
		{"Fri, 14 Mar 2025 12:01:30 GMT", "Fri, 14 Mar 2025 11:56:00 GMT"},
		{"Friday, 14-Mar-25 12:01:00 GMT", ""},
		{"Fri Mar 14 12:02:00 2025", ""},
		{"Thu, 01 Jan 1970 00:00:00 GMT", ""},
		{"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"},
		{"-1", ""},
		{"99999999999999999999999", ""},
		{"31622400.999999999999", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, dateHeader string) {
		now := obsNow()
		date, err := http.ParseTime(dateHeader)
		if err != nil {
			date = time.Time{}
		}
		got, err := ratelimit.ParseRetryAfter(value, date, now)
		if err != nil {
			if !got.IsZero() {
				t.Fatalf("ParseRetryAfter(%q) = %v with error %v", value, got, err)
			}
			return
		}
		if got.Before(now) || got.After(now.Add(366*24*time.Hour)) {
			t.Fatalf("ParseRetryAfter(%q, %v) = %v, want within a year from %v", value, date, got, now)
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 32); err == nil && !got.Equal(now.Add(time.Duration(n)*time.Second)) {
			t.Fatalf("ParseRetryAfter(%q) = now+%v, want now+%ds", value, got.Sub(now), n)
		}
	})
}

func ExampleObserve() {
	// The local clock reads 12:00:00 but the upstream's Date says 12:05:00:
	// the reset it names, 12:12:00, is seven minutes away, not twelve.
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
	resp.Header.Set("Date", "Fri, 14 Mar 2025 12:05:00 GMT")
	resp.Header.Set("X-Rate-Limit-Limit", "900")
	resp.Header.Set("X-Rate-Limit-Remaining", "0")
	resp.Header.Set("X-Rate-Limit-Reset", "1741954320") // 12:12:00 GMT

	o := ratelimit.Observe(resp, now)
	fmt.Println(o.Throttled, o.Limit, o.Remaining)
	fmt.Println("wait", o.Until().Sub(now))
	// Output:
	// true 900 0
	// wait 7m0s
}
