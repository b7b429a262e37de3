package sla_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestBreachCountedWhenDuePasses: an unanswered conversation's first
// response breach counts (report and Prometheus) once its due time passes,
// once across two replicas, and not again when the late answer comes; a
// target met in time counts nothing.
func TestBreachCountedWhenDuePasses(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		s := &script{t: t, ctx: ctx}
		clock := func() time.Time { return s.now }
		var rolls []*sla.Rollup
		var counters []prometheus.Counter
		for range 2 {
			r := sla.NewRollup(st, policies(t), nil, prometheus.NewRegistry())
			r.CountOverdue(st, clock)
			rolls = append(rolls, r)
			counters = append(counters, r.BreachCounter().WithLabelValues("mail", store.SLAFirstResponse))
		}
		s.svc = timeline.NewService(st, timeline.Options{Clock: clock, Tracker: rolls[0],
			Teams: map[string][]string{"day": {"alice"}}})
		breaches := func() (report, metric int64) {
			t.Helper()
			rep, err := sla.Read(ctx, st, sla.Query{From: at("2026-12-07 00:00"), To: at("2026-12-08 00:00"), GroupBy: sla.GroupChannel, Keys: []string{"mail"}})
			if err != nil {
				t.Fatal(err)
			}
			var m float64
			for _, c := range counters {
				m += testutil.ToFloat64(c)
			}
			return rep.Rows[0].SLABreaches.FirstResponse, int64(m)
		}
		fire := func(when string) int {
			t.Helper()
			s.now = at(when)
			n := 0
			for _, r := range rolls {
				k, err := r.CountOverdueNow(ctx)
				if err != nil {
					t.Fatal(err)
				}
				n += k
			}
			return n
		}
		s.in("X", "day", "2026-12-07 10:00") // first response due 12:00
		s.in("Y", "day", "2026-12-07 10:30") // due 12:30, answered in time
		s.reply("Y", "alice", "2026-12-07 11:00")
		if n := fire("2026-12-07 11:59"); n != 0 {
			t.Fatalf("%d breaches counted before the due time", n)
		}
		if r, m := breaches(); r != 0 || m != 0 {
			t.Fatalf("before the due time: report %d, metric %d", r, m)
		}
		if n := fire("2026-12-07 12:45"); n != 1 {
			t.Fatalf("%d breaches counted across two replicas once due, want 1", n)
		}
		if r, m := breaches(); r != 1 || m != 1 {
			t.Fatalf("once due: report %d, metric %d; want 1, 1", r, m)
		}
		c := s.reply("X", "alice", "2026-12-07 13:00")
		breached(t, c, store.SLAFirstResponse)
		if n := fire("2026-12-07 14:00"); n != 0 {
			t.Fatalf("%d more breaches counted", n)
		}
		if r, m := breaches(); r != 1 || m != 1 {
			t.Fatalf("after the late answer: report %d, metric %d; want 1, 1", r, m)
		}
	})
}
