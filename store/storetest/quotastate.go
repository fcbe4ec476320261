package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// This file tests QuotaState, the read-only view of the quota ledger.

func quotaStateStr(s store.QuotaState) string {
	return fmt.Sprintf("{key %q taken %d limit %d closes %s blocked %s sliding %d}",
		s.Key, s.Taken, s.Limit, ptrStr(s.ClosesAt), ptrStr(s.BlockedUntil), s.SlidingTaken)
}

// wantState fails the test unless QuotaState(key, span, now) returns want.
// Times are compared with their zone, so they must come back in UTC.
func wantState(t testing.TB, s store.Store, key string, span time.Duration, now time.Time, want store.QuotaState) {
	t.Helper()
	got, err := s.QuotaState(t.Context(), key, span, now)
	if err != nil {
		t.Fatalf("QuotaState(%s, %v, %s): %v", key, span, timeStr(now), err)
	}
	if g, w := quotaStateStr(got), quotaStateStr(want); g != w {
		t.Fatalf("QuotaState(%s, %v, %s)\n got  %s\n want %s", key, span, timeStr(now), g, w)
	}
}

func (su suite) testQuotaStateWindow(t *testing.T) {
	s := su.newStore(t)
	const window = time.Minute
	closes := ptr(at(window))
	// A key never used reads as the zero state, with no error.
	wantState(t, s, "k", time.Hour, t0, store.QuotaState{Key: "k"})
	take := taker(t, s, "k", 20, window, 0)
	take(t0, 2, granted(1, 2))
	take(at(time.Second), 1, granted(1, 3))
	// Nothing is known beyond the declared limit: Limit is 0. A time in
	// another zone, with nanoseconds, reads the same state, in UTC.
	wantState(t, s, "k", 0, at(2*time.Second), store.QuotaState{Key: "k", Taken: 3, ClosesAt: closes})
	wantState(t, s, "k", 0, at(2*time.Second+500*time.Nanosecond).In(time.FixedZone("CEST", 2*3600)),
		store.QuotaState{Key: "k", Taken: 3, ClosesAt: closes})

	// Request 3 was told 4 remain: the window holds 7.
	observe(t, s, "k", 1, 3, 0, 4, time.Time{}, at(2*time.Second))
	wantState(t, s, "k", 0, at(3*time.Second), store.QuotaState{Key: "k", Taken: 3, Limit: 7, ClosesAt: closes})
	// A reported limit below the cap is the limit; one above it is capped.
	observe(t, s, "k", 1, 3, 6, -1, time.Time{}, at(3*time.Second))
	wantState(t, s, "k", 0, at(4*time.Second), store.QuotaState{Key: "k", Taken: 3, Limit: 6, ClosesAt: closes})
	observe(t, s, "k", 1, 3, 30, -1, time.Time{}, at(4*time.Second))
	wantState(t, s, "k", 0, at(5*time.Second), store.QuotaState{Key: "k", Taken: 3, Limit: 7, ClosesAt: closes})
	// Reading changed nothing: 4 more fit, then the window is full.
	take(at(6*time.Second), 4, granted(1, 7))
	take(at(6*time.Second), 1, refused(at(window)))
	wantState(t, s, "k", 0, at(window-time.Microsecond), store.QuotaState{Key: "k", Taken: 7, Limit: 7, ClosesAt: closes})
	// At its close, and after, no window is open until the next take.
	wantState(t, s, "k", time.Hour, at(window), store.QuotaState{Key: "k"})
	wantState(t, s, "k", time.Hour, at(time.Hour), store.QuotaState{Key: "k"})
	take(at(time.Hour), 1, granted(2, 1))
	wantState(t, s, "k", 0, at(time.Hour), store.QuotaState{Key: "k", Taken: 1, ClosesAt: ptr(at(time.Hour + window))})

	// A limit alone, reported without a remaining, is the limit.
	limited := taker(t, s, "limited", 20, window, 0)
	limited(t0, 1, granted(1, 1))
	observe(t, s, "limited", 1, 1, 9, -1, time.Time{}, at(time.Second))
	wantState(t, s, "limited", 0, at(time.Second), store.QuotaState{Key: "limited", Taken: 1, Limit: 9, ClosesAt: closes})
	// A reset moves the close that QuotaState reports.
	observe(t, s, "limited", 1, 1, 0, -1, at(30*time.Second), at(time.Second))
	wantState(t, s, "limited", 0, at(29*time.Second), store.QuotaState{Key: "limited", Taken: 1, Limit: 9, ClosesAt: ptr(at(30 * time.Second))})
	wantState(t, s, "limited", 0, at(30*time.Second), store.QuotaState{Key: "limited"})
}

func (su suite) testQuotaStateBlock(t *testing.T) {
	s := su.newStore(t)
	// A block on a key never used otherwise; its end is kept rounded up to
	// the microsecond.
	until := at(5 * time.Minute)
	block(t, s, "b", until.Add(-500*time.Nanosecond))
	wantState(t, s, "b", 0, t0, store.QuotaState{Key: "b", BlockedUntil: ptr(until)})
	wantState(t, s, "b", 0, until.Add(-time.Microsecond), store.QuotaState{Key: "b", BlockedUntil: ptr(until)})
	// At its end, and after, it is over.
	wantState(t, s, "b", 0, until, store.QuotaState{Key: "b"})
	wantState(t, s, "b", 0, at(time.Hour), store.QuotaState{Key: "b"})

	// A block over an open window reports both.
	take := taker(t, s, "w", 3, time.Hour, 0)
	take(t0, 2, granted(1, 2))
	block(t, s, "w", until)
	wantState(t, s, "w", 0, at(time.Minute),
		store.QuotaState{Key: "w", Taken: 2, ClosesAt: ptr(at(time.Hour)), BlockedUntil: ptr(until)})
	wantState(t, s, "w", 0, until, store.QuotaState{Key: "w", Taken: 2, ClosesAt: ptr(at(time.Hour))})
}

func (su suite) testQuotaStateSliding(t *testing.T) {
	s := su.newStore(t)
	const span = time.Minute
	spend := func(now time.Time, n int) {
		t.Helper()
		if ok, _, err := s.SpendQuota(t.Context(), "s", 10, span, n, now); err != nil || !ok {
			t.Fatalf("SpendQuota(n=%d, %s) = %v, %v; want granted", n, timeStr(now), ok, err)
		}
	}
	spend(t0, 2)
	spend(at(30*time.Second), 3)
	spend(at(50*time.Second), 1)
	sliding := func(span time.Duration, now time.Time, want int) {
		t.Helper()
		wantState(t, s, "s", span, now, store.QuotaState{Key: "s", SlidingTaken: want})
	}
	sliding(span, at(50*time.Second), 6)
	// A spend counts while it is after now-span, as in SpendQuota.
	sliding(span, at(span-time.Microsecond), 6)
	sliding(span, at(span), 4)
	sliding(20*time.Second, at(50*time.Second), 1)
	sliding(20*time.Second+time.Microsecond, at(50*time.Second), 4)
	sliding(span, at(2*span), 0)
	// A span of 0 counts nothing.
	sliding(0, at(50*time.Second), 0)
	// Reading pruned nothing: the ledger is still full at 50s.
	if ok, retryAt, err := s.SpendQuota(t.Context(), "s", 6, span, 1, at(50*time.Second)); err != nil || ok || !retryAt.Equal(at(span)) {
		t.Fatalf("SpendQuota after QuotaState = %v, %s, %v; want refused until %s", ok, timeStr(retryAt), err, timeStr(at(span)))
	}

	// A key's spends and its fixed window are separate ledgers, read
	// together.
	taker(t, s, "s", 5, time.Hour, 0)(at(50*time.Second), 2, granted(1, 2))
	wantState(t, s, "s", span, at(55*time.Second),
		store.QuotaState{Key: "s", Taken: 2, ClosesAt: ptr(at(50*time.Second + time.Hour)), SlidingTaken: 6})
}

func (su suite) testQuotaStateInvalid(t *testing.T) {
	s := su.newStore(t)
	for _, tc := range []struct {
		name string
		key  string
		span time.Duration
	}{
		{"no key", "", time.Minute},
		{"negative span", "k", -time.Second},
	} {
		_, err := s.QuotaState(t.Context(), tc.key, tc.span, t0)
		if err == nil {
			t.Errorf("QuotaState(%s) succeeded, want an error", tc.name)
		} else if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("QuotaState(%s): error %v is a sentinel", tc.name, err)
		}
	}
}
