package tweets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// Name is the tweet_lookup kind's stable name, stored in job rows.
const Name = "tweet_lookup"

// DefaultBaseURL is X API v2's address, used when [Config.BaseURL] is empty.
const DefaultBaseURL = "https://api.x.com"

// MaxBodyBytes caps how much of an answer Do reads. 100 tweets with every
// field and expansion come to a few hundred KiB; an answer larger than this
// is treated as broken.
const MaxBodyBytes = 10 << 20

// Config configures a [Lookup]. The zero value is valid and talks to X.
type Config struct {
	// BaseURL is where X API v2 lives: an absolute http or https URL, without
	// query, fragment or user info, to which "/2/tweets" is appended. Empty
	// means [DefaultBaseURL]; tests and the demo point it at the sandbox.
	BaseURL string
}

func (c Config) validate() (*url.URL, error) {
	raw := c.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base url: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("base url %q: want an absolute http or https URL", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("base url %q: no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("base url %q: credentials do not belong in a URL", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("base url %q: no query or fragment allowed", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Lookup is the tweet_lookup kind: it fetches tweets by id with X API v2's
// tweet lookup, [BatchSize] ids per request. Its params are [Params]; its
// items are tweet ids, one per line (see [ParseIDLine]). Each requested id
// yields one row: ok with the tweet object, or not_found with X's reason
// (deleted, protected, ...).
//
// A Lookup is safe for concurrent use. Create one with [NewLookup]; the zero
// value is not usable.
type Lookup struct {
	base *url.URL
}

var _ jobs.Kind = (*Lookup)(nil)

// NewLookup returns a Lookup configured by cfg, or an error if cfg.BaseURL
// is not an absolute http(s) URL.
func NewLookup(cfg Config) (*Lookup, error) {
	u, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("tweet lookup config: %w", err)
	}
	return &Lookup{base: u}, nil
}

// Name returns "tweet_lookup".
func (l *Lookup) Name() string { return Name }

// Prepare validates params, a JSON object (or nothing, or null) with the
// optional keys of [Params]: each a list of strings or one comma-separated
// string, every value one X documents for that parameter. It returns them
// normalized: a JSON [Params] with sorted lists without repeats, empty lists
// left out, so that no params at all become {}. Unknown keys are errors. Every
// error is a *jobs.ValidationError naming "params" or "params.<key>".
func (l *Lookup) Prepare(params json.RawMessage) (json.RawMessage, error) {
	p, err := parseParams(params)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// taskPayload is a tweet_lookup task: the ids of one request.
type taskPayload struct {
	IDs []string `json:"ids"`
}

// Plan reads tweet ids from items, one per line as [ParseIDLine] reads them
// (lines may end in \n or \r\n; a UTF-8 byte order mark is ignored), and
// emits a task for every [BatchSize] ids, the last one for the rest, with the
// payload {"ids":["1","2",...]}. An id repeated within one batch is dropped;
// across batches it is not, as that would take memory in proportion to the
// input, which must stay bounded. params are not used.
//
// Plan returns a *jobs.ValidationError for field "ids" that names the line
// for a line that is not an id or is longer than [MaxLineLength], and "no
// ids given" when items is nil or holds no id. Tasks emitted before an error
// have been emitted; the caller discards them. emit's errors are returned as
// they are, errors reading items wrapped with %w; if ctx is cancelled Plan
// stops and returns ctx.Err().
func (l *Lookup) Plan(ctx context.Context, params json.RawMessage, items io.Reader, emit func(jobs.TaskSpec) error) error {
	total, err := jobs.Batch(BatchSize, func(add func(string) error) error {
		return scanIDs(ctx, items, "tweet", add)
	}, func(batch []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		payload, err := json.Marshal(taskPayload{IDs: batch})
		if err != nil {
			return fmt.Errorf("encode task payload: %w", err)
		}
		return emit(jobs.TaskSpec{Payload: payload, Items: len(batch)})
	})
	if err != nil {
		return err
	}
	if total == 0 {
		return jobs.Invalid("ids", "no ids given")
	}
	return nil
}

// Do looks up one task's tweets with a single GET {BaseURL}/2/tweets through
// a.HTTP, which authenticates the request and holds the quota, and returns a
// row per requested id, in the payload's order: ok with the tweet object as
// X sent it, or not_found with X's reason ("detail", else "title"), or with
// "absent from the upstream's response" for an id X did not mention. Tweets
// X adds to "includes" (expansions) are not kept.
//
// Errors: a payload or params Do cannot read, and a 400, 401, 403, 404 or
// other 4xx answer (but 408, 425 and 429), are permanent (jobs.Permanent
// wrapping a *StatusError). A 429, a 5xx, a transport error, a cut-off or
// malformed body, or one over [MaxBodyBytes], are retryable. Transport
// errors, including a *ratelimit.ThrottledError from a.HTTP and ctx's
// cancellation, are wrapped with %w.
func (l *Lookup) Do(ctx context.Context, a jobs.Attempt) (jobs.Outcome, error) {
	var task taskPayload
	if err := json.Unmarshal(a.Payload, &task); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("decode task payload: %w", err))
	}
	if err := checkIDs(task.IDs); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: %w", err))
	}
	params, err := parseParams(a.Params)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("params: %w", err))
	}
	if a.HTTP == nil {
		return jobs.Outcome{}, jobs.Permanent(errors.New("attempt has no http client"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.lookupURL(task.IDs, params), nil)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("build tweet lookup request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("tweet lookup of %d ids: %w", len(task.IDs), err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if readErr == nil && len(body) > MaxBodyBytes {
		readErr = fmt.Errorf("body exceeds %d bytes", MaxBodyBytes)
	}

	if resp.StatusCode != http.StatusOK {
		serr := fmt.Errorf("tweet lookup of %d ids: %w", len(task.IDs),
			&StatusError{StatusCode: resp.StatusCode, Body: excerpt(body)})
		if permanentStatus(resp.StatusCode) {
			return jobs.Outcome{}, jobs.Permanent(serr)
		}
		return jobs.Outcome{}, serr
	}
	if readErr != nil {
		return jobs.Outcome{}, fmt.Errorf("read tweet lookup response: %w", readErr)
	}
	r, err := decodeLookupResponse(body)
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("decode tweet lookup response: %w", err)
	}
	return jobs.Outcome{Rows: r.rows(task.IDs)}, nil
}

// permanentStatus reports whether an answer with this status means the
// request can never succeed as it is: a client error, except those that mean
// "not now" (408 Request Timeout, 425 Too Early, 429 Too Many Requests).
func permanentStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return code >= 400 && code < 500
}

// lookupURL builds the tweet lookup URL for ids. The values are digits and
// names from X's documented lists, so none needs escaping and the commas stay
// readable in logs.
func (l *Lookup) lookupURL(ids []string, p Params) string {
	u := *l.base
	u.Path += "/2/tweets"
	q := "ids=" + strings.Join(ids, ",")
	for _, kv := range []struct {
		name   string
		values []string
	}{{"expansions", p.Expansions}, {"tweet.fields", p.TweetFields}, {"user.fields", p.UserFields}} {
		if len(kv.values) > 0 {
			q += "&" + kv.name + "=" + strings.Join(kv.values, ",")
		}
	}
	u.RawQuery = q
	return u.String()
}
