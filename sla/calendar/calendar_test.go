package calendar

import (
	"fmt"
	"testing"
	"time"
)

var helsinki = mustZone("Europe/Helsinki")

func mustZone(n string) *time.Location {
	l, err := time.LoadLocation(n)
	if err != nil {
		panic(err)
	}
	return l
}

func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, helsinki)
	if err != nil {
		panic(err)
	}
	return t
}

func office(t testing.TB) *Calendar {
	t.Helper()
	workday := "09:00-17:00"
	c, err := New("office", "Europe/Helsinki", map[string]string{"mon": workday, "tue": workday,
		"wed": workday, "thu": workday, "fri": workday}, []string{"2026-12-24", "2026-12-25"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCalendarAdd: due times in working time, exact across nights,
// weekends, holidays and both DST changes (2026-12-07 is a Monday; DST
// in Helsinki starts 2026-03-29 and ends 2026-10-25, both Sundays).
func TestCalendarAdd(t *testing.T) {
	c := office(t)
	for _, tc := range []struct {
		name, from string
		d          time.Duration
		want       string
	}{
		{"same day", "2026-12-07 10:00", 4 * time.Hour, "2026-12-07 14:00"},
		{"ends exactly at closing", "2026-12-07 09:00", 8 * time.Hour, "2026-12-07 17:00"},
		{"over the night", "2026-12-07 16:00", 4 * time.Hour, "2026-12-08 12:00"},
		{"written at night", "2026-12-08 22:00", 30 * time.Minute, "2026-12-09 09:30"},
		{"written before opening", "2026-12-09 06:15", time.Hour, "2026-12-09 10:00"},
		{"over the weekend", "2026-12-11 16:00", 2 * time.Hour, "2026-12-14 10:00"},
		{"written on saturday", "2026-12-12 12:00", time.Hour, "2026-12-14 10:00"},
		{"over christmas holidays and weekend", "2026-12-23 16:00", 2 * time.Hour, "2026-12-28 10:00"},
		{"written on a holiday", "2026-12-24 10:00", 8 * time.Hour, "2026-12-28 17:00"},
		{"a week of work", "2026-12-07 09:00", 40 * time.Hour, "2026-12-11 17:00"},
		{"over spring DST weekend", "2026-03-27 16:00", 2 * time.Hour, "2026-03-30 10:00"},
		{"over autumn DST weekend", "2026-10-23 16:00", 2 * time.Hour, "2026-10-26 10:00"},
		{"zero target", "2026-12-12 12:00", 0, "2026-12-12 12:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Add(local(tc.from), tc.d)
			if want := local(tc.want); !got.Equal(want) {
				t.Fatalf("Add(%s, %s) = %s, want %s", tc.from, tc.d, got.In(helsinki), want)
			}
			if tc.d > 0 {
				if b := c.Between(local(tc.from), got); b != tc.d {
					t.Fatalf("Between(%s, due) = %s, want %s", tc.from, b, tc.d)
				}
			}
		})
	}
	// The spring weekend is an hour shorter in UTC, the autumn one longer.
	if d := local("2026-03-30 10:00").Sub(local("2026-03-27 16:00")); d != 65*time.Hour {
		t.Fatalf("spring weekend spans %s of wall time", d)
	}
	if d := local("2026-10-26 10:00").Sub(local("2026-10-23 16:00")); d != 67*time.Hour {
		t.Fatalf("autumn weekend spans %s of wall time", d)
	}
}

// TestCalendarDSTDays: a whole-day calendar counts 23 hours on the spring
// Sunday and 25 on the autumn one.
func TestCalendarDSTDays(t *testing.T) {
	c, err := New("sundays", "Europe/Helsinki", map[string]string{"sun": "24h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		day  string
		want time.Duration
	}{{"2026-03-29", 23 * time.Hour}, {"2026-10-25", 25 * time.Hour}, {"2026-11-01", 24 * time.Hour}} {
		start := local(tc.day + " 00:00")
		if got := c.Between(start, start.Add(48*time.Hour)); got != tc.want {
			t.Errorf("%s: %s of working time, want %s", tc.day, got, tc.want)
		}
		if got := c.Add(start, tc.want); !got.Equal(start.AddDate(0, 0, 1)) {
			t.Errorf("%s: Add(%s) = %s, want the next midnight", tc.day, tc.want, got.In(helsinki))
		}
	}
}

func TestAroundTheClock(t *testing.T) {
	var c *Calendar
	t0 := time.Date(2026, 12, 12, 12, 0, 0, 0, time.UTC)
	if got := c.Add(t0, 3*time.Hour); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Fatal(got)
	}
	if got := c.Between(t0, t0.Add(time.Hour)); got != time.Hour {
		t.Fatal(got)
	}
}

func TestParseSpans(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"09:00-17:00", "[{540 1020}]", false},
		{"8:00-12:00, 13:00-17:30", "[{480 720} {780 1050}]", false},
		{"09:00-12:00,12:00-17:00", "[{540 1020}]", false},
		{"24h", "[{0 1440}]", false},
		{"00:00-24:00", "[{0 1440}]", false},
		{"closed", "[]", false},
		{"", "[]", false},
		{"17:00-09:00", "", true},
		{"09:00-12:00, 11:00-13:00", "", true},
		{"13:00-14:00, 09:00-10:00", "", true},
		{"9-17", "", true},
		{"09:60-10:00", "", true},
		{"24:30-25:00", "", true},
		{"+9:00-10:00", "", true},
		{"09:00", "", true},
	} {
		got, err := ParseSpans(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseSpans(%q) error %v", tc.in, err)
			continue
		}
		if !tc.err {
			if s := fmt.Sprint(got); s != tc.want && !(tc.want == "[]" && len(got) == 0) {
				t.Errorf("ParseSpans(%q) = %s, want %s", tc.in, s, tc.want)
			}
		}
	}
}

func TestNewCalendarErrors(t *testing.T) {
	for _, tc := range []struct {
		zone   string
		weekly map[string]string
		hol    []string
	}{
		{"Mars/Olympus", map[string]string{"mon": "09:00-17:00"}, nil},
		{"", map[string]string{"mon": "09:00-17:00"}, nil},
		{"UTC", map[string]string{"monday": "09:00-17:00"}, nil},
		{"UTC", map[string]string{"mon": "closed"}, nil},
		{"UTC", map[string]string{"mon": "09:00-17:00"}, []string{"24.12.2026"}},
	} {
		if _, err := New("x", tc.zone, tc.weekly, tc.hol); err == nil {
			t.Errorf("New(%q, %v, %v) accepted", tc.zone, tc.weekly, tc.hol)
		}
	}
}

// FuzzParseSpans: never panics; what it accepts is ordered, disjoint and
// within the day, and Add/Between agree on a calendar built from it.
func FuzzParseSpans(f *testing.F) {
	for _, s := range []string{"09:00-17:00", "08:00-12:00, 13:00-17:00", "24h", "closed", "00:00-24:00", "9:5-10:00", "23:59-24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spans, err := ParseSpans(s)
		if err != nil {
			return
		}
		prev := -1
		for _, sp := range spans {
			if sp.Start < 0 || sp.End > 24*60 || sp.Start >= sp.End || sp.Start <= prev {
				t.Fatalf("ParseSpans(%q) = %v", s, spans)
			}
			prev = sp.End
		}
		if len(spans) == 0 {
			return
		}
		c, err := New("f", "Europe/Helsinki", map[string]string{"wed": s, "sat": s}, []string{"2026-03-28"})
		if err != nil {
			t.Fatalf("spans %v parse but make no calendar: %v", spans, err)
		}
		from := local("2026-03-25 11:11")
		due := c.Add(from, 90*time.Minute)
		if got := c.Between(from, due); got != 90*time.Minute {
			t.Fatalf("%q: Between(from, Add(from, 90m)) = %s", s, got)
		}
	})
}
