package digest

import (
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// Next returns the first time strictly after after at which a digest on
// schedule s is due. Daily and weekly times are wall-clock times in s's time
// zone: on a day when the clocks spring forward over that time the digest
// runs as far after the gap as the time was into it (02:30 becomes 03:30),
// and on a day when they fall back it runs once, at the first of the two
// 02:30s. Hourly digests run on the hour of s's time zone.
func Next(s commands.DigestSchedule, after time.Time) time.Time {
	loc := s.Location()
	if s.Frequency == commands.DigestHourly {
		// On the hour of s's zone, which is not UTC's in zones such as
		// Asia/Kolkata (+05:30).
		_, off := after.In(loc).Zone()
		shift := time.Duration(off) * time.Second
		return after.Add(shift).Truncate(time.Hour).Add(time.Hour - shift)
	}
	y, m, d := after.In(loc).Date()
	for i := 0; i <= 8; i++ {
		if s.Frequency == commands.DigestWeekly {
			if wd := time.Date(y, m, d+i, 12, 0, 0, 0, loc).Weekday(); wd != s.Weekday {
				continue
			}
		}
		c := wallTime(y, m, d+i, s.Hour, s.Minute, loc)
		if c.After(after) {
			return c
		}
	}
	// Unreachable for valid schedules: a day within 8 matches.
	return after.Add(24 * time.Hour)
}

// wallTime returns the instant at which loc's clocks show the date and
// hh:mm. Unlike time.Date, whose choice is unspecified for such times, it
// picks the first of two instants when the clocks fall back, and for a time
// skipped when they spring forward the instant as far after the gap as the
// time is into it (02:30 in a 02:00-03:00 gap becomes 03:30).
func wallTime(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
	shows := func(t time.Time) bool {
		l := t.In(loc)
		return l.Hour() == wall.Hour() && l.Minute() == wall.Minute() && l.Day() == wall.Day()
	}
	// Transitions are months apart, so 12 hours either side of the wall
	// time lie on either side of any transition near it.
	_, before := wall.Add(-12 * time.Hour).In(loc).Zone()
	_, after := wall.Add(12 * time.Hour).In(loc).Zone()
	first := wall.Add(-time.Duration(before) * time.Second)
	if shows(first) {
		return first
	}
	if second := wall.Add(-time.Duration(after) * time.Second); shows(second) {
		return second
	}
	return first // in a gap
}

// Period is the usual length of a window on schedule s, used for a
// subscription's first digest.
func Period(s commands.DigestSchedule) time.Duration {
	switch s.Frequency {
	case commands.DigestHourly:
		return time.Hour
	case commands.DigestWeekly:
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}
