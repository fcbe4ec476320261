package ratelimit

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// Learning an undeclared quota.
//
// A credential declared without quotas still has one at the upstream; pacer
// learns it. Its requests go through the ledger under the credential's name
// as a fixed-window quota of no known limit, so that what the upstream's
// headers say (remaining, reset, limit) caps it for every process, and a
// 429 blocks it everywhere, exactly as for a declared quota. Until headers
// have spoken, each process also paces the key itself with a token bucket
// (golang.org/x/time/rate) that starts conservative, grows by a fixed step
// with each answer that went through, and halves at each 429: additive
// increase, multiplicative decrease, as TCP finds a link's rate. Once the
// upstream reports its remaining count and reset, the ledger is exact and
// the bucket steps aside.
const (
	// learnStart is the rate an undeclared quota starts at: one request a
	// second, which no API worth the name refuses.
	learnStart rate.Limit = 1
	// learnStep is what each answer that went through adds to the rate.
	learnStep rate.Limit = 0.25
	// learnMin and learnMax bound the rate.
	learnMin rate.Limit = 1.0 / 60
	learnMax rate.Limit = 1000
	// learnWindow is the ledger window of a learned quota when the upstream
	// names none: its reset header moves it.
	learnWindow = 15 * time.Minute
	// learnLimit stands for "no known limit" in the ledger; the upstream's
	// remaining count caps the window below it.
	learnLimit = 1 << 30
	// learnBackoffMin and learnBackoffMax bound the block after a 429 that
	// says neither when to retry nor when the window resets; it doubles
	// with each such 429 in a row.
	learnBackoffMin = time.Second
	learnBackoffMax = 15 * time.Minute
)

// learner is what a process has learned of one undeclared quota.
type learner struct {
	bucket  *rate.Limiter
	told    bool          // the upstream's headers report remaining and reset
	backoff time.Duration // the next block after a bare 429
}

// Learned returns the quota under which requests of an undeclared quota
// named key go through the ledger: no known limit, corrected by the
// upstream's headers.
func Learned(key string) Quota {
	return Quota{Key: key, Limit: learnLimit, Window: learnWindow}
}

func (l *Limiter) learner(key string) *learner {
	l.mu.Lock()
	defer l.mu.Unlock()
	le := l.learners[key]
	if le == nil {
		le = &learner{bucket: rate.NewLimiter(learnStart, 1), backoff: learnBackoffMin}
		l.learners[key] = le
	}
	return le
}

// WaitLearned is Wait for the undeclared quota key (see Learned): the same
// ledger, global blocks and header caps, and, until the upstream's headers
// have told its count, this process's own pacing. A wait longer than the
// Limiter's MaxWait returns a *ThrottledError.
func (l *Limiter) WaitLearned(ctx context.Context, key string) (Grant, error) {
	le := l.learner(key)
	l.mu.Lock()
	told := le.told
	l.mu.Unlock()
	if !told {
		now := l.now()
		r := le.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			if now.Add(d).After(l.sleepUntil(ctx, now)) {
				r.CancelAt(now)
				err := &ThrottledError{Key: key, Until: now.Add(d)}
				l.record(nil, now, err)
				return Grant{}, err
			}
			if err := sleep(ctx, d); err != nil {
				r.CancelAt(now)
				return Grant{}, err
			}
		}
	}
	return l.Wait(ctx, Learned(key))
}

// ObserveLearned is Observe for a request WaitLearned admitted, and what
// this process learns from the answer: the headers' word, a 429's halving,
// or another step up.
func (l *Limiter) ObserveLearned(ctx context.Context, g Grant, o Observation) error {
	key := g.primary.Key
	le := l.learner(key)
	now := l.now()
	l.mu.Lock()
	switch {
	case o.Throttled:
		le.told = false
		le.bucket.SetLimitAt(now, max(le.bucket.Limit()/2, learnMin))
		if o.Until().IsZero() {
			// Say how long ourselves, so Observe blocks for that and not a
			// whole window; the next bare 429 waits twice as long.
			o.RetryAfter = now.Add(le.backoff)
			le.backoff = min(le.backoff*2, learnBackoffMax)
		}
	case o.Remaining >= 0 && !o.Reset.IsZero():
		le.told = true
		le.backoff = learnBackoffMin
	default:
		le.bucket.SetLimitAt(now, min(le.bucket.Limit()+learnStep, learnMax))
		le.backoff = learnBackoffMin
	}
	l.mu.Unlock()
	// A bare 429 blocks for the backoff only: it says nothing of the
	// window, which must not be capped for the whole of learnWindow.
	return l.Observe(ctx, g, o)
}

// learnedRate reports key's current pacing rate, for tests and logs.
func (l *Limiter) learnedRate(key string) (rate.Limit, bool) {
	le := l.learner(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	return le.bucket.Limit(), le.told
}
