package tweets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// Names of the paginated kinds, stable and stored in job rows.
const (
	UserTweetsName    = "user_tweets"
	UserFollowersName = "user_followers"
)

// UserList is a paginated kind: user_tweets (a user's tweets, newest first,
// GET /2/users/:id/tweets) or user_followers (a user's followers, GET
// /2/users/:id/followers). Its params are [ListParams]; its items are user
// ids, one per line (see [ParseIDLine]).
//
// Each user id becomes one task that fetches the first page; each page's
// task creates the next page's task, with X's pagination token in its
// payload, in the same commit as the page's rows. A page retried fetches the
// same page again, and rows are keyed, so a retry overwrites and never
// duplicates. Rows are ok, with the object as X sent it, keyed by the tweet
// id for user_tweets and by "<user id>:<follower id>" for user_followers,
// since a follower may follow several users of one job.
//
// A UserList is safe for concurrent use. Create one with [NewUserTweets] or
// [NewUserFollowers]; the zero value is not usable.
type UserList struct {
	base *url.URL
	spec *listSpec
}

var _ jobs.Kind = (*UserList)(nil)

// NewUserTweets returns the user_tweets kind configured by cfg, or an error
// if cfg.BaseURL is not an absolute http(s) URL.
func NewUserTweets(cfg Config) (*UserList, error) {
	return newUserList(cfg, &listSpec{
		name: UserTweetsName, path: "tweets", minResults: 5, maxResults: 100,
		expansions: expansionValues, tweets: true,
	})
}

// NewUserFollowers returns the user_followers kind configured by cfg, or an
// error if cfg.BaseURL is not an absolute http(s) URL.
func NewUserFollowers(cfg Config) (*UserList, error) {
	return newUserList(cfg, &listSpec{
		name: UserFollowersName, path: "followers", minResults: 1, maxResults: 1000,
		expansions: "pinned_tweet_id",
	})
}

func newUserList(cfg Config, spec *listSpec) (*UserList, error) {
	u, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", spec.name, err)
	}
	return &UserList{base: u, spec: spec}, nil
}

// Name returns "user_tweets" or "user_followers".
func (l *UserList) Name() string { return l.spec.name }

// Prepare validates params, a JSON object (or nothing, or null) with the
// optional keys of [ListParams], and returns them normalized: max_results
// set (the largest when not given), lists sorted without repeats, times in
// UTC, ids canonical. Unknown keys, and the tweet filters for
// user_followers, are errors. Every error is a *jobs.ValidationError naming
// "params" or "params.<key>".
func (l *UserList) Prepare(params json.RawMessage) (json.RawMessage, error) {
	p, err := parseListParams(l.spec, params)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// pagePayload is one page task: the user, X's token for the page ("" for
// the first) and how many rows earlier pages of the user yielded.
type pagePayload struct {
	UserID          string `json:"user_id"`
	PaginationToken string `json:"pagination_token"`
	Fetched         int    `json:"fetched"`
}

// Plan reads user ids from items, one per line as [ParseIDLine] reads them
// (lines may end in \n or \r\n; a UTF-8 byte order mark is ignored), and
// emits one task per user for the first page of its list, with the payload
// {"user_id":"...","pagination_token":"","fetched":0} and Items 0, since
// how many items a list holds is known only once it is fetched. A user id
// repeated within [BatchSize] distinct ids of its first appearance is
// dropped; further apart it is not, so that memory stays bounded. params
// are not used.
//
// Errors are as for [Lookup.Plan]: a *jobs.ValidationError for field "ids"
// naming the line, "no ids given", emit's errors as they are, read errors
// wrapped, ctx.Err() once ctx is cancelled.
func (l *UserList) Plan(ctx context.Context, params json.RawMessage, items io.Reader, emit func(jobs.TaskSpec) error) error {
	recent := make(map[string]struct{}, BatchSize)
	total := 0
	err := scanIDs(ctx, items, "user", func(id string) error {
		if _, dup := recent[id]; dup {
			return nil
		}
		if len(recent) == BatchSize {
			clear(recent)
		}
		recent[id] = struct{}{}
		if err := ctx.Err(); err != nil {
			return err
		}
		payload, err := json.Marshal(pagePayload{UserID: id})
		if err != nil {
			return fmt.Errorf("encode task payload: %w", err)
		}
		total++
		return emit(jobs.TaskSpec{Payload: payload})
	})
	if err != nil {
		return err
	}
	if total == 0 {
		return jobs.Invalid("ids", "no ids given")
	}
	return nil
}

// Do fetches one page of one user's list with a single GET through a.HTTP,
// which authenticates the request and holds the quota. It returns a row per
// object of the page and, unless the page is the last or max_items is
// reached, one follow-up task for the next page, whose payload carries X's
// next_token and the rows fetched so far. Once max_items is reached the rows
// are cut to exactly max_items for the user, and no task follows. When
// max_items is near, Do asks X for no more than it still needs (but at least
// the endpoint's smallest page).
//
// Errors are as for [Lookup.Do]: a payload or params Do cannot read, and a
// 4xx answer but 408, 425 and 429 (such as X's 400 for an expired or
// unknown pagination token), are permanent; a 429, a 5xx, a transport error,
// a cut-off, malformed or oversized body are retryable, and a next_token
// equal to the page's own is permanent, as following it would loop.
func (l *UserList) Do(ctx context.Context, a jobs.Attempt) (jobs.Outcome, error) {
	var task pagePayload
	if err := json.Unmarshal(a.Payload, &task); err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("decode task payload: %w", err))
	}
	if id, ok, err := ParseIDLine(task.UserID); err != nil || !ok || id != task.UserID {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("task payload: user id %q is not a canonical id", clip(task.UserID, 40)))
	}
	if task.Fetched < 0 || len(task.PaginationToken) > maxTokenLen {
		return jobs.Outcome{}, jobs.Permanent(errors.New("task payload: negative fetched count or oversized token"))
	}
	params, err := parseListParams(l.spec, a.Params)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("params: %w", err))
	}
	if a.HTTP == nil {
		return jobs.Outcome{}, jobs.Permanent(errors.New("attempt has no http client"))
	}
	want := params.MaxResults
	if params.MaxItems > 0 {
		left := params.MaxItems - task.Fetched
		if left <= 0 {
			return jobs.Outcome{}, nil
		}
		want = max(l.spec.minResults, min(want, left))
	}
	what := fmt.Sprintf("%s page of user %s", l.spec.name, task.UserID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.pageURL(task, want, params), nil)
	if err != nil {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("build %s request: %w", what, err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if readErr == nil && len(body) > MaxBodyBytes {
		readErr = fmt.Errorf("body exceeds %d bytes", MaxBodyBytes)
	}
	if resp.StatusCode != http.StatusOK {
		serr := fmt.Errorf("%s: %w", what, &StatusError{StatusCode: resp.StatusCode, Body: excerpt(body)})
		if permanentStatus(resp.StatusCode) {
			return jobs.Outcome{}, jobs.Permanent(serr)
		}
		return jobs.Outcome{}, serr
	}
	if readErr != nil {
		return jobs.Outcome{}, fmt.Errorf("read %s: %w", what, readErr)
	}
	page, err := decodePage(body)
	if err != nil {
		return jobs.Outcome{}, fmt.Errorf("decode %s: %w", what, err)
	}
	if page.nextToken != "" && page.nextToken == task.PaginationToken {
		return jobs.Outcome{}, jobs.Permanent(fmt.Errorf("%s: upstream returned the page's own token as the next", what))
	}

	items := page.items
	last := page.nextToken == ""
	if params.MaxItems > 0 && task.Fetched+len(items) >= params.MaxItems {
		items = items[:params.MaxItems-task.Fetched]
		last = true
	}
	out := jobs.Outcome{Rows: make([]jobs.Row, 0, len(items))}
	for _, it := range items {
		key := it.id
		if !l.spec.tweets {
			key = task.UserID + ":" + it.id
		}
		out.Rows = append(out.Rows, jobs.Row{Key: key, Status: jobs.StatusOK, Data: it.data})
	}
	if !last {
		next, err := json.Marshal(pagePayload{UserID: task.UserID, PaginationToken: page.nextToken, Fetched: task.Fetched + len(items)})
		if err != nil {
			return jobs.Outcome{}, fmt.Errorf("encode next task payload: %w", err)
		}
		out.Next = []jobs.TaskSpec{{Payload: next}}
	}
	return out, nil
}

// pageURL builds the URL of one page of task's list, of n results.
func (l *UserList) pageURL(task pagePayload, n int, p ListParams) string {
	u := *l.base
	u.Path += "/2/users/" + task.UserID + "/" + l.spec.path
	q := url.Values{}
	q.Set("max_results", strconv.Itoa(n))
	if task.PaginationToken != "" {
		q.Set("pagination_token", task.PaginationToken)
	}
	for _, kv := range []struct {
		name   string
		values []string
	}{{"expansions", p.Expansions}, {"tweet.fields", p.TweetFields}, {"user.fields", p.UserFields}} {
		if len(kv.values) > 0 {
			q.Set(kv.name, strings.Join(kv.values, ","))
		}
	}
	since := p.SinceID
	if id, ok := p.SinceIDs[task.UserID]; ok && idValue(id) > idValue(since) {
		since = id
	}
	for name, v := range map[string]string{"start_time": p.StartTime, "end_time": p.EndTime, "since_id": since, "until_id": p.UntilID} {
		if v != "" {
			q.Set(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
