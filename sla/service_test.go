package sla_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

var hel, _ = time.LoadLocation("Europe/Helsinki")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, hel)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func policies(t testing.TB) *sla.Policies {
	t.Helper()
	w := "09:00-17:00"
	cal, err := calendar.New("office", "Europe/Helsinki", map[string]string{"mon": w, "tue": w, "wed": w, "thu": w, "fri": w},
		[]string{"2026-12-24", "2026-12-25"})
	if err != nil {
		t.Fatal(err)
	}
	return sla.NewPolicies([]sla.Policy{
		{Name: "vip", FirstResponse: 30 * time.Minute, Teams: []string{"vip"}},
		{Name: "standard", FirstResponse: 2 * time.Hour, NextResponse: 4 * time.Hour, Resolution: 8 * time.Hour,
			Calendar: cal, Channels: []string{"mail"}},
	})
}

// script drives conversations through timeline.Service on a clock the
// test moves.
type script struct {
	t   *testing.T
	ctx context.Context
	svc *timeline.Service
	now time.Time
	n   int
}

func (s *script) in(conv, team, when string) store.Conversation {
	s.t.Helper()
	s.n++
	s.now = at(when)
	id := "m" + string(rune('a'+s.n))
	_, c, _, err := s.svc.Receive(s.ctx, timeline.Inbound{ThreadKey: "mail|" + conv, ConversationID: conv, Team: team,
		Entry: store.Entry{ID: id, CustomerID: "cust-" + conv, Channel: "mail", Direction: connectors.Inbound, Kind: store.KindMessage, Text: "help", OccurredAt: s.now}})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *script) reply(conv, agent, when string) store.Conversation {
	s.t.Helper()
	s.n++
	s.now = at(when)
	c, err := s.svc.Replied(s.ctx, store.Entry{ID: "o" + string(rune('a'+s.n)), CustomerID: "cust-" + conv, ConversationID: conv,
		Channel: "mail", Direction: connectors.Outbound, Agent: agent, OccurredAt: s.now})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *script) status(conv, status, when string) store.Conversation {
	s.t.Helper()
	s.now = at(when)
	c, err := s.svc.SetStatus(s.ctx, conv, status, "alice")
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func due(t *testing.T, c store.Conversation, want string) {
	t.Helper()
	if c.SLA == nil {
		t.Fatalf("%s has no SLA", c.ID)
	}
	var w time.Time
	if want != "" {
		w = at(want)
	}
	if !c.SLA.Due.Equal(w) {
		t.Fatalf("%s: due %s, want %s (%+v)", c.ID, c.SLA.Due.In(hel), w.In(hel), *c.SLA)
	}
}

func breached(t *testing.T, c store.Conversation, want ...string) {
	t.Helper()
	if !slices.Equal(c.SLA.Breached, want) {
		t.Fatalf("%s: breached %v, want %v", c.ID, c.SLA.Breached, want)
	}
}

// TestScriptedServiceFigures: a scripted set of conversations across a
// night, a weekend and the Christmas holidays (office hours Mon–Fri
// 09:00–17:00 Helsinki) gives exact business-hours due times and
// breaches on the conversations, and exact first-response, resolution,
// reopening, breach and CSAT figures in the service report, on both
// stores. 2026-12-07 is a Monday.
func TestScriptedServiceFigures(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		reg := prometheus.NewRegistry()
		roll := sla.NewRollup(st, policies(t), nil, reg)
		s := &script{t: t, ctx: ctx}
		s.svc = timeline.NewService(st, timeline.Options{Clock: func() time.Time { return s.now }, Tracker: roll,
			Teams: map[string][]string{"day": {"alice"}, "night": {"bob"}, "vip": {"carol"}}})

		// A: answered and resolved the same day: nothing missed.
		c := s.in("A", "day", "2026-12-07 10:00")
		due(t, c, "2026-12-07 12:00") // first response, 2 working hours
		if !c.SLA.ResolutionDue.Equal(at("2026-12-08 10:00")) || c.SLA.Policy != "standard" {
			t.Fatalf("A: %+v", *c.SLA)
		}
		c = s.reply("A", "alice", "2026-12-07 11:00")
		due(t, c, "2026-12-08 10:00") // now the resolution
		c = s.status("A", store.StatusResolved, "2026-12-07 15:00")
		due(t, c, "")
		breached(t, c)

		// B: written Friday 16:00, answered Monday 10:00 on the dot (met:
		// one working hour Friday, one Monday), resolved Monday 16:30,
		// half an hour after its resolution was due.
		c = s.in("B", "night", "2026-12-11 16:00")
		due(t, c, "2026-12-14 10:00")
		if !c.SLA.ResolutionDue.Equal(at("2026-12-14 16:00")) {
			t.Fatalf("B resolution due %s", c.SLA.ResolutionDue.In(hel))
		}
		s.reply("B", "bob", "2026-12-14 10:00")
		c = s.status("B", store.StatusResolved, "2026-12-14 16:30")
		breached(t, c, store.SLAResolution)

		// C: written at night, first answer late; the customer writes
		// again and gets a next response in time; resolved in time,
		// reopened, resolved again late.
		c = s.in("C", "night", "2026-12-08 22:00")
		due(t, c, "2026-12-09 11:00")
		c = s.reply("C", "bob", "2026-12-09 11:30")
		breached(t, c, store.SLAFirstResponse)
		c = s.in("C", "night", "2026-12-09 12:00")
		if !c.SLA.NextResponseDue.Equal(at("2026-12-09 16:00")) {
			t.Fatalf("C next response due %s", c.SLA.NextResponseDue.In(hel))
		}
		due(t, c, "2026-12-09 16:00")
		c = s.reply("C", "bob", "2026-12-09 15:00")
		if !c.SLA.NextResponseDue.IsZero() {
			t.Fatalf("C: next response still due after the reply: %+v", *c.SLA)
		}
		due(t, c, "2026-12-09 17:00")
		s.status("C", store.StatusResolved, "2026-12-09 16:00")
		c = s.status("C", store.StatusOpen, "2026-12-09 16:30")
		due(t, c, "2026-12-09 17:00")
		c = s.status("C", store.StatusResolved, "2026-12-10 09:30")
		breached(t, c, store.SLAFirstResponse, store.SLAResolution)

		// D: written the day before Christmas Eve at 16:00: one working
		// hour that day, then holidays and a weekend; answered Monday
		// 09:30 (due 10:00). Still open: its resolution is pending.
		c = s.in("D", "day", "2026-12-23 16:00")
		due(t, c, "2026-12-28 10:00")
		c = s.reply("D", "alice", "2026-12-28 09:30")
		due(t, c, "2026-12-28 16:00")
		breached(t, c)
		if o := sla.Overdue(c, at("2026-12-28 16:01")); !slices.Equal(o, []string{store.SLAResolution}) {
			t.Fatalf("D overdue %v", o)
		}

		// E: a VIP team's conversation takes the team's policy (team
		// wins over channel), around the clock.
		c = s.in("E", "vip", "2026-12-12 03:00")
		if c.SLA.Policy != "vip" {
			t.Fatalf("E policy %q", c.SLA.Policy)
		}
		due(t, c, "2026-12-12 03:30")

		// CSAT answers, and one out of range that records nothing.
		for _, a := range []struct {
			conv         string
			score, scale int
		}{{"A", 4, 5}, {"B", 1, 2}, {"C", 2, 2}} {
			conv, err := st.GetConversation(ctx, a.conv)
			if err != nil {
				t.Fatal(err)
			}
			if err := roll.CSATReceived(ctx, conv, a.score, a.scale, at("2026-12-15 12:00")); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := st.GetConversation(ctx, "A")
		for _, bad := range [][2]int{{6, 5}, {0, 5}, {3, 2}, {1, 3}} {
			if err := roll.CSATReceived(ctx, a, bad[0], bad[1], at("2026-12-15 12:00")); !errors.Is(err, sla.ErrInvalid) {
				t.Fatalf("score %d on scale %d: %v", bad[0], bad[1], err)
			}
		}

		rep, err := sla.Read(ctx, st, sla.Query{From: at("2026-12-01 12:00"), To: at("2026-12-31 12:00"), GroupBy: sla.GroupChannel, Keys: []string{"mail"}})
		if err != nil {
			t.Fatal(err)
		}
		// First responses (wall clock, seconds, counted as the middle of
		// their 4 % bucket, within 2.5 %: SampleBucket): A 3600, C 48600
		// → 49282, B 237600, D 408600 → 409718; E unanswered.
		// Resolutions: A 18000, C 64800 → 64851 and 127800 (resolved
		// twice), B 261000 → 266145.
		got, _ := json.Marshal(rep)
		want := `{"rows":[{"key":"mail","conversations":5,"first_response_s":{"p50":49282,"p90":409718},` +
			`"resolution_s":{"p50":64851,"p90":266145},"reopened":1,"sla_breaches":{"first_response":1,"resolution":2},` +
			`"csat":{"responses":3,"score":3.33,"positive_share":0.6667}}]}`
		if string(got) != want {
			t.Fatalf("report\n got %s\nwant %s", got, want)
		}
		var csv bytes.Buffer
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(csv.String()), "\n"); len(lines) != 2 ||
			lines[1] != "mail,5,49282,409718,64851,266145,1,5,1,0,2,3,3.33,0.6667" {
			t.Fatalf("csv:\n%s", csv.String())
		}

		// By agent: first responses go to who answered.
		rep, err = sla.Read(ctx, st, sla.Query{From: at("2026-12-01 12:00"), To: at("2026-12-31 12:00"), GroupBy: sla.GroupAgent, Keys: []string{"bob", "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 2 || rep.Rows[0].Key != "alice" || *rep.Rows[0].FirstResponse.P90 != 409718 || *rep.Rows[1].FirstResponse.P50 != 49282 ||
			rep.Rows[0].Conversations != 2 || rep.Rows[1].SLABreaches.Resolution != 2 {
			b, _ := json.Marshal(rep)
			t.Fatalf("by agent: %s", b)
		}
		// By team, over the second week only (day cells and no month).
		rep, err = sla.Read(ctx, st, sla.Query{From: at("2026-12-14 12:00"), To: at("2026-12-20 12:00"), GroupBy: sla.GroupTeam, Keys: []string{"night"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Rows[0]; r.Conversations != 0 || r.SLABreaches.Resolution != 1 || *r.Resolution.P50 != 266145 || r.CSAT.Responses != 2 {
			b, _ := json.Marshal(rep)
			t.Fatalf("night team, second week: %s", b)
		}
		if n := testutil.ToFloat64(roll.BreachCounter().WithLabelValues("mail", store.SLAResolution)); n != 2 {
			t.Fatalf("switchboard_sla_breaches_total{resolution} = %v", n)
		}
	})
}

// TestCells: a period is covered exactly once by year, month and day
// cells.
func TestCells(t *testing.T) {
	d := func(s string) time.Time { x, _ := time.Parse(time.DateOnly, s); return x }
	for _, tc := range []struct{ from, to, want string }{
		{"2025-01-01", "2025-12-31", "[2025]"},
		{"2025-01-01", "2026-01-02", "[2025 2026-01-01 2026-01-02]"},
		{"2025-12-30", "2026-02-28", "[2025-12-30 2025-12-31 2026-01 2026-02]"},
		{"2026-02-27", "2026-03-02", "[2026-02-27 2026-02-28 2026-03-01 2026-03-02]"},
		{"2026-05-04", "2026-05-04", "[2026-05-04]"},
	} {
		var got []string
		for _, c := range sla.Cells(d(tc.from), d(tc.to)) {
			got = append(got, c.Day)
		}
		if s := strings.Join(got, " "); "["+s+"]" != tc.want {
			t.Errorf("Cells(%s, %s) = [%s], want %s", tc.from, tc.to, s, tc.want)
		}
	}
}
