package sla_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

const (
	benchDays    = 365
	benchPerDay  = 2740 // × 365 = 1,000,100 conversations
	benchAgents  = 12
	benchTeams   = 3
	benchChannel = 4
)

// populate counts a year of conversations through the rollup's own
// counting path (Rollup.Changed and CSATReceived on the before/after of
// each change, summed in memory and written every simulated week, as the
// running hub writes every 250 ms): each conversation opens, gets a first
// reply after an exponential wait (mean 3 h), 90 % are resolved (mean
// 20 h later), 5 % reopened, 20 % answer a survey; first responses beyond
// 4 h and resolutions beyond 2 days count as breaches.
// It returns how many conversations opened, and how many from rollingFrom.
func populate(b *testing.B, st store.Store) (int, int) {
	ctx := context.Background()
	roll := sla.NewRollup(st, nil, nil, nil)
	roll.Batch()
	rng := rand.New(rand.NewPCG(17, 17))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	n, rolling := 0, 0
	for d := range benchDays {
		for range benchPerDay {
			i := n
			n++
			t0 := start.Add(time.Duration(d)*24*time.Hour + time.Duration(rng.Int64N(int64(24*time.Hour))))
			if !t0.Before(rollingFrom) {
				rolling++
			}
			c := store.Conversation{ID: fmt.Sprint(i), Channel: fmt.Sprintf("ch%d", i%benchChannel), Team: fmt.Sprintf("team%d", i%benchTeams),
				Assignee: fmt.Sprintf("agent%d", i%benchAgents), Status: store.StatusOpen, CreatedAt: t0}
			opened := c
			opened.FirstInboundAt = t0
			roll.Changed(ctx, c, opened, t0, "")
			t1 := t0.Add(time.Duration(rng.ExpFloat64() * float64(3*time.Hour)))
			replied := opened
			replied.FirstReplyAt, replied.Replies, replied.Status = t1, 1, store.StatusPending
			if t1.Sub(t0) > 4*time.Hour {
				replied.SLA = &store.ConversationSLA{Breached: []string{store.SLAFirstResponse}}
			}
			roll.Changed(ctx, opened, replied, t1, replied.Assignee)
			if rng.IntN(10) == 0 {
				continue
			}
			t2 := t1.Add(time.Duration(rng.ExpFloat64() * float64(20*time.Hour)))
			resolved := replied
			resolved.Status, resolved.ResolvedAt = store.StatusResolved, t2
			if t2.Sub(t0) > 48*time.Hour {
				s := store.ConversationSLA{Breached: append([]string(nil), store.SLAResolution)}
				if replied.SLA != nil {
					s.Breached = []string{store.SLAFirstResponse, store.SLAResolution}
				}
				resolved.SLA = &s
			}
			roll.Changed(ctx, replied, resolved, t2, "")
			if rng.IntN(20) == 0 {
				reopened := resolved
				reopened.Status, reopened.ResolvedAt, reopened.Reopened = store.StatusOpen, time.Time{}, 1
				roll.Changed(ctx, resolved, reopened, t2.Add(time.Hour), "")
			}
			if rng.IntN(5) == 0 {
				if err := roll.CSATReceived(ctx, resolved, 1+rng.IntN(5), 5, t2.Add(2*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		}
		if d%7 == 6 || d == benchDays-1 {
			if err := roll.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := roll.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return n, rolling
}

// rollingFrom..rollingTo is a year-long period that is not a calendar
// year: 14 days, 11 months and 14 days of cells.
var (
	rollingFrom = time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC)
	rollingTo   = time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC)
)

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// BenchmarkServiceReport: the service report over a year of 1,000,000
// conversations, by channel and by agent, on both stores, for the
// calendar year (a year cell per row) and for a year-long period across
// two years (days, months and days); the baseline (same run) sums the
// calendar year from its 365 day cells per channel, as a report without
// month and year cells would.
func BenchmarkServiceReport(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"embedded", hubtest.Embedded},
		{"redis", func(t testing.TB) store.Store {
			c, prefix := testenv.Redis(t)
			st := sbredis.New(c, sbredis.Options{Prefix: prefix})
			t.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			began := time.Now()
			n, rolling := populate(b, st)
			b.Logf("%s: %d conversations counted in %s", be.name, n, time.Since(began).Round(time.Millisecond))
			ctx := context.Background()
			from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			to := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
			check := func(rep sla.Report, want int) {
				var sum int64
				for _, r := range rep.Rows {
					sum += r.Conversations
				}
				if int(sum) != want {
					b.Fatalf("report counts %d conversations, want %d", sum, want)
				}
			}
			for _, g := range []struct {
				group string
				keys  []string
			}{{sla.GroupChannel, names("ch", benchChannel)}, {sla.GroupAgent, names("agent", benchAgents)}} {
				b.Run("year_by_"+g.group, func(b *testing.B) {
					for b.Loop() {
						rep, err := sla.Read(ctx, st, sla.Query{From: from, To: to, GroupBy: g.group, Keys: g.keys})
						if err != nil {
							b.Fatal(err)
						}
						check(rep, n)
					}
				})
				b.Run("rolling_year_by_"+g.group, func(b *testing.B) {
					for b.Loop() {
						rep, err := sla.Read(ctx, st, sla.Query{From: rollingFrom, To: rollingTo, GroupBy: g.group, Keys: g.keys})
						if err != nil {
							b.Fatal(err)
						}
						check(rep, rolling)
					}
				})
			}
			b.Run("baseline_year_by_channel_from_day_cells", func(b *testing.B) {
				var days []store.FigureDayPhase
				for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
					days = append(days, store.FigureDayPhase{Day: store.FigureDay(d)})
				}
				for b.Loop() {
					var total int64
					for _, k := range names("ch", benchChannel) {
						sum, _, err := st.SumFigures(ctx, sla.FigureKey(sla.GroupChannel, k), days, nil)
						if err != nil {
							b.Fatal(err)
						}
						total += sum[sla.FigConversations]
					}
					if int(total) != n {
						b.Fatalf("%d conversations from day cells, want %d", total, n)
					}
				}
			})
		})
	}
}
