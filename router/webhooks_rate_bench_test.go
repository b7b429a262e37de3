package router_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkWebhookFanOutAtRate is issue 21's speed target read as a
// service level: ingest offered at a steady rate the hub can carry
// ($BENCH_RATE msgs/s, default 2,000, from 1,000 busy customers), with
// $BENCH_ENDPOINTS endpoints (default 3) each subscribed to every event and
// delivering to a local receiver ("on"), against the same offered load
// with no endpoint ("off"), alternated in one command:
//
//	go test -run '^$' -bench WebhookFanOutAtRate -benchtime 20000x ./router
//
// It reports the ingest rate achieved (msgs/s: b.N over the time from the
// first offer until the last message is on its timeline), the ingest
// latency from acceptance to the timeline (p50-ms, p99-ms, from the
// router's histogram, interpolated within its bucket), the deliveries made
// while ingest ran (deliveries/s), the deliveries still waiting when it
// ended (backlog: a dispatcher that keeps up leaves about one poll's worth),
// and CPU per message (hub, dispatcher and receiver: one process).
//
// BenchmarkIngestWithWebhooks is the other reading: ingest flat out, where
// anything else that runs takes CPU from it on a 2-core machine.
func BenchmarkWebhookFanOutAtRate(b *testing.B) {
	rate := envInt("BENCH_RATE", 2000)
	eps := envInt("BENCH_ENDPOINTS", 3)
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			st, err := embedded.Open(b.TempDir(), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() }) // after the hub stops (startWebhookHub)
			benchAtRate(b, st, rate, eps, on)
		})
	}
	for _, on := range []bool{false, true} {
		name := "redis-off"
		if on {
			name = "redis-on"
		}
		b.Run(name, func(b *testing.B) {
			c, prefix := testenv.Redis(b)
			st := sbredis.New(c, sbredis.Options{Prefix: prefix})
			b.Cleanup(func() { st.Close() }) // after the hub stops (startWebhookHub)
			benchAtRate(b, st, rate, eps, on)
		})
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchAtRate(b *testing.B, st store.Store, rate, endpoints int, on bool) {
	ctx := context.Background()
	if !on {
		endpoints = 0
	}
	h := startWebhookHub(b, st, endpoints, 0.1)
	in, m := h.in, h.m

	run := fmt.Sprint(time.Now().UnixNano())
	interval := time.Second / time.Duration(rate)
	var next atomic.Int64
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	// Senders take the next message number and wait for its slot on the
	// schedule (start + n × interval); a sender that is late sends at once,
	// so a hub that cannot keep up shows a lower achieved rate.
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1) - 1
				if n >= int64(b.N) {
					return
				}
				if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
					time.Sleep(d)
				}
				if _, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, n),
					Identities: []connectors.Identity{{Type: "email", Value: fmt.Sprintf("busy%d@example.com", n%1000)}},
					Text:       "benchmark message with a typical short body of about eighty characters......"}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for !h.onTimeline(b.N) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	during := h.delivered.Load()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	lat := m.Latency.WithLabelValues("api").(prometheus.Histogram)
	b.ReportMetric(histQuantile(b, lat, 0.5)*1000, "p50-ms")
	b.ReportMetric(histQuantile(b, lat, 0.99)*1000, "p99-ms")
	if on {
		b.ReportMetric(float64(during)/el.Seconds(), "deliveries/s")
		var backlog int
		for i := range endpoints {
			pend, err := st.PendingWebhookDeliveries(ctx, fmt.Sprint("ep", i), 100000)
			if err != nil {
				b.Fatal(err)
			}
			backlog += len(pend)
		}
		evs, err := st.PendingWebhookEvents(ctx, 100000)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(backlog+len(evs)*endpoints), "backlog")
	}
}

// histQuantile estimates quantile q of h's observations, interpolating
// linearly within the bucket it falls in (the router's latency buckets run
// 1, 2.5, 5, 10, 25, 50, 100 ms …).
func histQuantile(b *testing.B, h prometheus.Histogram, q float64) float64 {
	var d dto.Metric
	if err := h.Write(&d); err != nil {
		b.Fatal(err)
	}
	hist := d.GetHistogram()
	want := q * float64(hist.GetSampleCount())
	lo, below := 0.0, 0.0
	for _, bk := range hist.GetBucket() {
		n := float64(bk.GetCumulativeCount())
		if n >= want {
			if n == below {
				return bk.GetUpperBound()
			}
			return lo + (bk.GetUpperBound()-lo)*(want-below)/(n-below)
		}
		lo, below = bk.GetUpperBound(), n
	}
	return math.Inf(1)
}
