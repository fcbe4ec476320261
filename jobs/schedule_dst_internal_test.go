package jobs

import (
	"slices"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

// TestCronDaylightSaving walks cron schedules in Europe/Berlin across the
// days its clocks change in 2026 (forward at 01:00 UTC on 29 March, back at
// 01:00 UTC on 25 October): an expression that names its hours runs once a
// day, its skipped time at the moment the clocks go forward and its
// repeated time only on the first pass; one with * or */n hours runs on
// real time, in both passes of the repeated hour.
func TestCronDaylightSaving(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		cron string
		from string
		want []string // the next due times after from, in UTC
	}{
		{
			name: "02:30 daily, spring: runs when the clocks go forward",
			cron: "30 2 * * *", from: "2026-03-28T12:00:00Z",
			want: []string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
		},
		{
			name: "02:30 daily, autumn: once, on the first pass",
			cron: "30 2 * * *", from: "2026-10-24T12:00:00Z",
			want: []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		{
			name: "03:00 daily, spring: one run, not two",
			cron: "0 3 * * *", from: "2026-03-28T12:00:00Z",
			want: []string{"2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"},
		},
		{
			name: "hourly, autumn: every real hour",
			cron: "0 * * * *", from: "2026-10-24T22:30:00Z",
			want: []string{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		},
		{
			name: "every 30 minutes, autumn: every real half hour",
			cron: "*/30 * * * *", from: "2026-10-24T23:10:00Z",
			want: []string{"2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z"},
		},
		{
			name: "every 30 minutes, spring: nothing to catch up in the skipped hour",
			cron: "*/30 * * * *", from: "2026-03-29T00:10:00Z",
			want: []string{"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"},
		},
		{
			name: "@hourly, spring",
			cron: "@hourly", from: "2026-03-28T23:30:00Z",
			want: []string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := store.Schedule{Cron: tc.cron, TimeZone: "Europe/Berlin"}
			at := utc(tc.from)
			var got, want []time.Time
			for _, w := range tc.want {
				next, err := NextDue(s, at)
				if err != nil {
					t.Fatalf("NextDue after %v: %v", at, err)
				}
				got, want, at = append(got, next), append(want, utc(w)), next
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("due times after %s:\n got %v\nwant %v", tc.from, got, want)
			}
		})
	}
}

// TestFirstDueOnUnixGrid checks that an interval's due times fall on
// multiples of it since the Unix epoch, as ScheduleSpec.Every promises,
// also for an interval that does not divide a day (time.Truncate counts
// from year 1, 62,135,596,800 s earlier, which 7m does not divide).
func TestFirstDueOnUnixGrid(t *testing.T) {
	t.Parallel()
	for _, every := range []time.Duration{7 * time.Minute, 90 * time.Minute, time.Hour, 13 * time.Second} {
		now := time.Date(2026, 11, 22, 3, 44, 10, 5, time.UTC)
		got, err := firstDue(store.Schedule{Every: every}, now)
		if err != nil {
			t.Fatal(err)
		}
		if !got.After(now) || got.Sub(now) > every || got.UnixNano()%int64(every) != 0 {
			t.Errorf("every %s: first due %v, want the first multiple of it since the Unix epoch after %v", every, got, now)
		}
	}
}
