package httpkind

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
)

// Name is the http_get kind's stable name, stored in job rows.
const Name = "http_get"

// BatchSize is how many items one url_template task covers: one, so that a
// task is one request. Then a retry repeats only the request that failed,
// never one whose answer was good, and the budget check at submission
// (one request per task) counts exactly.
const BatchSize = 1

// Get is the http_get kind: a GET per item against a URL template, or a
// walk through pages from a start URL. Its params are [Params]. Rows hold
// {"status":200,"body":...,"content_type":"..."}, where body is the answer
// as JSON when it is a JSON object or list, or JSON of a JSON content type,
// and otherwise a JSON string; rows are keyed by the item (url_template) or
// by the page's URL (start_url). A 404 or 410 is a not_found row with reason
// "HTTP 404" (or 410).
//
// A Get is safe for concurrent use. Create one with [NewGet]; the zero value
// is not usable.
type Get struct {
	al      allowlist
	maxBody int64
	timeout time.Duration
}

var (
	_ jobs.Kind     = (*Get)(nil)
	_ jobs.Rerunner = (*Get)(nil)
)

// NewGet returns a Get configured by cfg, or an error naming the bad field
// of cfg (an allowlist entry that is not a host, a negative cap).
func NewGet(cfg Config) (*Get, error) {
	al, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("http_get config: %w", err)
	}
	g := &Get{al: al, maxBody: cfg.MaxBodyBytes, timeout: cfg.Timeout}
	if g.maxBody == 0 {
		g.maxBody = DefaultMaxBodyBytes
	}
	return g, nil
}

// Name returns "http_get".
func (g *Get) Name() string { return Name }

// Prepare validates params, a JSON object with the keys of [Params], and
// returns them normalized: cursor_param set when cursor_path is, header
// names canonical. Each URL must be on the allowlist. Every error is a
// *jobs.ValidationError naming "params" or "params.<key>".
func (g *Get) Prepare(params json.RawMessage) (json.RawMessage, error) {
	p, err := parseParams(params, g.al)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// itemsPayload is a url_template task: the items of [BatchSize] requests.
type itemsPayload struct {
	IDs []string `json:"ids"`
}

// pagePayload is a start_url task: one page's URL and its number, from 1.
type pagePayload struct {
	URL  string `json:"url"`
	Page int    `json:"page"`
}

// Plan emits the job's tasks. For url_template it reads items, one per line
// as [ParseItemLine] reads them, and emits a task per [BatchSize] items,
// {"ids":[...]}, dropping an item repeated within one batch. For start_url
// it emits the first page's task, {"url":"...","page":1}, with Items 0; the
// job then takes no items, and a line holding one is an error.
//
// Errors: a *jobs.ValidationError for "ids" naming the line of a bad item,
// or "no ids given"; emit's errors as they are; ctx.Err() once ctx is done.
func (g *Get) Plan(ctx context.Context, params json.RawMessage, items io.Reader, emit func(jobs.TaskSpec) error) error {
	p, err := parseParams(params, g.al)
	if err != nil {
		return err
	}
	if p.paged() {
		if items != nil {
			if err := scanItems(ctx, items, func(string) error {
				return jobs.Invalid("ids", "a start_url job takes no items; use url_template for a request per item")
			}); err != nil {
				return err
			}
		}
		payload, err := json.Marshal(pagePayload{URL: p.StartURL, Page: 1})
		if err != nil {
			return fmt.Errorf("encode task payload: %w", err)
		}
		return emit(jobs.TaskSpec{Payload: payload})
	}
	if items == nil {
		return jobs.Invalid("ids", "no ids given")
	}
	total, err := jobs.Batch(BatchSize, func(add func(string) error) error {
		return scanItems(ctx, items, add)
	}, func(batch []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		payload, err := json.Marshal(itemsPayload{IDs: batch})
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

// Do carries out one task through a.HTTP, which authenticates each request
// and holds the quota, in a copy that follows at most [MaxRedirects]
// redirects and only to hosts on the allowlist. A url_template task sends
// one GET per item and returns a row per item, in order; a start_url task
// sends one GET and returns the page's row and, unless it was the last page
// or max_pages is reached, the next page's task.
//
// Errors: a payload or params Do cannot read (or whose URL the allowlist no
// longer allows), a redirect or Link leaving the allowlist, a 3xx not
// followed, a 4xx answer other than 404, 410, 408, 425 and 429, a body over
// the cap, and a cursor that is not a string or number or leads back to
// the same page, are permanent. A 5xx, 408, 425 or 429, a transport error
// and a cut-off body are retried, the whole task again. Transport errors,
// including a *ratelimit.ThrottledError from a.HTTP and ctx's
// cancellation, are wrapped with %w.
func (g *Get) Do(ctx context.Context, a jobs.Attempt) (jobs.Outcome, error) {
	p, err := parseParams(a.Params, g.al)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("params: %w", err))
	}
	if a.HTTP == nil {
		return jobs.Outcome{}, jobs.Permanent(errors.New("attempt has no http client"))
	}
	client := g.client(a.HTTP)
	if p.paged() {
		return g.doPage(ctx, client, p, a.Payload)
	}
	return g.doItems(ctx, client, p, a.Payload)
}

func (g *Get) doItems(ctx context.Context, client *http.Client, p Params, raw json.RawMessage) (jobs.Outcome, error) {
	var task itemsPayload
	if err := json.Unmarshal(raw, &task); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("decode task payload: %w", err))
	}
	if len(task.IDs) == 0 || len(task.IDs) > BatchSize {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: %d items, want 1 to %d", len(task.IDs), BatchSize))
	}
	out := jobs.Outcome{Rows: make([]jobs.Row, 0, len(task.IDs))}
	for _, id := range task.IDs {
		if err := checkItem(id); err != nil {
			return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: %w", err))
		}
		u := expand(p.URLTemplate, id)
		if _, err := checkURL(u, g.al); err != nil {
			return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("item %q: %w", clip(id, 40), err))
		}
		ans, err := g.fetch(ctx, client, u, p.Headers)
		if err != nil {
			return jobs.Outcome{}, fmt.Errorf("item %q: %w", clip(id, 40), err)
		}
		out.Rows = append(out.Rows, ans.row(id))
	}
	return out, nil
}

func (g *Get) doPage(ctx context.Context, client *http.Client, p Params, raw json.RawMessage) (jobs.Outcome, error) {
	var task pagePayload
	if err := json.Unmarshal(raw, &task); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("decode task payload: %w", err))
	}
	if task.Page < 1 {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: page %d, want 1 or more", task.Page))
	}
	if _, err := checkURL(task.URL, g.al); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: %w", err))
	}
	what := fmt.Sprintf("page %d", task.Page)
	ans, err := g.fetch(ctx, client, task.URL, p.Headers)
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("%s: %w", what, err)
	}
	out := jobs.Outcome{Rows: []jobs.Row{ans.row(task.URL)}}
	if ans.notFound() || p.MaxPages > 0 && task.Page >= p.MaxPages {
		return out, nil
	}
	next, err := g.nextURL(p, task.URL, ans)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	if next == "" {
		return out, nil
	}
	if next == task.URL {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("%s: the next page is the page itself; following it would loop", what))
	}
	payload, err := json.Marshal(pagePayload{URL: next, Page: task.Page + 1})
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("encode next task payload: %w", err)
	}
	out.Next = []jobs.TaskSpec{{Payload: payload}}
	return out, nil
}

// nextURL is the URL of the page after ans, or "" for none.
func (g *Get) nextURL(p Params, current string, ans answer) (string, error) {
	switch {
	case p.CursorPath != "":
		segs, err := parsePath(p.CursorPath)
		if err != nil {
			return "", fmt.Errorf("cursor_path: %w", err)
		}
		cursor, ok, err := lookupPath(ans.body, segs)
		if err != nil {
			return "", fmt.Errorf("cursor_path %s: %w", p.CursorPath, err)
		}
		if !ok {
			return "", nil
		}
		u, err := url.Parse(p.StartURL)
		if err != nil {
			return "", fmt.Errorf("start_url: %w", stripURL(err))
		}
		q := u.Query()
		q.Set(p.CursorParam, cursor)
		u.RawQuery = q.Encode()
		next := u.String()
		if _, err := checkURL(next, g.al); err != nil {
			return "", fmt.Errorf("next page: %w", err)
		}
		return next, nil
	case p.FollowLink:
		ref, ok := linkNext(ans.links)
		if !ok {
			return "", nil
		}
		base := ans.finalURL
		if base == nil {
			var err error
			if base, err = url.Parse(current); err != nil {
				return "", fmt.Errorf("page url: %w", stripURL(err))
			}
		}
		r, err := url.Parse(ref)
		if err != nil {
			return "", fmt.Errorf("Link rel=next: not a URL: %v", stripURL(err))
		}
		abs := base.ResolveReference(r)
		abs.Fragment, abs.RawFragment = "", ""
		next := abs.String()
		if _, err := checkURL(next, g.al); err != nil {
			return "", fmt.Errorf("Link rel=next: %w", err)
		}
		return next, nil
	}
	return "", nil
}

// client returns a copy of base that follows redirects only to hosts on the
// allowlist, at most MaxRedirects of them, and applies the kind's timeout.
func (g *Get) client(base *http.Client) *http.Client {
	c := *base
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return jobs.Permanent(fmt.Errorf("stopped after %d redirects", MaxRedirects))
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return jobs.Permanent(fmt.Errorf("redirect to a %s URL refused", req.URL.Scheme))
		}
		if !g.al.Allows(req.URL.Hostname()) {
			return jobs.Permanent(fmt.Errorf("redirect refused: %s", refusal(g.al, req.URL.Hostname())))
		}
		return nil
	}
	if g.timeout > 0 && (c.Timeout == 0 || g.timeout < c.Timeout) {
		c.Timeout = g.timeout
	}
	return &c
}

// answer is one response, read.
type answer struct {
	status      int
	contentType string
	body        []byte
	links       []string
	finalURL    *url.URL // after redirects
}

// fetch sends one GET and reads its answer. An error is a transport error
// (retryable unless the redirect policy made it permanent), a body over the
// cap (permanent) or a status that makes no row (see Do).
func (g *Get) fetch(ctx context.Context, client *http.Client, rawURL string, headers map[string]string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, jobs.Permanent(fmt.Errorf("build request: %w", stripURL(err)))
	}
	req.Header.Set("Accept", "application/json, */*;q=0.5")
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("GET: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, g.maxBody+1))
	if err != nil {
		return answer{}, fmt.Errorf("read %s answer: %w", resp.Status, err)
	}
	if int64(len(body)) > g.maxBody {
		return answer{}, jobs.Permanent(fmt.Errorf("%s answer exceeds the body cap of %d bytes", resp.Status, g.maxBody))
	}
	ans := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body, links: resp.Header.Values("Link")}
	if resp.Request != nil {
		ans.finalURL = resp.Request.URL
	}
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300, ans.notFound():
		return ans, nil
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return answer{}, &StatusError{StatusCode: code, Body: excerpt(body)}
	default:
		return answer{}, jobs.Permanent(&StatusError{StatusCode: code, Body: excerpt(body)})
	}
}

func (a answer) notFound() bool {
	return a.status == http.StatusNotFound || a.status == http.StatusGone
}

// row is the result row of a, keyed key.
func (a answer) row(key string) jobs.Row {
	if a.notFound() {
		return jobs.Row{Key: key, Status: jobs.StatusNotFound, Reason: fmt.Sprintf("HTTP %d", a.status)}
	}
	data, _ := json.Marshal(struct {
		Status      int             `json:"status"`
		Body        json.RawMessage `json:"body"`
		ContentType string          `json:"content_type"`
	}{a.status, bodyJSON(a.body, a.contentType), a.contentType})
	return jobs.Row{Key: key, Status: jobs.StatusOK, Data: data}
}

// bodyJSON is body as a JSON value: the body itself, compacted, when it is
// JSON and either an object or a list or sent with a JSON content type
// (application/json, anything+json); otherwise a JSON string of it (invalid
// UTF-8 replaced).
func bodyJSON(body []byte, contentType string) json.RawMessage {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && json.Valid(trimmed) && (trimmed[0] == '{' || trimmed[0] == '[' || isJSONType(contentType)) {
		var buf bytes.Buffer
		if json.Compact(&buf, trimmed) == nil {
			return buf.Bytes()
		}
	}
	s, _ := json.Marshal(string(body))
	return s
}

func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// StatusError is an answer whose status makes no row: a 4xx other than 404
// and 410, a 5xx, or a 3xx not followed.
type StatusError struct {
	StatusCode int
	Body       string // the start of the body, for the job's last error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("upstream answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// excerpt is the start of body, on one line, for an error message.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
	return clip(s, 200)
}

// Items returns the items a url_template task covered, so that the failed
// work of a job can run again (jobs.Rerunner). A page task has none: a
// re-run of a start_url job walks again from start_url.
func (g *Get) Items(payload json.RawMessage) ([]string, error) {
	var p struct {
		IDs []string `json:"ids"`
		URL string   `json:"url"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode http_get task: %w", err)
	}
	return p.IDs, nil
}
