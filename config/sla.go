package config

import (
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/sla/calendar"
)

// BusinessHours is one business_hours[] calendar (issue 17): weekly
// working hours in a time zone, minus holidays. SLA targets that name it
// count only its working time.
//
//	business_hours:
//	  - name: office
//	    time_zone: Europe/Helsinki
//	    weekly: {mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00",
//	             thu: "09:00-17:00", fri: "09:00-12:00, 13:00-16:00"}
//	    holidays: ["2026-12-24", "2026-12-25"]
type BusinessHours struct {
	Name     string `yaml:"name"`
	TimeZone string `yaml:"time_zone"`
	// Weekly maps mon..sun to "HH:MM-HH:MM[, HH:MM-HH:MM…]", "24h" or
	// "closed"; a weekday left out is closed.
	Weekly map[string]string `yaml:"weekly"`
	// Holidays are local dates "YYYY-MM-DD" with no working time.
	Holidays []string `yaml:"holidays"`
}

// SLAPolicy is one sla[] policy: targets a conversation should meet,
// counted from the customer's first message (first_response, resolution)
// or latest message after a reply (next_response), in the working time of
// its calendar (none: around the clock). It applies to the conversations
// of its teams, else of its channels; a policy naming neither applies to
// every conversation no other policy claims.
type SLAPolicy struct {
	Name          string   `yaml:"name"`
	FirstResponse Duration `yaml:"first_response"`
	NextResponse  Duration `yaml:"next_response"`
	Resolution    Duration `yaml:"resolution"`
	Calendar      string   `yaml:"calendar"`
	Channels      []string `yaml:"channels"`
	Teams         []string `yaml:"teams"`
}

func (c *Config) validateSLA(v *validator) {
	cals := map[string]bool{}
	for i, b := range c.BusinessHours {
		p := fmt.Sprintf("business_hours[%d]", i)
		if !nameRe.MatchString(b.Name) {
			v.add(p+".name", "%q is not a valid name", b.Name)
		} else if cals[b.Name] {
			v.add(p+".name", "duplicate calendar %q", b.Name)
		}
		cals[b.Name] = true
		for day, hours := range b.Weekly {
			if _, err := calendar.ParseSpans(hours); err != nil {
				v.add(p+".weekly."+day, "%v", err)
			}
			if !slices.Contains(calendar.Weekdays[:], day) {
				v.add(p+".weekly."+day, "%q is not a weekday (mon, tue, wed, thu, fri, sat, sun)", day)
			}
		}
		if _, err := b.Calendar(); err != nil {
			v.add(p, "%v", err)
		}
	}
	names := map[string]bool{}
	channels := map[string]bool{}
	for _, ch := range c.Channels {
		channels[ch.Name] = true
	}
	teams := map[string]bool{}
	for _, t := range c.Teams {
		teams[t.Name] = true
	}
	for i, s := range c.SLA {
		p := fmt.Sprintf("sla[%d]", i)
		if !nameRe.MatchString(s.Name) {
			v.add(p+".name", "%q is not a valid name", s.Name)
		} else if names[s.Name] {
			v.add(p+".name", "duplicate policy %q", s.Name)
		}
		names[s.Name] = true
		for _, d := range []struct {
			k string
			d Duration
		}{{"first_response", s.FirstResponse}, {"next_response", s.NextResponse}, {"resolution", s.Resolution}} {
			if d.d < 0 {
				v.add(p+"."+d.k, "must be positive or empty (no target), got %s", d.d)
			}
		}
		if s.FirstResponse <= 0 && s.NextResponse <= 0 && s.Resolution <= 0 {
			v.add(p, "sets no target (first_response, next_response, resolution)")
		}
		if s.Calendar != "" && !cals[s.Calendar] {
			v.add(p+".calendar", "no business_hours calendar is named %q", s.Calendar)
		}
		for j, ch := range s.Channels {
			if !channels[ch] {
				v.add(fmt.Sprintf("%s.channels[%d]", p, j), "unknown channel %q", ch)
			}
		}
		for j, t := range s.Teams {
			if !teams[t] {
				v.add(fmt.Sprintf("%s.teams[%d]", p, j), "unknown team %q", t)
			}
		}
	}
	agents := map[string]bool{}
	for _, a := range c.Agents {
		agents[a.Name] = true
	}
	for i, t := range c.Teams {
		for j, l := range t.Leads {
			if !agents[l] {
				v.add(fmt.Sprintf("teams[%d].leads[%d]", i, j), "unknown agent %q", l)
			}
		}
	}
}

// Calendar builds the calendar b describes.
func (b BusinessHours) Calendar() (*calendar.Calendar, error) {
	return calendar.New(b.Name, b.TimeZone, b.Weekly, b.Holidays)
}
