package sla_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestNextResponseBreach: the next_response target (4 working hours on
// an office calendar) counts from the customer's message after a reply;
// a late next reply misses it (on the conversation, in the report's CSV
// and in switchboard_sla_breaches_total{target="next_response"}), and an
// unanswered one is counted once its due time passes; a next reply in
// time misses nothing. First response and resolution are unaffected.
func TestNextResponseBreach(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		s := &script{t: t, ctx: ctx}
		clock := func() time.Time { return s.now }
		w := "09:00-17:00"
		cal, err := calendar.New("office", "Europe/Helsinki", map[string]string{"mon": w, "tue": w, "wed": w, "thu": w, "fri": w}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// No resolution target: only responses are due.
		pol := sla.NewPolicies([]sla.Policy{{Name: "standard", FirstResponse: 2 * time.Hour, NextResponse: 4 * time.Hour, Calendar: cal}})
		roll := sla.NewRollup(st, pol, nil, prometheus.NewRegistry())
		roll.CountOverdue(st, clock)
		s.svc = timeline.NewService(st, timeline.Options{Clock: clock, Tracker: roll, Teams: map[string][]string{"day": {"alice"}}})

		// N: answered in time, the customer writes again Monday 15:00;
		// next response due Tuesday 11:00 (two working hours Monday, two
		// Tuesday); answered Tuesday 11:30: missed.
		s.in("N", "day", "2026-12-07 10:00")
		s.reply("N", "alice", "2026-12-07 10:30")
		c := s.in("N", "day", "2026-12-07 15:00")
		if !c.SLA.NextResponseDue.Equal(at("2026-12-08 11:00")) {
			t.Fatalf("N next response due %s", c.SLA.NextResponseDue.In(hel))
		}
		c = s.reply("N", "alice", "2026-12-08 11:30")
		breached(t, c, store.SLANextResponse)

		// M: the same, answered Tuesday 10:59: met.
		s.in("M", "day", "2026-12-07 10:00")
		s.reply("M", "alice", "2026-12-07 10:30")
		s.in("M", "day", "2026-12-07 15:00")
		c = s.reply("M", "alice", "2026-12-08 10:59")
		breached(t, c)

		// O: the customer's second message is never answered: the breach
		// counts when its due time passes, once.
		s.in("O", "day", "2026-12-07 10:00")
		s.reply("O", "alice", "2026-12-07 10:30")
		c = s.in("O", "day", "2026-12-07 16:00")
		due(t, c, "2026-12-08 12:00")
		for _, when := range []string{"2026-12-08 11:59", "2026-12-08 12:01", "2026-12-08 13:00"} {
			s.now = at(when)
			n, err := roll.CountOverdueNow(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1}[when == "2026-12-08 12:01"]; n != want {
				t.Fatalf("at %s: %d breaches counted, want %d", when, n, want)
			}
		}
		if o, _ := st.GetConversation(ctx, "O"); !o.SLA.HasBreach(store.SLANextResponse) {
			t.Fatalf("O after its due time: %+v", *o.SLA)
		}
		if err := roll.Flush(ctx); err != nil {
			t.Fatal(err)
		}

		if n := testutil.ToFloat64(roll.BreachCounter().WithLabelValues("mail", store.SLANextResponse)); n != 2 {
			t.Fatalf("switchboard_sla_breaches_total{mail,next_response} = %v, want 2", n)
		}
		rep, err := sla.Read(ctx, st, sla.Query{From: at("2026-12-07 12:00"), To: at("2026-12-08 12:00"), GroupBy: sla.GroupChannel, Keys: []string{"mail"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Rows[0]; r.Conversations != 3 || r.NextResponseBreaches != 2 || r.SLABreaches.FirstResponse != 0 || r.SLABreaches.Resolution != 0 {
			t.Fatalf("report row %+v", r)
		}
		var csv bytes.Buffer
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
		col := -1
		for i, h := range sla.CSVHeader {
			if h == "sla_breaches_next_response" {
				col = i
			}
		}
		if len(lines) != 2 || col < 0 || strings.Split(lines[1], ",")[col] != "2" {
			t.Fatalf("csv (next_response breaches in column %d):\n%s", col, csv.String())
		}
	})
}
