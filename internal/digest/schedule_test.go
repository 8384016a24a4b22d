package digest

import (
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestNext(t *testing.T) {
	t.Parallel()
	berlin, ny := mustLoc(t, "Europe/Berlin"), mustLoc(t, "America/New_York")
	daily := func(h, m int, tz string) commands.DigestSchedule {
		return commands.DigestSchedule{Frequency: commands.DigestDaily, Hour: h, Minute: m, TZ: tz}
	}
	weekly := func(d time.Weekday, h, m int, tz string) commands.DigestSchedule {
		return commands.DigestSchedule{Frequency: commands.DigestWeekly, Weekday: d, Hour: h, Minute: m, TZ: tz}
	}
	tests := []struct {
		name  string
		s     commands.DigestSchedule
		after time.Time
		want  time.Time
	}{
		{"daily later today", daily(9, 0, "UTC"), time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)},
		{"daily exactly at the time is the next day", daily(9, 0, "UTC"), time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)},
		{"daily zero TZ is UTC", daily(9, 30, ""), time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)},
		{"daily in Berlin winter", daily(9, 0, "Europe/Berlin"), time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 9, 0, 0, 0, berlin)},
		{"daily Berlin across midnight UTC", daily(0, 30, "Europe/Berlin"), time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 30, 0, 0, berlin)},
		// Spring forward in Berlin: 2026-03-29 02:00 CET -> 03:00 CEST.
		{"Berlin spring forward, before the gap", daily(9, 0, "Europe/Berlin"), time.Date(2026, 3, 28, 9, 0, 0, 0, berlin), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"Berlin spring forward, time in the gap", daily(2, 30, "Europe/Berlin"), time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		// Fall back in Berlin: 2026-10-25 03:00 CEST -> 02:00 CET; 02:30 happens twice.
		{"Berlin fall back, ambiguous time runs once", daily(2, 30, "Europe/Berlin"), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"Berlin fall back, after the first 02:30 the next is tomorrow", daily(2, 30, "Europe/Berlin"), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC)},
		{"Berlin fall back, 9:00 is 8:00 UTC", daily(9, 0, "Europe/Berlin"), time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)},
		// New York: spring forward 2026-03-08, fall back 2026-11-01.
		{"New York spring forward", daily(9, 0, "America/New_York"), time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		{"New York gap time", daily(2, 15, "America/New_York"), time.Date(2026, 3, 8, 0, 0, 0, 0, ny), time.Date(2026, 3, 8, 7, 15, 0, 0, time.UTC)},
		{"New York fall back", daily(9, 0, "America/New_York"), time.Date(2026, 10, 31, 14, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)},
		{"weekly Monday from Friday", weekly(time.Monday, 9, 0, "UTC"), time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		{"weekly same day, later", weekly(time.Friday, 17, 0, "UTC"), time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)},
		{"weekly same day, passed", weekly(time.Friday, 9, 0, "UTC"), time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)},
		{"weekly weekday in the zone, not UTC", weekly(time.Monday, 8, 0, "America/New_York"), time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 8, 0, 0, 0, ny)},
		{"weekly across spring forward", weekly(time.Sunday, 2, 30, "Europe/Berlin"), time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"hourly", commands.DigestSchedule{Frequency: commands.DigestHourly}, time.Date(2026, 11, 27, 5, 59, 59, 0, time.UTC), time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)},
		{"hourly on the hour", commands.DigestSchedule{Frequency: commands.DigestHourly}, time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)},
		{"hourly on the local hour in a half-hour zone", commands.DigestSchedule{Frequency: commands.DigestHourly, TZ: "Asia/Kolkata"}, time.Date(2026, 11, 27, 6, 10, 0, 0, time.UTC), time.Date(2026, 11, 27, 6, 30, 0, 0, time.UTC)},
		{"hourly on the hour in a whole-hour zone", commands.DigestSchedule{Frequency: commands.DigestHourly, TZ: "America/New_York"}, time.Date(2026, 11, 27, 6, 10, 0, 0, time.UTC), time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Next(tt.s, tt.after)
			if !got.Equal(tt.want) {
				t.Errorf("Next(%s, %v) = %v, want %v", tt.s, tt.after.UTC(), got.UTC(), tt.want.UTC())
			}
			if !got.After(tt.after) {
				t.Errorf("Next is not after %v", tt.after)
			}
		})
	}
}

// A daily schedule fires exactly once per calendar day across a year of
// DST changes.
func TestNextOncePerDay(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		for _, hm := range [][2]int{{2, 30}, {9, 0}, {0, 0}, {23, 59}} {
			s := commands.DigestSchedule{Frequency: commands.DigestDaily, Hour: hm[0], Minute: hm[1], TZ: tz}
			loc := s.Location()
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			days := map[string]int{}
			for range 365 {
				at = Next(s, at)
				days[at.In(loc).Format("2006-01-02")]++
			}
			for d, n := range days {
				if n != 1 {
					t.Errorf("%s %02d:%02d: %d runs on %s", tz, hm[0], hm[1], n, d)
				}
			}
			if len(days) != 365 {
				t.Errorf("%s %02d:%02d: runs on %d days, want 365", tz, hm[0], hm[1], len(days))
			}
		}
	}
}
