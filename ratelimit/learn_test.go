package ratelimit

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// An undeclared quota: additive increase while answers go through, halving
// and a growing block at each bare 429, and the headers' word once given.
func TestLearnedQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, _ := NewLimiter(Config{Ledger: ledger, MaxWait: time.Hour})
		ctx := t.Context()
		start := time.Now()
		// Conservative start: one a second.
		for range 5 {
			g, err := lim.WaitLearned(ctx, "user")
			if err != nil {
				t.Fatal(err)
			}
			if err := lim.ObserveLearned(ctx, g, Observation{Remaining: -1}); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got < 2*time.Second || got > 4*time.Second {
			t.Fatalf("5 requests at the start took %s: want a conservative pace: 1/s, rising by 0.25/s with each answer", got)
		}
		r, told := lim.learnedRate("user")
		if r != 2.25 || told {
			t.Fatalf("rate after 5 successes = %v (told %v), want 1 + 5×0.25", r, told)
		}
		// A bare 429 halves the rate and blocks the key everywhere for a
		// second, then two, then four.
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			g, err := lim.WaitLearned(ctx, "user")
			if err != nil {
				t.Fatal(err)
			}
			var th *ThrottledError
			err = lim.ObserveLearned(ctx, g, Observation{Remaining: -1, Throttled: true})
			if !errors.As(err, &th) || !th.Until.Equal(time.Now().Add(want)) {
				t.Fatalf("bare 429 #%d: %v, want a block of %s", i+1, err, want)
			}
			other, _ := NewLimiter(Config{Ledger: ledger, MaxWait: -1})
			if _, err := other.Wait(ctx, Learned("user")); !errors.As(err, &th) {
				t.Fatalf("another process during the block: %v, want throttled", err)
			}
		}
		if r, _ := lim.learnedRate("user"); r != 2.25/8 {
			t.Fatalf("rate after three 429s = %v, want 2.25/8", r)
		}
		// Headers: the upstream's count rules, the pacing steps aside.
		g, err := lim.WaitLearned(ctx, "user")
		if err != nil {
			t.Fatal(err)
		}
		reset := time.Now().Add(10 * time.Minute)
		if err := lim.ObserveLearned(ctx, g, Observation{Limit: 300, Remaining: 2, Reset: reset}); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		for range 2 {
			if _, err := lim.WaitLearned(ctx, "user"); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(before) != 0 {
			t.Fatalf("with the upstream's count known, pacing still slowed requests by %s", time.Since(before))
		}
		var th *ThrottledError
		quick, _ := NewLimiter(Config{Ledger: ledger, MaxWait: -1})
		if _, err := quick.WaitLearned(ctx, "user"); !errors.As(err, &th) || !th.Until.Equal(reset) {
			t.Fatalf("past the upstream's remaining: %v, want throttled until its reset", err)
		}
	})
}
