package search_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	sredis "github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// BenchmarkIngestIndexed is the same-run A/B of indexing's cost on the
// ingest path: Deliver by parallel producers, the router's workers
// resolving, threading and appending through the timeline service, with
// (indexed) and without (plain) the search index, on both stores. Run
// with -count to see the spread; the ratio indexed/plain of msgs/s is
// what docs/PERFORMANCE.md reports.
func BenchmarkIngestIndexed(b *testing.B) {
	for _, indexed := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "indexed"}[indexed]
		b.Run("embedded/"+name, func(b *testing.B) {
			dir := b.TempDir()
			st := hubtest.Embedded(b)
			var ix search.Index
			if indexed {
				bx, err := bolt.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				defer bx.Close()
				ix = bx
			}
			ingestPipeline(b, st, ix)
		})
		b.Run("redis/"+name, func(b *testing.B) {
			c, prefix := testenv.Redis(b)
			st := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: true})
			defer st.Close()
			var ix search.Index
			if indexed {
				ix = sredis.New(c, prefix)
			}
			// The server's side (issue 23): commands run (inner ones
			// too), bytes written, memory growth and CPU per message. Use
			// a Redis of its own: the deltas count every client's work.
			before, err := sbredis.ReadServerStats(context.Background(), c)
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := processCPU()
			ingestPipeline(b, st, ix)
			cpu := processCPU() - cpu0
			after, err := sbredis.ReadServerStats(context.Background(), c)
			if err != nil {
				b.Fatal(err)
			}
			d := after.Sub(before)
			n := float64(b.N)
			b.ReportMetric(float64(d.Commands())/n, "redis-cmds/msg")
			b.ReportMetric(float64(d.InputBytes)/n, "B-written/msg")
			b.ReportMetric(float64(d.UsedMemory)/n, "B-memory/msg")
			b.ReportMetric(float64(d.CPU.Microseconds())/n, "redis-µs/msg")
			b.ReportMetric(float64(cpu.Microseconds())/n, "proc-µs/msg")
			b.Logf("per message (N=%d): %s", b.N, d.PerMessage(b.N))
		})
	}
}

// processCPU is this process's user+system CPU time so far (hub and
// producers alike).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ingestPipeline(b *testing.B, st store.Store, ix search.Index) {
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	o := timeline.Options{Teams: map[string][]string{"support": {"a1", "a2", "a3"}}}
	if ix != nil {
		o.Index = search.Indexer{Index: ix}
	}
	convs := timeline.NewService(st, o)
	rt := router.New(st, dir, router.Options{Workers: 16, Metrics: m, Routing: router.Routing{Teams: []string{"support"}}, Conversations: convs})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rt.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c := newCorpus()
	var seq atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(seq.Add(1))
			_, name, ident := c.customer(n % 5000)
			_, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, n), SenderName: name,
				Identities: []connectors.Identity{ident},
				Text:       fmt.Sprintf("Hello, my order %d has not arrived and the invoice was charged twice, please help", 100000+n)})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	for testutil.ToFloat64(m.Processed.WithLabelValues("api"))+testutil.ToFloat64(m.Deduped.WithLabelValues("api")) < float64(b.N) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}
