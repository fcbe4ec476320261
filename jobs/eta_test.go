package jobs

import (
	"testing"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
)

func TestEstimate(t *testing.T) {
	now := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	q15 := ratelimit.Quota{Key: "x-15m", Limit: 900, Window: 15 * time.Minute}
	month := ratelimit.Quota{Key: "x-month", Limit: 10000, Window: 30 * 24 * time.Hour}
	fresh := func(q ratelimit.Quota) quotaLeft { return quotaLeft{quota: q, left: q.Limit, limit: q.Limit} }
	tests := []struct {
		name     string
		left     [][]quotaLeft
		requests int
		eta      time.Duration
		refused  bool
	}{
		{"fits a fresh window: at once", [][]quotaLeft{{fresh(q15)}}, 50, 0, false},
		{"exactly a fresh window", [][]quotaLeft{{fresh(q15)}}, 900, 0, false},
		{"one past a fresh window: the next", [][]quotaLeft{{fresh(q15)}}, 901, 15 * time.Minute, false},
		{"three windows' worth", [][]quotaLeft{{fresh(q15)}}, 2700, 30 * time.Minute, false},
		{"half-spent window closing in 5m", [][]quotaLeft{{{quota: q15, left: 100, limit: 900, refill: now.Add(5 * time.Minute)}}}, 1000, 5 * time.Minute, false},
		{"blocked for 7m", [][]quotaLeft{{{quota: q15, left: 0, limit: 900, blocked: now.Add(7 * time.Minute)}}}, 10, 7 * time.Minute, false},
		{"a pool of two halves it", [][]quotaLeft{{fresh(q15)}, {fresh(q15)}}, 2700, 15 * time.Minute, false},
		{"within the monthly budget", [][]quotaLeft{{fresh(q15), {quota: month, left: 3200, limit: 10000, refill: now.Add(9 * 24 * time.Hour)}}}, 3000, 45 * time.Minute, false},
		{"over the monthly budget", [][]quotaLeft{{fresh(q15), {quota: month, left: 3200, limit: 10000, refill: now.Add(9 * 24 * time.Hour)}}}, 3201, 0, true},
		{"a pool's budgets add up", [][]quotaLeft{{{quota: month, left: 3000, limit: 10000}}, {{quota: month, left: 3000, limit: 10000}}}, 5000, 0, false},
		{"a member without a budget lifts it", [][]quotaLeft{{{quota: month, left: 10, limit: 10000}}, {fresh(q15)}}, 5000, 75 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eta, over := estimate(tt.left, tt.requests, now)
			if (over != nil) != tt.refused {
				t.Fatalf("estimate refused = %v (%v), want %v", over != nil, over, tt.refused)
			}
			if !tt.refused && eta != tt.eta {
				t.Fatalf("eta = %s, want %s", eta, tt.eta)
			}
		})
	}
}
