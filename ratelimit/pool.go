package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// WaitAny spends one request of one of options, each the quotas of one
// credential, and returns which. Among the options with room now it picks
// the one with the most requests left, as far as this Limiter has seen
// (quotas it has not seen yet count as full), so that a pool spreads its
// requests over its credentials. When none has room, WaitAny sleeps until
// the first frees if that is within MaxWait, and otherwise returns a
// *ThrottledError for the one that frees first. Errors are as for Wait, and
// so are the metrics it records: only the option it took, or the throttle it
// returns, counts.
func (l *Limiter) WaitAny(ctx context.Context, options [][]Quota) (int, Grant, error) {
	if len(options) == 0 {
		return -1, Grant{}, errors.New("wait any: no options")
	}
	start := l.now()
	deadline := l.sleepUntil(ctx, start)
	for {
		order := make([]int, len(options))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(l.left(options[b]), l.left(options[a])) })
		var first *ThrottledError
		for _, i := range order {
			g, err := l.wait(ctx, options[i], time.Time{})
			if err == nil {
				l.record(options[i], start, nil)
				return i, g, nil
			}
			var th *ThrottledError
			if !errors.As(err, &th) {
				return -1, Grant{}, err
			}
			if first == nil || th.Until.Before(first.Until) {
				first = th
			}
		}
		if first.Until.After(deadline) {
			l.record(nil, start, first)
			return -1, Grant{}, first
		}
		if err := sleep(ctx, first.Until.Sub(l.now())); err != nil {
			return -1, Grant{}, err
		}
	}
}

// left is how many requests qs has left as far as l knows: the least of its
// quotas', a quota not seen yet counting as full.
func (l *Limiter) left(qs []Quota) int {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := -1
	for _, q := range qs {
		r := q.Limit
		if s, ok := l.remaining[q.Key]; ok && now.Before(s.until) {
			r = s.left
		}
		if n < 0 || r < n {
			n = r
		}
	}
	return n
}

// seenLeft is what a Limiter last saw of a quota's requests left, and until
// when that holds: the window's close, after which the quota counts as full
// again, so that a credential spent in an old window is not passed over in a
// new one.
type seenLeft struct {
	left  int
	until time.Time
}

// seen records what l knows of key's requests left, valid until until.
func (l *Limiter) seen(key string, remaining int, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remaining[key] = seenLeft{left: max(remaining, 0), until: until}
}
