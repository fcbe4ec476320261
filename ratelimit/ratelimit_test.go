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
	mu      sync.Mutex
	spends  map[string][]time.Time
	windows map[string]*memWindow
	blocks  map[string]time.Time
	calls   int
}

type memWindow struct {
	generation int64
	closes     time.Time
	taken      int
	limit      int
	cap        int // -1 for none
}

func (m *memLedger) TakeWindow(_ context.Context, key string, limit int, window, margin time.Duration, n int, now time.Time) (bool, int64, int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if until := m.blocks[key]; now.Before(until) {
		return false, 0, 0, until, nil
	}
	if m.windows == nil {
		m.windows = map[string]*memWindow{}
	}
	w := m.windows[key]
	if w == nil {
		w = &memWindow{}
		m.windows[key] = w
	}
	if w.closes.IsZero() || !now.Before(w.closes) {
		*w = memWindow{generation: w.generation + 1, closes: now.Add(window), limit: limit, cap: -1}
	}
	effective := w.limit
	if w.cap >= 0 {
		effective = min(effective, w.cap)
	}
	if w.taken+n > effective {
		return false, 0, 0, w.closes, nil
	}
	w.taken += n
	return true, w.generation, w.taken, time.Time{}, nil
}

func (m *memLedger) ObserveWindow(_ context.Context, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.windows[key]
	if w == nil || w.generation != generation {
		return nil
	}
	if reset.After(now) {
		w.closes = reset
	}
	if limit > 0 {
		w.limit = limit
	}
	if remaining >= 0 {
		w.cap = ordinal + remaining
	}
	return nil
}

func (m *memLedger) BlockQuota(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blocks == nil {
		m.blocks = map[string]time.Time{}
	}
	if until.After(m.blocks[key]) {
		m.blocks[key] = until
	}
	return nil
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

func TestLimiterSlidingNeverExceedsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, err := NewLimiter(Config{Ledger: ledger, Margin: time.Second, MaxWait: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		q := Quota{Key: "x", Limit: 50, Window: 15 * time.Minute, Sliding: true}
		start := time.Now()
		var sent []time.Time
		for range 160 {
			if _, err := lim.Wait(t.Context(), q); err != nil {
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
		q := Quota{Key: "x", Limit: 2, Window: time.Minute, Sliding: true}
		for range 2 {
			if _, err := lim.Wait(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		_, err := lim.Wait(t.Context(), q)
		var th *ThrottledError
		if !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
		if want := time.Now().Add(61 * time.Second); !th.Until.Equal(want) || th.Key != "x" {
			t.Errorf("ThrottledError = %+v, want key x until %s", th, want)
		}
		// A second refusal comes from the cache, not the ledger.
		calls := ledger.calls
		if _, err := lim.Wait(t.Context(), q); !errors.As(err, &th) {
			t.Fatalf("Wait = %v, want *ThrottledError", err)
		}
		if ledger.calls != calls {
			t.Errorf("ledger asked again while the quota was known to be spent")
		}
		// Within MaxWait of the reset, Wait sleeps instead.
		time.Sleep(59 * time.Second)
		if _, err := lim.Wait(t.Context(), q); err != nil {
			t.Fatalf("Wait near the reset = %v, want nil after sleeping", err)
		}
	})
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: time.Hour})
		q := Quota{Key: "x", Limit: 1, Window: time.Minute}
		if _, err := lim.Wait(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		// A wait that cannot end by halfway to the deadline is given back
		// at once, rather than slept into a timeout.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		var th *ThrottledError
		start := time.Now()
		if _, err := lim.Wait(ctx, q); !errors.As(err, &th) || time.Since(start) != 0 {
			t.Fatalf("Wait = %v after %s, want throttled at once", err, time.Since(start))
		}
		// A sleep within bounds ends when ctx does.
		ctx, cancel = context.WithCancel(t.Context())
		go func() {
			time.Sleep(10 * time.Second)
			cancel()
		}()
		if _, err := lim.Wait(ctx, q); !errors.Is(err, context.Canceled) || time.Since(start) != 10*time.Second {
			t.Fatalf("Wait = %v after %s, want cancelled after 10s", err, time.Since(start))
		}
	})
}

// Fixed windows, as X counts: the quota is used to the full, a window at a
// time, and never more in one.
func TestLimiterFixedWindowsUsedToTheFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, Margin: time.Second, MaxWait: time.Hour})
		q := Quota{Key: "x", Limit: 50, Window: 15 * time.Minute}
		start := time.Now()
		span := q.Window + time.Second // widened by the margin, no headers to align it
		perWindow := map[time.Duration]int{}
		for range 160 {
			if _, err := lim.Wait(t.Context(), q); err != nil {
				t.Fatal(err)
			}
			perWindow[time.Since(start)/span]++
		}
		for w, n := range perWindow {
			if n != 50 && !(w == 3 && n == 10) {
				t.Fatalf("window %d admitted %d requests: %v", w, n, perWindow)
			}
		}
		if got := time.Since(start); got != 3*span {
			t.Fatalf("160 requests took %s, want exactly 3 windows", got)
		}
	})
}

// The upstream's headers win: a remaining count lower than pacer's estimate
// caps the window, a reset moves it, and a 429 blocks the quota until the
// reset without counting as a failure.
func TestLimiterObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledger := &memLedger{}
		lim, _ := NewLimiter(Config{Ledger: ledger, MaxWait: -1})
		q := Quota{Key: "x", Limit: 100, Window: 15 * time.Minute}
		g, err := lim.Wait(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		reset := time.Now().Add(5 * time.Minute)
		// Someone else used the app's quota: only 2 remain after ours.
		if err := lim.Observe(t.Context(), g, Observation{Limit: 100, Remaining: 2, Reset: reset}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := lim.Wait(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		var th *ThrottledError
		if _, err := lim.Wait(t.Context(), q); !errors.As(err, &th) || !th.Until.Equal(reset) {
			t.Fatalf("Wait past the upstream's remaining = %v, want throttled until its reset %s", err, reset)
		}
		time.Sleep(5 * time.Minute)
		g, err = lim.Wait(t.Context(), q)
		if err != nil {
			t.Fatalf("after the upstream's reset: %v", err)
		}
		// A 429 blocks the quota until its reset in every process (the
		// ledger), and says so.
		reset = time.Now().Add(7 * time.Minute)
		err = lim.Observe(t.Context(), g, Observation{Limit: 100, Remaining: 0, Reset: reset, Throttled: true})
		if !errors.As(err, &th) || th.Key != "x" || !th.Until.Equal(reset) {
			t.Fatalf("Observe(429) = %v, want throttled until %s", err, reset)
		}
		other, _ := NewLimiter(Config{Ledger: ledger, MaxWait: -1}) // another process
		if _, err := other.Wait(t.Context(), q); !errors.As(err, &th) || !th.Until.Equal(reset) {
			t.Fatalf("another process after a 429: %v, want throttled until %s", err, reset)
		}
		// A 429 that names no reset blocks for a window.
		time.Sleep(7 * time.Minute)
		g, _ = lim.Wait(t.Context(), q)
		err = lim.Observe(t.Context(), g, Observation{Remaining: -1, Throttled: true})
		if !errors.As(err, &th) || !th.Until.Equal(time.Now().Add(q.Window)) {
			t.Fatalf("Observe(bare 429) = %v", err)
		}
	})
}

// Several quotas at once: each request spends one of every quota, and the
// tightest one sets the pace.
func TestLimiterSeveralQuotas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim, _ := NewLimiter(Config{Ledger: &memLedger{}, MaxWait: time.Hour})
		window := Quota{Key: "x-15m", Limit: 900, Window: 15 * time.Minute}
		perSecond := Quota{Key: "x-1s", Limit: 1, Window: time.Second, Sliding: true}
		month := Quota{Key: "x-month", Limit: 5, Window: 720 * time.Hour}
		start := time.Now()
		for range 5 {
			if _, err := lim.Wait(t.Context(), window, perSecond, month); err != nil {
				t.Fatal(err)
			}
		}
		// One per second, with the sliding window widened by the margin.
		if got := time.Since(start); got != 4*2*time.Second {
			t.Fatalf("5 requests took %s, want 8s", got)
		}
		lim2, _ := NewLimiter(Config{Ledger: lim.ledger, MaxWait: -1})
		var th *ThrottledError
		if _, err := lim2.Wait(t.Context(), window, perSecond, month); !errors.As(err, &th) || th.Key != "x-1s" && th.Key != "x-month" {
			t.Fatalf("sixth request = %v, want throttled", err)
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
