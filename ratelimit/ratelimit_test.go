package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// memLedger is a sliding-window ledger for tests of the Limiter's logic; the
// real ledgers are the stores, tested by storetest.
type memLedger struct {
	mu     sync.Mutex
	spends map[string][]time.Time
	calls  int
}

func (m *memLedger) SpendQuota(_ context.Context, key string, limit int, span time.Duration, n int, now time.Time) (bool, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.spends == nil {
		m.spends = map[string][]time.Time{}
	}
	var live []time.Time
	for _, at := range m.spends[key] {
		if at.After(now.Add(-span)) {
			live = append(live, at)
		}
	}
	m.spends[key] = live
	if len(live)+n <= limit {
		for range n {
			m.spends[key] = append(m.spends[key], now)
		}
		return true, time.Time{}, nil
	}
	// The oldest spend whose expiry makes room.
	return false, live[len(live)+n-limit-1].Add(span), nil
}

func TestLimiterNeverExceedsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, err := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		q := Quota{Key: "x", Limit: 50, Window: 15 * time.Minute}
		start := time.Now()
		var sent []time.Time
		for range 160 {
			if err := lim.Wait(t.Context(), q); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, time.Now())
		}
		// Window-aware burst: the first 50 go at once.
		if got := sent[49].Sub(start); got != 0 {
			t.Errorf("50th request after %s, want at once", got)
		}
		// Never more than Limit in any window (checked over every start).
		for i := range sent {
			n := 0
			for j := i; j < len(sent) && sent[j].Sub(sent[i]) < q.Window; j++ {
				n++
			}
			if n > q.Limit {
				t.Fatalf("%d requests in the window from %s", n, sent[i].Sub(start))
			}
		}
		// And the quota is used to the full: 160 requests need four windows.
		if got, want := sent[159].Sub(start), 3*(q.Window+time.Second); got != want {
			t.Errorf("160th request after %s, want %s", got, want)
		}
	})
}

func TestLimiterThrottlesBeyondMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, _ := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: 2 * time.Second})
		q := Quota{Key: "x", Limit: 2, Window: time.Minute}
		for range 2 {
			if err := lim.Wait(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		err := lim.Wait(t.Context(), q)
		var th *ThrottledError
		if !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
		if want := time.Now().Add(61 * time.Second); !th.Until.Equal(want) || th.Key != "x" {
			t.Errorf("ThrottledError = %+v, want key x until %s", th, want)
		}
		// A second refusal comes from the cache, not the ledger.
		calls := ledger.calls
		if err := lim.Wait(t.Context(), q); !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
		if ledger.calls != calls {
			t.Errorf("ledger asked again while the quota was known to be spent")
		}
		// Within MaxWait of the reset, Wait sleeps instead.
		time.Sleep(59 * time.Second)
		if err := lim.Wait(t.Context(), q); err != nil {
			t.Fatalf("Wait near the reset = %v, want nil after sleeping", err)
		}
	})
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: time.Hour})
		q := Quota{Key: "x", Limit: 1, Window: time.Minute}
		if err := lim.Wait(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := lim.Wait(ctx, q); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want deadline exceeded", err)
		}
	})
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in     string
		limit  int
		window time.Duration
		ok     bool
	}{
		{"900/15m", 900, 15 * time.Minute, true},
		{" 50 / 2s ", 50, 2 * time.Second, true},
		{"1/s", 1, time.Second, true},
		{"10000/h", 10000, time.Hour, true},
		{"900", 0, 0, false},
		{"0/15m", 0, 0, false},
		{"-1/15m", 0, 0, false},
		{"abc/15m", 0, 0, false},
		{"900/0s", 0, 0, false},
		{"900/fortnight", 0, 0, false},
		{"900/-1m", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			limit, window, err := ParseLimit(tt.in)
			if (err == nil) != tt.ok || limit != tt.limit || window != tt.window {
				t.Errorf("ParseLimit(%q) = %d, %s, %v; want %d, %s, ok=%v", tt.in, limit, window, err, tt.limit, tt.window, tt.ok)
			}
		})
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"900/15m", "1/s", "3500/15m", "10000/720h", "/", "9999999999999999999/1ns", "1/-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limit, window, err := ParseLimit(s)
		if err != nil {
			return
		}
		if limit <= 0 || window <= 0 {
			t.Fatalf("ParseLimit(%q) = %d, %s without error", s, limit, window)
		}
		if err := (Quota{Key: "k", Limit: limit, Window: window}).Validate(); err != nil {
			t.Fatalf("parsed quota invalid: %v", err)
		}
	})
}
