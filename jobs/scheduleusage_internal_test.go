package jobs

import (
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// TestRunsPerWindow checks the most runs of a schedule that one quota
// window can hold: a cron that fires twice close together, then not for a
// day, needs two runs' requests per window, not a run per shortest gap.
func TestRunsPerWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		every  time.Duration
		cron   string
		window time.Duration
		want   int
	}{
		{name: "every 5m, 15m window", every: 5 * time.Minute, window: 15 * time.Minute, want: 3},
		{name: "every 7h, 24h window", every: 7 * time.Hour, window: 24 * time.Hour, want: 4},
		{name: "every 1h, 15m window", every: time.Hour, window: 15 * time.Minute, want: 1},
		{name: "09:00 and 10:00 daily, 24h window", cron: "0 9,10 * * *", window: 24 * time.Hour, want: 2},
		{name: "twice an hour 5m apart, 1h window", cron: "0,5 * * * *", window: time.Hour, want: 2},
		{name: "every 15m, 15m window", cron: "*/15 * * * *", window: 15 * time.Minute, want: 1},
		{name: "every minute, 24h window", cron: "* * * * *", window: 24 * time.Hour, want: 1440},
		{name: "weekdays at 9, 7-day window", cron: "0 9 * * mon-fri", window: 7 * 24 * time.Hour, want: 5},
		{name: "09:00 and 10:00 daily, 30-day window", cron: "0 9,10 * * *", window: 30 * 24 * time.Hour, want: 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := store.Schedule{Every: tc.every, Cron: tc.cron, TimeZone: "UTC", NextDue: t0}
			if tc.cron != "" {
				next, err := NextDue(sc, t0.Add(-time.Nanosecond))
				if err != nil {
					t.Fatal(err)
				}
				sc.NextDue = next
			}
			if got := runsPerWindow(sc, tc.window); got != tc.want {
				t.Errorf("runsPerWindow = %d, want %d", got, tc.want)
			}
		})
	}
}
