package web

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The current rate counts the last ten seconds, not the job's whole life.
func TestRateWindow(t *testing.T) {
	var w rateWindow
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := w.add(t0, 0); ok {
		t.Fatal("a rate from one sample")
	}
	if _, ok := w.add(t0.Add(time.Second), 0); ok {
		t.Fatal("a rate from one second")
	}
	// Waiting on a quota for a minute, then 100 items a second.
	for i := 2; i <= 60; i++ {
		w.add(t0.Add(time.Duration(i)*time.Second), 0)
	}
	var rate float64
	for i := 61; i <= 80; i++ {
		rate, _ = w.add(t0.Add(time.Duration(i)*time.Second), int64(100*(i-60)))
	}
	if rate < 99 || rate > 101 {
		t.Fatalf("current rate %.1f, want 100 (the average since the start is %.1f)", rate, 2000.0/80)
	}
	if len(w.samples) > 12 {
		t.Fatalf("%d samples kept", len(w.samples))
	}
}

// An event stream ends when its client goes away, when the server closes,
// and when its session expires, even though the job it watches never
// finishes.
func TestStreamEndsWithItsClientAndOnClose(t *testing.T) {
	for _, how := range []string{"client", "close", "session"} {
		var clock atomic.Int64
		t0 := time.Now()
		clock.Store(t0.UnixNano())
		now := func() time.Time { return time.Unix(0, clock.Load()) }
		s := &Server{cfg: Config{LiveInterval: time.Millisecond, NowFunc: now, Logger: slog.New(slog.DiscardHandler)}, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(t.Context())
		ctx = context.WithValue(ctx, sessionKey{}, session{until: t0.Add(time.Hour)})
		r := httptest.NewRequest("GET", "/events", nil).WithContext(ctx)
		polls := make(chan struct{}, 1)
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			s.stream(httptest.NewRecorder(), r, func(context.Context) ([]JobView, bool, error) {
				select {
				case polls <- struct{}{}:
				default:
				}
				return []JobView{{ID: 1, State: "running"}}, false, nil
			})
		}()
		<-polls
		switch how {
		case "client":
			cancel()
		case "close":
			s.Close()
		case "session":
			<-polls
			select {
			case <-ended:
				t.Fatal("the stream ended while its session lasted")
			default:
			}
			clock.Add(int64(time.Hour))
		}
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Fatalf("the stream did not end when the %s went away", how)
		}
		cancel()
	}
}
