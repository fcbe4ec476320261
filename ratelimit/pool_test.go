package ratelimit

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitAnySpreadsOverOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, _ := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: -1})
		a := []Quota{{Key: "a", Limit: 4, Window: time.Minute}}
		b := []Quota{{Key: "b", Limit: 4, Window: time.Minute}}
		count := map[int]int{}
		for range 8 {
			i, _, err := lim.WaitAny(t.Context(), [][]Quota{a, b})
			if err != nil {
				t.Fatal(err)
			}
			count[i]++
		}
		if count[0] != 4 || count[1] != 4 {
			t.Fatalf("8 requests went %v, want 4 to each credential", count)
		}
		// Both spent: throttled until the first window closes.
		var th *ThrottledError
		if _, _, err := lim.WaitAny(t.Context(), [][]Quota{a, b}); !errors.As(err, &th) || !th.Until.Equal(time.Now().Add(time.Minute+time.Second)) {
			t.Fatalf("WaitAny with both spent = %v", err)
		}
		// After the reset, a 429 on one sends everything to the other.
		time.Sleep(time.Minute + time.Second)
		i, g, err := lim.WaitAny(t.Context(), [][]Quota{a, b})
		if err != nil {
			t.Fatal(err)
		}
		if err := lim.Observe(t.Context(), g, Observation{Remaining: 0, Reset: time.Now().Add(time.Hour), Throttled: true}); !errors.As(err, &th) {
			t.Fatalf("Observe 429: %v", err)
		}
		for range 4 {
			if j, _, err := lim.WaitAny(t.Context(), [][]Quota{a, b}); err != nil || j != 1-i {
				t.Fatalf("after %d's 429: option %d, %v; want %d", i, j, err, 1-i)
			}
		}
	})
}

// A credential the upstream says has little left gets fewer requests.
func TestWaitAnyPrefersMostLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: -1})
		a := []Quota{{Key: "a", Limit: 100, Window: time.Minute}}
		b := []Quota{{Key: "b", Limit: 100, Window: time.Minute}}
		i, g, err := lim.WaitAny(t.Context(), [][]Quota{a, b})
		if err != nil || i != 0 {
			t.Fatalf("first pick %d, %v", i, err)
		}
		// The upstream says a has 3 left (another client uses it).
		if err := lim.Observe(t.Context(), g, Observation{Remaining: 3, Reset: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if j, _, err := lim.WaitAny(t.Context(), [][]Quota{a, b}); err != nil || j != 1 {
				t.Fatalf("pick %d, %v; want b, which has far more left", j, err)
			}
		}
	})
}
