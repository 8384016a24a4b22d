package commands

import (
	"strings"
	"time"
)

// Scheduled changes: every change command takes `--at <time>` or `--in
// <duration>`. The request is approved as usual; the approval that
// completes the count then leaves it scheduled (StatusScheduled) until its
// time, when exactly one replica claims it (Changes.ClaimScheduled) and
// applies it through the same lease as any approved change.

// The scheduling options every change command but kill takes.
const (
	optAt = "at"
	optIn = "in"
)

// Limits on scheduling.
const (
	// minScheduleIn is the shortest --in: anything shorter is "now".
	minScheduleIn = 10 * time.Second
	// maxScheduleAhead is the furthest ahead a change may be scheduled
	// (approvals.MaxScheduleAhead keeps its records that long).
	maxScheduleAhead = 30 * 24 * time.Hour
	// defaultScheduleGrace is how late a scheduled change may still be
	// applied when no replica was running at its time.
	defaultScheduleGrace = time.Hour
	// lateAfter is how late a scheduled change applies before its outcome
	// says it was late (a sweep runs every 30 s by default).
	lateAfter = 2 * time.Minute
)

// Schedule is when a change applies once approved: In after the request
// (--in), or At (--at) as typed, resolved against the clock when the
// change is filed. The zero Schedule applies it as soon as it is approved.
type Schedule struct {
	In time.Duration
	At string
}

// IsZero reports whether s names no time.
func (s Schedule) IsZero() bool { return s.In == 0 && s.At == "" }

// resolve returns the time s names at now (zero for none): a KindInvalid
// error for a time that has passed or is more than 30 days ahead.
func (s Schedule) resolve(now time.Time) (time.Time, error) {
	var at time.Time
	switch {
	case s.In > 0:
		at = now.Add(s.In)
	case s.At != "":
		t, err := scheduleTime(s.At, now)
		if err != nil {
			return time.Time{}, err
		}
		at = t
	default:
		return time.Time{}, nil
	}
	switch {
	case at.Sub(now) < minScheduleIn:
		return time.Time{}, Errorf(KindInvalid, "%s has passed (or is less than 10 seconds away). Give a time in the future, e.g. `--at tomorrow 09:00` or `--in 2h`.", echo(s.At))
	case at.Sub(now) > maxScheduleAhead:
		return time.Time{}, Errorf(KindInvalid, "That is more than 30 days ahead; Flagbot schedules changes up to 30 days ahead.")
	}
	return at.UTC(), nil
}

// scheduleWord is a word of `--at`, lower case.
type scheduleWords struct {
	day   string // "", "today", "tomorrow" or a weekday
	clock string // HH:MM
	tz    string // IANA name, "" for UTC
}

// splitAt reads the words of `--at` other than RFC 3339: `[today|tomorrow|
// mon..sun] HH:MM [TZ]`. ok is false when they are not that.
func splitAt(v string) (scheduleWords, bool) {
	words := strings.Fields(v)
	var w scheduleWords
	if len(words) > 0 {
		lw := strings.ToLower(words[0])
		if _, ok := weekday(lw); ok || lw == "today" || lw == "tomorrow" {
			w.day, words = lw, words[1:]
		}
	}
	if len(words) == 0 {
		return w, false
	}
	w.clock, words = words[0], words[1:]
	if len(words) > 0 {
		w.tz, words = words[0], words[1:]
	}
	return w, len(words) == 0
}

// parseScheduleAt checks an `--at` value without a clock: RFC 3339, or
// `[today|tomorrow|mon..sun] HH:MM [TZ]` with a valid time zone. It returns
// the value normalised (single spaces) or a message saying what is wrong.
func parseScheduleAt(v string) (string, Text) {
	v = strings.Join(strings.Fields(v), " ")
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return v, nil
	}
	w, ok := splitAt(v)
	if !ok {
		return "", Textf("I can't read %s as a time. Give `HH:MM` (24-hour, UTC unless you add a time zone), `tomorrow HH:MM`, a weekday such as `mon 09:00`, or RFC 3339 such as `2030-01-31T09:00:00Z`; a time zone is an IANA name such as `Europe/Berlin`.", echo(v))
	}
	if _, _, ok := clockTime(w.clock); !ok {
		return "", Textf("I don't understand %s as a time: give a 24-hour `HH:MM`, e.g. `09:00` or `17:30`.", echo(w.clock))
	}
	if w.tz != "" {
		if _, err := location(w.tz); err != nil {
			return "", Textf("I don't know the time zone %s. Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`.", echo(w.tz))
		}
	}
	return v, nil
}

// location loads an IANA time zone; "UTC" in any case is UTC and "Local"
// is refused (the server's zone means nothing to the person typing).
func location(name string) (*time.Location, error) {
	if strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	if name == "Local" || name == "" {
		return nil, &Error{Kind: KindInvalid}
	}
	return time.LoadLocation(name)
}

// scheduleTime resolves a checked `--at` value at now.
func scheduleTime(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	w, ok := splitAt(v)
	h, m, okClock := clockTime(w.clock)
	loc := time.UTC
	if ok && w.tz != "" {
		l, err := location(w.tz)
		if err != nil {
			ok = false
		}
		loc = l
	}
	if !ok || !okClock {
		return time.Time{}, Errorf(KindInvalid, "I can't read %s as a time.", echo(v))
	}
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, loc)
	switch w.day {
	case "", "today":
		if !day.After(now) {
			return time.Time{}, Errorf(KindInvalid, "%s has passed today. Say `tomorrow %s` for tomorrow.", echo(v), w.clock)
		}
	case "tomorrow":
		day = time.Date(local.Year(), local.Month(), local.Day()+1, h, m, 0, 0, loc)
	default:
		wd, _ := weekday(w.day)
		for i := 0; i < 8; i++ {
			d := time.Date(local.Year(), local.Month(), local.Day()+i, h, m, 0, 0, loc)
			if d.Weekday() == wd && d.After(now) {
				day = d
				break
			}
		}
	}
	return day, nil
}

// scheduleOpts reads --at and --in.
func (a *parseArgs) scheduleOpts() (Schedule, error) {
	at, hasAt := a.opts[optAt]
	in, hasIn := a.opts[optIn]
	switch {
	case hasAt && hasIn:
		return Schedule{}, a.usagef("Give `--at` or `--in`, not both.")
	case hasIn:
		d, err := time.ParseDuration(strings.TrimSpace(in))
		if err != nil || d <= 0 {
			return Schedule{}, a.usagef("`--in` is a duration such as `90s`, `45m` or `2h`, not %s.", echo(in))
		}
		if d < minScheduleIn {
			return Schedule{}, a.usagef("`--in` is at least 10s; without it the change applies as soon as it is approved.")
		}
		if d > maxScheduleAhead {
			return Schedule{}, a.usagef("`--in` is at most 720h (30 days).")
		}
		return Schedule{In: d}, nil
	case hasAt:
		v, msg := parseScheduleAt(at)
		if msg != nil {
			return Schedule{}, &UsageError{Msg: msg, Help: a.entry}
		}
		return Schedule{At: v}, nil
	}
	return Schedule{}, nil
}

// atWords takes the words of an `--at` value that starts at toks[i]: a day
// word (today, tomorrow, mon..sun) takes the time after it, and a time
// zone (a word with a "/", or UTC) after the time is taken too. It returns
// the value and the index of its last word.
func atWords(toks []parseToken, i int) (string, int) {
	words := []string{toks[i].text}
	lw := strings.ToLower(toks[i].text)
	next := func() (string, bool) {
		if i+1 >= len(toks) {
			return "", false
		}
		if _, isOpt := optionOf(toks[i+1]); isOpt {
			return "", false
		}
		return toks[i+1].text, true
	}
	if _, day := weekday(lw); day || lw == "today" || lw == "tomorrow" {
		if w, ok := next(); ok {
			words, i = append(words, w), i+1
		}
	}
	if _, _, isClock := clockTime(words[len(words)-1]); isClock {
		if w, ok := next(); ok && (strings.Contains(w, "/") || strings.EqualFold(w, "UTC")) {
			words, i = append(words, w), i+1
		}
	}
	return strings.Join(words, " "), i
}
