package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// This file tests the fixed-window ledger (TakeWindow, ObserveWindow) and
// quota blocks (BlockQuota).

// took is what one TakeWindow call returned, as a comparable value.
type took struct {
	ok         bool
	generation int64
	ordinal    int
	retryAt    string // timeStr of retryAt; "" on success
}

func (k took) String() string {
	if k.ok {
		return fmt.Sprintf("granted (generation %d, ordinal %d)", k.generation, k.ordinal)
	}
	return fmt.Sprintf("refused until %s", k.retryAt)
}

func granted(generation int64, ordinal int) took {
	return took{ok: true, generation: generation, ordinal: ordinal}
}

func refused(retryAt time.Time) took { return took{retryAt: timeStr(retryAt)} }

// taker returns a func that calls TakeWindow on s for key with fixed limit,
// window and margin, and fails the test unless the call returns want.
func taker(t testing.TB, s store.Store, key string, limit int, window, margin time.Duration) func(now time.Time, n int, want took) {
	return func(now time.Time, n int, want took) {
		t.Helper()
		ok, generation, ordinal, retryAt, err := s.TakeWindow(t.Context(), key, limit, window, margin, n, now)
		if err != nil {
			t.Fatalf("TakeWindow(%s, n=%d, %s): %v", key, n, timeStr(now), err)
		}
		got := took{ok: ok, generation: generation, ordinal: ordinal}
		if !ok {
			got.retryAt = timeStr(retryAt)
			if generation != 0 || ordinal != 0 {
				t.Fatalf("TakeWindow(%s, n=%d, %s) refused with generation %d, ordinal %d; want zeros",
					key, n, timeStr(now), generation, ordinal)
			}
		} else if !retryAt.IsZero() {
			t.Fatalf("TakeWindow(%s, n=%d, %s) granted with retryAt %s; want zero", key, n, timeStr(now), timeStr(retryAt))
		}
		if got != want {
			t.Fatalf("TakeWindow(%s, n=%d, %s) %s; want %s", key, n, timeStr(now), got, want)
		}
	}
}

func observe(t testing.TB, s store.Store, key string, generation int64, ordinal, limit, remaining int, reset, now time.Time) {
	t.Helper()
	if err := s.ObserveWindow(t.Context(), key, generation, ordinal, limit, remaining, reset, now); err != nil {
		t.Fatalf("ObserveWindow(%s, %d, %d): %v", key, generation, ordinal, err)
	}
}

func block(t testing.TB, s store.Store, key string, until time.Time) {
	t.Helper()
	if err := s.BlockQuota(t.Context(), key, until); err != nil {
		t.Fatalf("BlockQuota(%s, %s): %v", key, timeStr(until), err)
	}
}

func (su suite) testTakeWindow(t *testing.T) {
	s := su.newStore(t)
	const window = 15 * time.Minute
	take := taker(t, s, "k", 3, window, 0)
	// The first take opens a window that closes 15 minutes later; it grants
	// exactly the limit, numbering the requests.
	take(at(time.Second), 1, granted(1, 1))
	take(at(2*time.Second), 1, granted(1, 2))
	take(at(3*time.Second), 1, granted(1, 3))
	closes := at(time.Second + window)
	take(at(4*time.Second), 1, refused(closes))
	take(closes.Add(-time.Microsecond), 1, refused(closes))
	// At its close a new window opens, with a fresh count.
	take(closes, 2, granted(2, 2))
	take(closes.Add(time.Minute), 2, refused(closes.Add(window)))
	take(closes.Add(time.Minute), 1, granted(2, 3))
	// Long after, the next take opens the next window, whenever it comes.
	later := closes.Add(5 * time.Hour)
	take(later, 3, granted(3, 3))
	take(later, 1, refused(later.Add(window)))

	// Another key has windows of its own, and so may a different limit.
	other := taker(t, s, "other", 5, time.Minute, 0)
	other(at(2*time.Second), 5, granted(1, 5))
	other(at(3*time.Second), 1, refused(at(62*time.Second)))
	// Sliding spends of a key are a ledger apart from its window.
	if ok, _, err := s.SpendQuota(t.Context(), "k", 3, window, 3, at(5*time.Second)); err != nil || !ok {
		t.Errorf("SpendQuota of a key with a full window = %v, %v; want granted", ok, err)
	}
}

func (su suite) testTakeWindowSubMicro(t *testing.T) {
	s := su.newStore(t)
	// A window that is not a whole number of microseconds closes at the
	// next microsecond: a take at retryAt opens the next window, and one a
	// microsecond earlier does not. A time in another zone with nanoseconds
	// is kept to the microsecond and retryAt comes back in UTC.
	window := time.Minute + 500*time.Nanosecond
	take := taker(t, s, "k", 1, window, 0)
	take(at(0).In(time.FixedZone("CEST", 2*3600)), 1, granted(1, 1))
	closes := at(time.Minute + time.Microsecond)
	take(at(time.Second), 1, refused(closes))
	take(closes.Add(-time.Microsecond), 1, refused(closes))
	take(closes, 1, granted(2, 1))
}

func (su suite) testTakeWindowLate(t *testing.T) {
	s := su.newStore(t)
	const limit, window, margin = 5, time.Minute, 2 * time.Second
	take := taker(t, s, "k", limit, window, margin)
	take(t0, 2, granted(1, 2))
	// A microsecond before the margin is not late; at it and after, takes
	// are late.
	take(at(58*time.Second-time.Microsecond), 1, granted(1, 3))
	take(at(58*time.Second), 1, granted(1, 4))
	take(at(59*time.Second), 1, granted(1, 5))
	take(at(59*time.Second), 1, refused(at(time.Minute)))
	// The 2 late ones count again in the next window: 3 remain.
	take(at(time.Minute), 1, granted(2, 3))
	take(at(61*time.Second), 2, granted(2, 5))
	take(at(62*time.Second), 1, refused(at(2*time.Minute)))
	// Nothing was late in the second window, so the third starts empty.
	take(at(2*time.Minute), 5, granted(3, 5))

	// They count in the next window whenever it opens.
	idle := taker(t, s, "idle", limit, window, margin)
	idle(t0, 1, granted(1, 1))
	idle(at(59*time.Second), 3, granted(1, 4))
	idle(at(time.Hour), 1, granted(2, 4))
	idle(at(time.Hour), 2, refused(at(time.Hour+window)))

	// With no margin nothing is late, even a microsecond before the close.
	none := taker(t, s, "no margin", limit, window, 0)
	none(t0, 1, granted(1, 1))
	none(at(time.Minute-time.Microsecond), 4, granted(1, 5))
	none(at(time.Minute), 5, granted(2, 5))
}

func (su suite) testTakeWindowConcurrent(t *testing.T) {
	s := su.newStore(t)
	const limit, callers, rounds = 25, 40, 3
	window := time.Minute
	for round := range rounds {
		now := at(time.Duration(round) * window) // each round opens the next window
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ordinals []int
		)
		for range callers {
			wg.Go(func() {
				ok, generation, ordinal, retryAt, err := s.TakeWindow(t.Context(), "shared", limit, window, 0, 1, now)
				if err != nil {
					t.Errorf("TakeWindow: %v", err)
					return
				}
				if !ok {
					if !retryAt.Equal(now.Add(window)) {
						t.Errorf("retryAt = %s, want %s", timeStr(retryAt), timeStr(now.Add(window)))
					}
					return
				}
				if generation != int64(round+1) {
					t.Errorf("generation = %d, want %d", generation, round+1)
				}
				mu.Lock()
				ordinals = append(ordinals, ordinal)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(ordinals)
		want := make([]int, limit)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(ordinals, want) {
			t.Fatalf("round %d: %d of %d concurrent takes granted with ordinals %v, want exactly 1..%d",
				round, len(ordinals), callers, ordinals, limit)
		}
	}
}

func (su suite) testObserveWindowReset(t *testing.T) {
	s := su.newStore(t)
	const window = 15 * time.Minute

	// A reset later than the window's close moves it later: the window
	// stays open, and full, until then.
	later := taker(t, s, "later", 2, window, 0)
	later(t0, 1, granted(1, 1))
	observe(t, s, "later", 1, 1, 0, -1, at(20*time.Minute), at(time.Second))
	later(at(time.Minute), 1, granted(1, 2))
	later(at(15*time.Minute), 1, refused(at(20*time.Minute)))
	later(at(20*time.Minute), 1, granted(2, 1))

	// An earlier one moves it earlier, and the next window opens there.
	earlier := taker(t, s, "earlier", 2, window, 0)
	earlier(t0, 2, granted(1, 2))
	observe(t, s, "earlier", 1, 2, 0, -1, at(5*time.Minute), at(time.Second))
	earlier(at(5*time.Minute-time.Microsecond), 1, refused(at(5*time.Minute)))
	earlier(at(5*time.Minute), 1, granted(2, 1))

	// A reset at or before now is stale; zero is "not said". Neither moves
	// the close. A reset with nanoseconds is rounded up to the microsecond.
	stale := taker(t, s, "stale", 1, window, 0)
	stale(t0, 1, granted(1, 1))
	observe(t, s, "stale", 1, 1, 0, -1, at(time.Second), at(time.Second))
	observe(t, s, "stale", 1, 1, 0, -1, time.Time{}, at(time.Second))
	stale(at(2*time.Second), 1, refused(at(window)))
	observe(t, s, "stale", 1, 1, 0, -1, at(10*time.Minute+time.Nanosecond), at(3*time.Second))
	stale(at(4*time.Second), 1, refused(at(10*time.Minute+time.Microsecond)))

	// A reset that comes after the close estimated here, before a new
	// window opened, reopens the window it belongs to.
	reopen := taker(t, s, "reopen", 1, time.Minute, 0)
	reopen(t0, 1, granted(1, 1))
	observe(t, s, "reopen", 1, 1, 0, -1, at(2*time.Minute), at(61*time.Second))
	reopen(at(90*time.Second), 1, refused(at(2*time.Minute)))
	reopen(at(2*time.Minute), 1, granted(2, 1))
}

func (su suite) testObserveWindowLimit(t *testing.T) {
	s := su.newStore(t)
	const window = time.Minute
	// The upstream's limit replaces the declared one, lower or higher,
	// until the window closes.
	take := taker(t, s, "k", 5, window, 0)
	take(t0, 1, granted(1, 1))
	observe(t, s, "k", 1, 1, 2, -1, time.Time{}, at(time.Second))
	take(at(2*time.Second), 1, granted(1, 2))
	take(at(3*time.Second), 1, refused(at(window)))
	take(at(window), 5, granted(2, 5))
	observe(t, s, "k", 2, 5, 8, -1, time.Time{}, at(window+time.Second))
	take(at(window+2*time.Second), 3, granted(2, 8))
	take(at(window+3*time.Second), 1, refused(at(2*window)))
	// Zero is "not said" and keeps what was observed.
	observe(t, s, "k", 2, 8, 0, -1, time.Time{}, at(window+4*time.Second))
	take(at(window+5*time.Second), 1, refused(at(2*window)))
	// The next window holds the declared limit again.
	take(at(2*window), 5, granted(3, 5))
	take(at(2*window), 1, refused(at(3*window)))
}

func (su suite) testObserveWindowRemaining(t *testing.T) {
	s := su.newStore(t)
	const window = time.Minute
	closes := at(window)
	take := taker(t, s, "k", 10, window, 0)
	for i := range 3 {
		take(t0, 1, granted(1, i+1))
	}
	// Request 2 was told 3 remain: the window holds 5.
	observe(t, s, "k", 1, 2, 0, 3, time.Time{}, at(time.Second))
	take(at(2*time.Second), 2, granted(1, 5))
	take(at(2*time.Second), 1, refused(closes))
	// A lower ordinal's answer, arriving late, does not override it.
	observe(t, s, "k", 1, 1, 0, 9, time.Time{}, at(3*time.Second))
	take(at(3*time.Second), 1, refused(closes))
	// A higher ordinal's does, either way; -1 is "not said".
	observe(t, s, "k", 1, 5, 0, 2, time.Time{}, at(4*time.Second))
	take(at(4*time.Second), 2, granted(1, 7))
	observe(t, s, "k", 1, 6, 0, -1, time.Time{}, at(5*time.Second))
	take(at(5*time.Second), 1, refused(closes))
	observe(t, s, "k", 1, 7, 0, 0, time.Time{}, at(5*time.Second))
	take(at(5*time.Second), 1, refused(closes))
	// A cap never raises the limit: remaining above it still stops there.
	observe(t, s, "k", 1, 7, 0, 100, time.Time{}, at(6*time.Second))
	take(at(6*time.Second), 3, granted(1, 10))
	take(at(6*time.Second), 1, refused(closes))
	// The next window has no cap.
	take(closes, 10, granted(2, 10))

	// remaining 0 with a reset: the upstream's "spent until then".
	spent := taker(t, s, "spent", 10, window, 0)
	spent(t0, 1, granted(1, 1))
	observe(t, s, "spent", 1, 1, 0, 0, at(30*time.Second), at(time.Second))
	spent(at(2*time.Second), 1, refused(at(30*time.Second)))
	spent(at(30*time.Second), 10, granted(2, 10))
}

func (su suite) testObserveWindowStale(t *testing.T) {
	s := su.newStore(t)
	const window = time.Minute
	// An answer about the previous window is ignored.
	take := taker(t, s, "k", 3, window, 0)
	take(t0, 1, granted(1, 1))
	take(at(window), 1, granted(2, 1))
	observe(t, s, "k", 1, 1, 1, 0, at(time.Hour), at(window+time.Second))
	take(at(window+2*time.Second), 2, granted(2, 3))
	take(at(window+3*time.Second), 1, refused(at(2*window)))
	// So is one of a window that never opened, and one of a key that never
	// took a request; neither creates anything.
	observe(t, s, "k", 7, 1, 1, 0, at(time.Hour), at(window+4*time.Second))
	take(at(2*window), 3, granted(3, 3))
	observe(t, s, "never", 1, 1, 1, 0, at(time.Hour), t0)
	taker(t, s, "never", 3, window, 0)(at(time.Second), 3, granted(1, 3))
}

func (su suite) testBlockQuota(t *testing.T) {
	s := su.newStore(t)
	until := at(5 * time.Minute)
	block(t, s, "k", until)
	// Takes and spends of the key are refused until the block's end, and
	// no window opens meanwhile.
	take := taker(t, s, "k", 3, time.Hour, 0)
	take(t0, 1, refused(until))
	take(until.Add(-time.Microsecond), 1, refused(until))
	spend := func(now time.Time, limit, n int, span time.Duration, wantOK bool, wantRetry time.Time) {
		t.Helper()
		ok, retryAt, err := s.SpendQuota(t.Context(), "k", limit, span, n, now)
		if err != nil {
			t.Fatalf("SpendQuota(%s): %v", timeStr(now), err)
		}
		if ok != wantOK || (!ok && !retryAt.Equal(wantRetry)) {
			t.Fatalf("SpendQuota(n=%d, %s) = %v, %s; want %v, %s", n, timeStr(now), ok, timeStr(retryAt), wantOK, timeStr(wantRetry))
		}
	}
	spend(t0, 1, 1, time.Minute, false, until)
	spend(until.Add(-time.Microsecond), 1, 1, time.Minute, false, until)
	// At its end both work again.
	take(until, 1, granted(1, 1))
	spend(until, 1, 1, time.Minute, true, time.Time{})
	// Other keys were never blocked.
	taker(t, s, "other", 3, time.Hour, 0)(t0, 3, granted(1, 3))

	// A block over a window that will still be full when the block ends
	// refuses until the window's close, and a blocked spend until the
	// sliding window has room: a call at retryAt succeeds.
	take(until, 2, granted(1, 3))
	block(t, s, "k", at(10*time.Minute))
	take(at(6*time.Minute), 1, refused(until.Add(time.Hour)))
	// The spend at the first block's end leaves a 1-per-hour ledger at
	// t0+1h5m; a 2-per-hour one has room, but only when the block ends.
	spend(at(6*time.Minute), 1, 1, time.Hour, false, until.Add(time.Hour))
	spend(at(6*time.Minute), 2, 1, time.Hour, false, at(10*time.Minute))
	spend(at(10*time.Minute), 2, 1, time.Hour, true, time.Time{})
}

func (su suite) testBlockQuotaNeverShortens(t *testing.T) {
	s := su.newStore(t)
	take := taker(t, s, "k", 3, time.Minute, 0)
	block(t, s, "k", at(10*time.Minute))
	block(t, s, "k", at(5*time.Minute)) // shorter: ignored
	take(at(7*time.Minute), 1, refused(at(10*time.Minute)))
	block(t, s, "k", at(20*time.Minute)) // longer: extends
	take(at(15*time.Minute), 1, refused(at(20*time.Minute)))
	// A block's end is rounded up to the microsecond; the zero time blocks
	// nothing.
	block(t, s, "k", at(30*time.Minute+time.Nanosecond))
	block(t, s, "k", time.Time{})
	take(at(30*time.Minute), 1, refused(at(30*time.Minute+time.Microsecond)))
	take(at(30*time.Minute+time.Microsecond), 1, granted(1, 1))
	block(t, s, "fresh", time.Time{})
	taker(t, s, "fresh", 3, time.Minute, 0)(t0, 1, granted(1, 1))
}

func (su suite) testQuotaWindowInvalid(t *testing.T) {
	s := su.newStore(t)
	wantInvalid := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s succeeded, want an error", what)
		} else if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: error %v is a sentinel", what, err)
		}
	}
	takes := []struct {
		name   string
		key    string
		limit  int
		window time.Duration
		margin time.Duration
		n      int
	}{
		{"no key", "", 5, time.Minute, 0, 1},
		{"zero limit", "k", 0, time.Minute, 0, 1},
		{"zero window", "k", 5, 0, 0, 1},
		{"negative window", "k", 5, -time.Minute, 0, 1},
		{"negative margin", "k", 5, time.Minute, -time.Second, 1},
		{"zero n", "k", 5, time.Minute, 0, 0},
		{"n above limit", "k", 5, time.Minute, 0, 6},
	}
	for _, tc := range takes {
		ok, _, _, _, err := s.TakeWindow(t.Context(), tc.key, tc.limit, tc.window, tc.margin, tc.n, t0)
		wantInvalid("TakeWindow("+tc.name+")", err)
		if ok {
			t.Errorf("TakeWindow(%s) granted", tc.name)
		}
	}
	// Nothing was recorded.
	taker(t, s, "k", 5, time.Minute, 0)(t0, 5, granted(1, 5))

	observations := []struct {
		name                      string
		key                       string
		generation                int64
		ordinal, limit, remaining int
	}{
		{"no key", "", 1, 1, 0, -1},
		{"zero generation", "k", 0, 1, 0, -1},
		{"zero ordinal", "k", 1, 0, 0, -1},
		{"negative limit", "k", 1, 1, -1, -1},
		{"remaining below -1", "k", 1, 1, 0, -2},
	}
	for _, tc := range observations {
		err := s.ObserveWindow(t.Context(), tc.key, tc.generation, tc.ordinal, tc.limit, tc.remaining, at(time.Hour), t0)
		wantInvalid("ObserveWindow("+tc.name+")", err)
	}
	wantInvalid("BlockQuota(no key)", s.BlockQuota(t.Context(), "", at(time.Hour)))
	// Nothing was recorded: the window still closes at t0+1m.
	taker(t, s, "k", 5, time.Minute, 0)(at(time.Second), 1, refused(at(time.Minute)))
	taker(t, s, "k", 5, time.Minute, 0)(at(time.Minute), 5, granted(2, 5))
}
