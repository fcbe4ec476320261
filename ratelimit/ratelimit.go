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
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota is a named limit: Limit requests per Window, bound to one credential.
// The zero Quota is invalid.
type Quota struct {
	Key    string        // stable name, as declared in the configuration
	Limit  int           // requests allowed in any window; > 0
	Window time.Duration // the window's length; > 0
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

// String renders q as "key: limit/window", as ParseLimit reads it back.
func (q Quota) String() string {
	return fmt.Sprintf("%s: %d/%s", q.Key, q.Limit, q.Window)
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
// without importing ratelimit.
//
// SpendQuota records n requests at now against key if, with them, no span of
// length span ending at now holds more than limit requests. When it refuses,
// retryAt is the earliest time the same call could succeed. Calls for one key
// must be serialized across every process sharing the ledger.
type Ledger interface {
	SpendQuota(ctx context.Context, key string, limit int, span time.Duration, n int, now time.Time) (ok bool, retryAt time.Time, err error)
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
	// Margin widens every window when counting, so that a request that takes
	// up to Margin between being admitted and reaching the upstream still
	// lands in a window that pacer counted it in. Default 1s; it costs
	// Margin/Window of the throughput (0.1% of a 15-minute window).
	Margin time.Duration
	// MaxWait is the longest Wait sleeps in place for its quota; a longer
	// wait returns a *ThrottledError instead. Default 2s; negative means
	// never sleep.
	MaxWait time.Duration
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
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

	mu      sync.Mutex
	blocked map[string]time.Time // key → the ledger's last retryAt
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
		ledger:  cfg.Ledger,
		margin:  cfg.Margin,
		maxWait: max(cfg.MaxWait, 0),
		now:     cfg.NowFunc,
		blocked: make(map[string]time.Time),
	}, nil
}

// Wait spends one request of q. If q has no room now but will within the
// Limiter's MaxWait, Wait sleeps until then and tries again; otherwise it
// returns a *ThrottledError saying until when. It returns ctx's error if ctx
// ends first, and the ledger's errors wrapped.
func (l *Limiter) Wait(ctx context.Context, q Quota) error {
	if err := q.Validate(); err != nil {
		return err
	}
	deadline := l.now().Add(l.maxWait)
	for {
		now := l.now()
		until := l.blockedUntil(q.Key)
		if !now.Before(until) {
			ok, retryAt, err := l.ledger.SpendQuota(ctx, q.Key, q.Limit, q.Window+l.margin, 1, now)
			if err != nil {
				return fmt.Errorf("spend quota %s: %w", q.Key, err)
			}
			if ok {
				return nil
			}
			until = l.block(q.Key, retryAt)
		}
		if until.After(deadline) {
			return &ThrottledError{Key: q.Key, Until: until}
		}
		if err := sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
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
