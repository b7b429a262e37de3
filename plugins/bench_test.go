package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// countSink is the hub side of both benchmarks: it takes a message the
// way a Sink does (a deterministic id) without storage, so the figures are
// the cost of the path, not of the store.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	s.n.Add(1)
	return connectors.MessageID(m.Channel, m.ProviderID), nil
}

var benchConcurrency = []int{1, 64}

// BenchmarkPluginDeliver: messages a plugin process delivers through the
// host (gRPC over the broker, AutoMTLS, host-side validation, ack after
// the Sink returned), timed in the plugin from Deliver to ack.
func BenchmarkPluginDeliver(b *testing.B) {
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			sink := &countSink{}
			r := runPlugin(b, testPlugin(b, ""), "", sink, nil)
			r.waitRunning(b)
			os.Remove(filepath.Join(r.dir, "bench.json"))
			b.ResetTimer()
			if err := r.ch.Inject(context.Background(), fmt.Sprintf("bench:%d:%d", b.N, conc), ""); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			var res struct {
				N         int64 `json:"n"`
				ElapsedNs int64 `json:"elapsed_ns"`
				P50Ns     int64 `json:"p50_ns"`
				P99Ns     int64 `json:"p99_ns"`
			}
			raw, err := os.ReadFile(filepath.Join(r.dir, "bench.json"))
			if err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				b.Fatal(err)
			}
			if got := sink.n.Load(); got != int64(b.N) {
				b.Fatalf("sink got %d, want %d", got, b.N)
			}
			report(b, res.N, time.Duration(res.ElapsedNs), time.Duration(res.P50Ns), time.Duration(res.P99Ns))
		})
	}
}

// BenchmarkDirectDeliver: the same messages into the same Sink from a
// built-in channel's side (an in-process call after the same validation a
// built-in channel does), timed the same way.
func BenchmarkDirectDeliver(b *testing.B) {
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			sink := &countSink{}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						t0 := time.Now()
						m := connectors.Message{Channel: "kitchan", ProviderID: fmt.Sprintf("bench-%d", i),
							Identities: []connectors.Identity{{Type: "testkit", Value: "kit-user", Verified: true}}, SenderName: "Kit User",
							Text: "a benchmark message of about the size of a short chat line, 100 bytes long......", OccurredAt: time.Now()}
						if err := m.Validate(1 << 20); err != nil {
							panic(err)
						}
						sink.Deliver(context.Background(), m)
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			report(b, int64(b.N), elapsed, lat[b.N/2], lat[b.N*99/100])
		})
	}
}

func report(b *testing.B, n int64, elapsed, p50, p99 time.Duration) {
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
}
