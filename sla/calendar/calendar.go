package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // calendars name IANA zones; the static binary carries them
)

// Span is one stretch of working time in a day, in minutes after local
// midnight: Start < End <= 24*60.
type Span struct{ Start, End int }

// ErrHours: a weekly-hours value that does not parse.
var ErrHours = errors.New("business hours")

// ParseSpans parses one weekday's hours: "09:00-17:00", several ranges
// separated by commas ("08:00-12:00, 13:00-17:00"), "24h" (the whole day)
// or "" / "closed" (none). Ranges must be ascending and may not overlap;
// a range ends at most at 24:00 (a night shift is two days' ranges).
func ParseSpans(s string) ([]Span, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "closed":
		return nil, nil
	case "24h":
		return []Span{{0, 24 * 60}}, nil
	}
	var out []Span
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a range HH:MM-HH:MM", ErrHours, part)
		}
		start, err := parseClock(strings.TrimSpace(a))
		if err != nil {
			return nil, err
		}
		end, err := parseClock(strings.TrimSpace(b))
		if err != nil {
			return nil, err
		}
		if start >= end {
			return nil, fmt.Errorf("%w: %q ends before it starts (a night shift is two days' ranges)", ErrHours, part)
		}
		if n := len(out); n > 0 && start < out[n-1].End {
			return nil, fmt.Errorf("%w: %q overlaps or precedes the range before it", ErrHours, part)
		}
		if n := len(out); n > 0 && start == out[n-1].End {
			out[n-1].End = end // 09:00-12:00,12:00-17:00 is one stretch
			continue
		}
		out = append(out, Span{start, end})
	}
	return out, nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%w: %q is not a time HH:MM", ErrHours, s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || h[0] == '+' || h[0] == '-' || m[0] == '+' || m[0] == '-' ||
		hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%w: %q is not a time HH:MM", ErrHours, s)
	}
	return hh*60 + mm, nil
}

// Weekday keys of a calendar's weekly hours, Sunday first (time.Weekday).
var Weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Calendar is a business-hours calendar: weekly working hours in a time
// zone, minus holidays. The zero Calendar (and a nil *Calendar) is open
// around the clock.
type Calendar struct {
	Name     string
	loc      *time.Location
	week     [7][]Span
	holidays map[string]bool // "2006-01-02", local dates
	open     bool            // some weekday has hours
}

// New builds a calendar. weekly maps weekday keys (Weekdays) to
// ParseSpans values; a weekday left out is closed. holidays are local
// dates "2006-01-02" on which nothing is worked.
func New(name, zone string, weekly map[string]string, holidays []string) (*Calendar, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return nil, fmt.Errorf("%w: unknown time zone %q", ErrHours, zone)
	}
	c := &Calendar{Name: name, loc: loc, holidays: map[string]bool{}}
	for k, v := range weekly {
		i := weekdayIndex(k)
		if i < 0 {
			return nil, fmt.Errorf("%w: %q is not a weekday (mon, tue, wed, thu, fri, sat, sun)", ErrHours, k)
		}
		spans, err := ParseSpans(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		c.week[i] = spans
		c.open = c.open || len(spans) > 0
	}
	if !c.open {
		return nil, fmt.Errorf("%w: no working hours on any weekday", ErrHours)
	}
	for _, h := range holidays {
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("%w: holiday %q is not a date YYYY-MM-DD", ErrHours, h)
		}
		c.holidays[d.Format(time.DateOnly)] = true
	}
	return c, nil
}

func weekdayIndex(k string) int {
	k = strings.ToLower(strings.TrimSpace(k))
	for i, w := range Weekdays {
		if k == w {
			return i
		}
	}
	return -1
}

// always reports whether c counts every instant (no calendar).
func (c *Calendar) always() bool { return c == nil || c.loc == nil }

// maxDays bounds the walk of Add: a calendar with hours on some weekday
// works within a week unless holidays fill it, and no sane list of
// holidays fills ten years.
const maxDays = 3660

// intervals calls fn with the working intervals of the local day that
// starts at day (local midnight), in order, until fn returns false.
func (c *Calendar) intervals(y int, m time.Month, d int, fn func(a, b time.Time) bool) bool {
	day := time.Date(y, m, d, 0, 0, 0, 0, c.loc)
	if c.holidays[day.Format(time.DateOnly)] {
		return true
	}
	for _, s := range c.week[day.Weekday()] {
		// time.Date normalises a wall time a DST change skips (02:30 on
		// the spring-forward night) and picks the first of a repeated one;
		// 24:00 is the next midnight.
		a := time.Date(y, m, d, s.Start/60, s.Start%60, 0, 0, c.loc)
		b := time.Date(y, m, d, s.End/60, s.End%60, 0, 0, c.loc)
		if !b.After(a) {
			continue
		}
		if !fn(a, b) {
			return false
		}
	}
	return true
}

// Add returns the instant at which d of working time has passed since t
// (UTC). A target of d <= 0 is due at t itself.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if c.always() || d <= 0 {
		return t.Add(max(d, 0))
	}
	left := d
	var due time.Time
	lt := t.In(c.loc)
	y, m, dd := lt.Date()
	for i := 0; i < maxDays && due.IsZero(); i++ {
		c.intervals(y, m, dd+i, func(a, b time.Time) bool {
			if !b.After(t) {
				return true
			}
			if a.Before(t) {
				a = t
			}
			if span := b.Sub(a); span >= left {
				due = a.Add(left)
				return false
			} else {
				left -= span
			}
			return true
		})
	}
	if due.IsZero() {
		return t.Add(maxDays * 24 * time.Hour)
	}
	return due.UTC()
}

// Between returns the working time in [a, b) (0 when b is not after a).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.always() {
		return b.Sub(a)
	}
	var sum time.Duration
	la := a.In(c.loc)
	y, m, dd := la.Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, m, dd+i, 0, 0, 0, 0, c.loc)
		if !day.Before(b) {
			break
		}
		c.intervals(y, m, dd+i, func(x, z time.Time) bool {
			if x.Before(a) {
				x = a
			}
			if z.After(b) {
				z = b
			}
			if z.After(x) {
				sum += z.Sub(x)
			}
			return true
		})
	}
	return sum
}
