package router_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkIngestToTimeline measures sustained throughput of the whole
// inbound path below HTTP: Deliver (durable enqueue) by parallel producers,
// router workers consuming, resolving, threading and appending, until the
// last message is on a timeline. Reported as msgs/s.
func BenchmarkIngestToTimeline(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchPipeline(b, st)
	})
	b.Run("redis", func(b *testing.B) {
		c, prefix := testenv.Redis(b)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: os.Getenv("BENCH_NOPIPE") == ""})
		defer st.Close()
		benchPipeline(b, st)
	})
}

func benchPipeline(b *testing.B, st store.Store) {
	dir := router.NewDirectory(st, []router.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	rt := router.New(st, dir, router.Options{Workers: benchWorkers(), Metrics: m, Routing: router.Routing{Teams: []string{"support"}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rt.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var seq atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			_, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, n),
				Identities: []connectors.Identity{{Type: "email", Value: fmt.Sprintf("bench%d@example.com", n%5000)}},
				Text:       "benchmark message with a typical short body of about eighty characters......"})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	for {
		if testutil.ToFloat64(m.Processed.WithLabelValues("api"))+testutil.ToFloat64(m.Deduped.WithLabelValues("api")) >= float64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(testutil.ToFloat64(m.Processed.WithLabelValues("api")), "processed")
}

// benchWorkers is the router's worker count in benchmarks ($BENCH_WORKERS, default 16).
func benchWorkers() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("BENCH_WORKERS"), &n); err != nil || n <= 0 {
		return 16
	}
	return n
}
