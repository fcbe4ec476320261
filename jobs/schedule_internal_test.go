package jobs

import (
	"errors"
	"testing"
	"time"
)

// FuzzScheduleTiming feeds the when-part of a schedule spec (every, cron,
// time zone, policies) to timing: it never panics, refuses with a
// *ValidationError, and what it accepts has a first due time after now and
// a next one after that, at least the minimum interval later.
func FuzzScheduleTiming(f *testing.F) {
	f.Add("1h", "", "", "", "")
	f.Add("", "0 9 * * mon-fri", "Europe/Berlin", "queue", "skip")
	f.Add("", "61 * * * *", "UTC", "", "")
	f.Add("", "@hourly", "America/New_York", "skip", "catch_up_once")
	f.Add("", "*/5 * * * *", "Local", "", "")
	f.Add("30s", "", "Mars/Olympus", "drop", "all")
	f.Add("", "0 0 31 2 *", "", "", "")
	f.Add("", "0 2 29 2 *", "Asia/Kolkata", "", "")
	now := time.Date(2030, 3, 31, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, every, cron, tz, overlap, missed string) {
		s, err := timing(ScheduleSpec{Every: every, Cron: cron, TimeZone: tz, Overlap: overlap, Missed: missed}, time.Minute)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field == "" || ve.Reason == "" {
				t.Fatalf("timing refused with %v, not a validation error naming a field", err)
			}
			return
		}
		first, err := firstDue(s, now)
		if err != nil {
			return // a cron whose next tick is further than gronx looks
		}
		if !first.After(now) {
			t.Fatalf("first due %v is not after now %v (%+v)", first, now, s)
		}
		s.NextDue = first
		next, err := NextDue(s, first)
		if err == nil && next.Sub(first) < time.Minute {
			t.Fatalf("due times %v and %v are closer than the minimum interval (%+v)", first, next, s)
		}
	})
}
