package router_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// benchNoFigures switches the adoption figures off in benchPipeline.
var benchNoFigures bool

// BenchmarkIngestFigures is the same-run A/B of the adoption figures'
// cost: the whole inbound path (BenchmarkIngestToTimeline's) with the
// counters on and off, alternating, on each backend. Compare msgs/s and
// hub-cpu-µs/msg of on and off (docs/PERFORMANCE.md).
func BenchmarkIngestFigures(b *testing.B) {
	for _, round := range []string{"1", "2"} {
		for _, mode := range []string{"off", "on"} {
			b.Run("embedded/figures="+mode+"/"+round, func(b *testing.B) {
				benchNoFigures = mode == "off"
				defer func() { benchNoFigures = false }()
				st, err := embedded.Open(b.TempDir(), embedded.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				benchPipeline(b, st, nil)
			})
		}
		for _, mode := range []string{"off", "on"} {
			b.Run("redis/figures="+mode+"/"+round, func(b *testing.B) {
				benchNoFigures = mode == "off"
				defer func() { benchNoFigures = false }()
				c, prefix := testenv.Redis(b)
				st := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: os.Getenv("BENCH_NOPIPE") == ""})
				defer st.Close()
				benchPipeline(b, st, func() time.Duration { return redisCPU(b, c) })
			})
		}
	}
}

// BenchmarkReadiness reads the readiness of a channel that took 1,000,000
// messages over a year (365 days of counters, 24 distinct first-response
// and resolution times a day, three teams, 40 senders a day in the
// sketches), one report per op.
func BenchmarkReadiness(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchReadiness(b, st)
	})
	b.Run("redis", func(b *testing.B) {
		c, prefix := testenv.Redis(b)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		defer st.Close()
		benchReadiness(b, st)
	})
}

func benchReadiness(b *testing.B, st store.Store) {
	ctx := context.Background()
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	const days, total = 365, 1_000_000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var msgs int64
	for d := range days {
		day := store.FigureDay(start.Add(time.Duration(d) * 24 * time.Hour))
		n := int64(total / days)
		if d < total%days {
			n++
		}
		msgs += n
		counts := map[string]int64{router.FigMessagesIn: n, router.FigMatchedVerified: n / 2, router.FigMatchedClaimed: n / 10,
			router.FigNewCustomers: n / 5, router.FigMergeSuggestions: n / 50, router.FigDuplicates: n / 100, router.FigConversations: n / 3,
			router.FigWouldRoute + "support": n / 6, router.FigWouldRoute + "sales": n / 9, router.FigWouldRoute + "billing": n / 20,
			router.FigOutbound + "sent": n / 4, router.FigOutbound + "delivered": n / 5, router.FigOutbound + "failed": n / 100, router.FigOptOuts: 3}
		for i := range 24 {
			counts[store.FigureSample(router.FigFirstResponse, time.Duration(60+i*97+d)*time.Second)] += n / 48
			counts[store.FigureSample(router.FigResolution, time.Duration(3600+i*1709+d*7)*time.Second)] += n / 96
		}
		for s := range 40 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				f := store.FigureAdd{Channel: "web", Phase: store.PhaseShadow, Day: day, Sender: fmt.Sprintf("email:s%d@example.com", d*31+s)}
				if s == 0 {
					f.Counts = counts
				}
				if err := st.AddFigures(ctx, f); err != nil {
					b.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	ch := directory.Channel{Name: "web", Phase: store.PhaseShadow}
	now := start.Add(days * 24 * time.Hour)
	q := router.ReadinessQuery{From: start, To: now}
	rep, err := router.ChannelReadiness(ctx, st, ch, now, q)
	if err != nil || rep.MessagesIn != msgs || len(rep.Daily) != days+1 {
		b.Fatalf("readiness: %v messages_in %d (want %d) daily %d", err, rep.MessagesIn, msgs, len(rep.Daily))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := router.ChannelReadiness(ctx, st, ch, now, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/read")
}
