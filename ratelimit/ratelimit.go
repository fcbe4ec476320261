// Package ratelimit holds upstream quotas across every pacer process: quota
// definitions, the window-aware global [Limiter] and an [http.RoundTripper]
// that spends a quota before each request.
//
// A token bucket alone is not a quota: it admits burst + rate·W requests in
// any window W, twice a "900 per 15 minutes" quota. The [Limiter] instead asks
// a [Ledger] (implemented by the store, shared by every process and machine)
// whether one more request still fits in the window, counting every request
// that every process sent. A job that starts in a fresh window may spend all
// of it at once; it never spends more.
//
// ratelimit knows quota keys, not job kinds, and imports no other pacer
// package.
package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota is a named limit: Limit requests per Window, bound to one credential.
// The zero Quota is invalid.
type Quota struct {
	Key    string        // stable name, as declared in the configuration
	Limit  int           // requests allowed in a window; > 0
	Window time.Duration // the window's length; > 0
	// Sliding counts the limit over every span of Window (widened by the
	// Limiter's Margin), for upstreams that count that way. The zero value
	// counts in fixed windows, as X does: a window opens at the first request
	// and resets Window later, or where the upstream's headers say.
	Sliding bool
}

// Validate reports what is wrong with q, naming the field.
func (q Quota) Validate() error {
	switch {
	case q.Key == "":
		return errors.New("quota key: empty")
	case q.Limit <= 0:
		return fmt.Errorf("quota %s limit: %d is not a positive number of requests", q.Key, q.Limit)
	case q.Window <= 0:
		return fmt.Errorf("quota %s window: %s is not a positive duration", q.Key, q.Window)
	}
	return nil
}

// String renders q as "key: limit/window", with " sliding" for a sliding
// window, as ParseQuota reads it back after the key.
func (q Quota) String() string {
	s := fmt.Sprintf("%s: %d/%s", q.Key, q.Limit, q.Window)
	if q.Sliding {
		s += " sliding"
	}
	return s
}

// ParseLimit reads a limit written "900/15m" (requests / window, a Go
// duration; a bare unit means one of it, as in "1/s" or "10000/h") and
// returns the limit and the window. It is the one parser of quota text from
// flags and configuration files.
func ParseLimit(s string) (limit int, window time.Duration, err error) {
	count, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("limit %q: want requests/window, as in 900/15m", s)
	}
	limit, err = strconv.Atoi(strings.TrimSpace(count))
	if err != nil || limit <= 0 {
		return 0, 0, fmt.Errorf("limit %q: %q is not a positive number of requests", s, count)
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	window, err = time.ParseDuration(per)
	if err != nil || window <= 0 {
		return 0, 0, fmt.Errorf("limit %q: %q is not a positive duration such as 15m or 1s", s, per)
	}
	return limit, window, nil
}

// Ledger is the cross-process record of requests sent under each quota. It is
// declared here in standard-library types so that the store can satisfy it
// without importing ratelimit; store.Store documents each method in full.
//
// SpendQuota is the sliding-window ledger: it records n requests at now if no
// span ending at now would then hold more than limit. TakeWindow is the
// fixed-window ledger: n requests of the window open at now, identified by
// (generation, ordinal) for ObserveWindow, which corrects the window with the
// upstream's own count. BlockQuota refuses every request of a key until a
// time, in every process. Calls for one key are serialized across processes.
type Ledger interface {
	SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error)
	TakeWindow(ctx context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (ok bool, generation int64, ordinal int, retryAt time.Time, err error)
	ObserveWindow(ctx context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error
	BlockQuota(ctx context.Context, key string, until time.Time) error
}

// ThrottledError means a request must wait for its quota longer than the
// caller is willing to wait in place: the task gives its delivery back and
// runs again at Until (DESIGN.md, invariant 4).
type ThrottledError struct {
	Key   string    // the quota
	Until time.Time // when the quota has room again
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("quota %s exhausted until %s", e.Key, e.Until.UTC().Format(time.RFC3339))
}

// Config configures a Limiter.
type Config struct {
	// Ledger records spends across processes. Required.
	Ledger Ledger
	// Margin is the longest a request may take between being admitted and
	// reaching the upstream. Windows are widened by it, which costs
	// Margin/Window of the throughput (0.1% of a 15-minute window) until the
	// upstream's reset header aligns a fixed window exactly; in a fixed
	// window, requests admitted in its last Margin count in the next window
	// too, as the upstream may count them there. Default 1s.
	Margin time.Duration
	// MaxWait is the longest Wait sleeps in place for its quota; a longer
	// wait returns a *ThrottledError instead. Default 2s; negative means
	// never sleep.
	MaxWait time.Duration
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
	// Metrics records waits, throttles and what the upstream reports about
	// each quota. Default nil: record nothing.
	Metrics *Metrics
}

// Limiter admits requests against quotas held in a Ledger. It remembers, per
// key, until when the ledger last said the quota is spent, so that waiting
// work does not hammer the ledger. Limiter is safe for simultaneous use by
// multiple goroutines. Use NewLimiter; the zero value is not usable.
type Limiter struct {
	ledger  Ledger
	margin  time.Duration
	maxWait time.Duration
	now     func() time.Time
	metrics *Metrics

	mu        sync.Mutex
	blocked   map[string]time.Time // key → the ledger's last retryAt
	remaining map[string]seenLeft  // key → requests left, as last seen
	learners  map[string]*learner  // key → what is learned of an undeclared quota
}

// NewLimiter returns a Limiter for cfg.
func NewLimiter(cfg Config) (*Limiter, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("ratelimit config: Ledger is required")
	}
	if cfg.Margin == 0 {
		cfg.Margin = time.Second
	}
	if cfg.Margin < 0 {
		return nil, fmt.Errorf("ratelimit config: Margin %s is negative", cfg.Margin)
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 2 * time.Second
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Limiter{
		ledger:    cfg.Ledger,
		margin:    cfg.Margin,
		maxWait:   max(cfg.MaxWait, 0),
		now:       cfg.NowFunc,
		metrics:   cfg.Metrics,
		blocked:   make(map[string]time.Time),
		remaining: make(map[string]seenLeft),
		learners:  make(map[string]*learner),
	}, nil
}

// Grant is what Wait took, for Observe to correct with the upstream's
// answer. The zero Grant took nothing.
type Grant struct {
	primary    Quota // the first quota named: the one the headers describe
	generation int64 // primary's window, when it is a fixed one
	ordinal    int
	ok         bool
}

// Wait spends one request of each of qs: all of them, or it returns an error.
// If a quota has no room now but will within the Limiter's MaxWait, Wait
// sleeps until then and tries again; otherwise it returns a *ThrottledError
// saying which quota and until when. It returns ctx's error if ctx ends first,
// and the ledger's errors wrapped.
//
// Quotas are taken shortest window first, so that when a later, longer one
// refuses, what was already taken and now goes unused is the cheapest: a
// second of a "1 per second" quota rather than a slot of a monthly one.
//
// With [Config.Metrics] set, an admitted request records how long Wait took
// under each of qs, and a *ThrottledError counts against the quota it names.
func (l *Limiter) Wait(ctx context.Context, qs ...Quota) (Grant, error) {
	if len(qs) == 0 {
		return Grant{}, nil
	}
	for _, q := range qs {
		if err := q.Validate(); err != nil {
			return Grant{}, err
		}
	}
	start := l.now()
	g, err := l.wait(ctx, qs, l.sleepUntil(ctx, start))
	l.record(qs, start, err)
	return g, err
}

// wait is Wait with the time until which it may sleep; the zero deadline
// means not at all.
func (l *Limiter) wait(ctx context.Context, qs []Quota, deadline time.Time) (Grant, error) {
	if len(qs) == 0 {
		return Grant{}, nil
	}
	if deadline.IsZero() {
		deadline = l.now()
	}
	ordered := slices.Clone(qs)
	slices.SortStableFunc(ordered, func(a, b Quota) int { return cmp.Compare(a.Window, b.Window) })
	g := Grant{primary: qs[0], ok: true}
	for _, q := range ordered {
		generation, ordinal, err := l.take(ctx, q, deadline)
		if err != nil {
			return Grant{}, err
		}
		if q == qs[0] {
			g.generation, g.ordinal = generation, ordinal
		}
	}
	return g, nil
}

// take spends one request of q, sleeping until deadline at most. For a
// fixed window it returns the window's generation and the request's ordinal.
func (l *Limiter) take(ctx context.Context, q Quota, deadline time.Time) (generation int64, ordinal int, err error) {
	for {
		now := l.now()
		until := l.blockedUntil(q.Key)
		if !now.Before(until) {
			var (
				ok      bool
				retryAt time.Time
			)
			if q.Sliding {
				ok, retryAt, err = l.ledger.SpendQuota(ctx, q.Key, q.Limit, q.Window+l.margin, 1, now)
			} else {
				// The upstream's window opens when the first request
				// arrives, up to Margin after it was taken here, so it may
				// close up to Margin after the window here would: the window
				// here lasts Window+Margin, until the upstream's own reset
				// header (ObserveWindow) says exactly when it closes.
				ok, generation, ordinal, retryAt, err = l.ledger.TakeWindow(ctx, q.Key, q.Limit, q.Window+l.margin, l.margin, 1, now)
			}
			if err != nil {
				return 0, 0, fmt.Errorf("take quota %s: %w", q.Key, err)
			}
			if ok {
				if !q.Sliding {
					// The window closes at most a window (and margin) on.
					l.seen(q.Key, q.Limit-ordinal, now.Add(q.Window+l.margin))
				}
				return generation, ordinal, nil
			}
			l.seen(q.Key, 0, retryAt)
			until = l.block(q.Key, retryAt)
		}
		if until.After(deadline) {
			return 0, 0, &ThrottledError{Key: q.Key, Until: until}
		}
		if err := sleep(ctx, until.Sub(now)); err != nil {
			return 0, 0, err
		}
	}
}

// Observe corrects the ledger with the upstream's answer to a request that g
// admitted. The answer's headers describe the first quota the request named
// (the first declared for its credential). For a fixed window, the window
// moves to the upstream's reset and is capped at what the upstream says
// remains. A throttled answer blocks that quota in every process until the
// upstream's reset or Retry-After, or, if it named neither, until a window
// has passed; Observe then returns a *ThrottledError saying until when.
//
// With [Config.Metrics] set, Observe first records what o reports about
// that quota: limit, remaining, reset and a refusal.
func (l *Limiter) Observe(ctx context.Context, g Grant, o Observation) error {
	if !g.ok || !o.Known() {
		return nil
	}
	q, now := g.primary, l.now()
	l.metrics.observe(q.Key, o, now)
	if !q.Sliding {
		if err := l.ledger.ObserveWindow(ctx, q.Key, g.generation, g.ordinal, max(o.Limit, 0), o.Remaining, o.Reset, now); err != nil {
			return fmt.Errorf("observe quota %s: %w", q.Key, err)
		}
		if o.Remaining == 0 && o.Reset.After(now) {
			l.block(q.Key, o.Reset)
		}
		if o.Remaining >= 0 {
			until := o.Reset
			if until.IsZero() {
				until = now.Add(q.Window)
			}
			l.seen(q.Key, o.Remaining, until)
		}
	}
	if !o.Throttled {
		return nil
	}
	until := o.Until()
	if !until.After(now) {
		until = now.Add(q.Window)
	}
	if err := l.ledger.BlockQuota(ctx, q.Key, until); err != nil {
		return fmt.Errorf("block quota %s: %w", q.Key, err)
	}
	return &ThrottledError{Key: q.Key, Until: l.block(q.Key, until)}
}

// sleepUntil is the latest a wait that began at start may sleep to: MaxWait
// later, but no later than halfway to ctx's deadline, so that a request
// admitted after sleeping still has time to be sent and answered. Past it,
// the caller gets a *ThrottledError and gives its work back without using an
// attempt, instead of timing out with the request half done.
func (l *Limiter) sleepUntil(ctx context.Context, start time.Time) time.Time {
	until := start.Add(l.maxWait)
	if d, ok := ctx.Deadline(); ok {
		if half := start.Add(d.Sub(start) / 2); half.Before(until) {
			until = half
		}
	}
	return until
}

func (l *Limiter) blockedUntil(key string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked[key]
}

// block records that key has no room before until and returns the later of
// until and what was already known.
func (l *Limiter) block(key string, until time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev := l.blocked[key]; prev.After(until) {
		return prev
	}
	l.blocked[key] = until
	return until
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
