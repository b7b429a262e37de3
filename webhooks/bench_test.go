package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// BenchmarkDeliveries measures fan-out to a local receiver: b.N events
// (over 64 customers) recorded up front, then the time until the
// dispatcher has had every one answered 200 and recorded as delivered.
// It reports deliveries/s.
func BenchmarkDeliveries(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchDeliveries(b, st)
	})
	b.Run("redis", func(b *testing.B) {
		c, prefix := testenv.Redis(b)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		defer st.Close()
		benchDeliveries(b, st)
	})
}

func benchDeliveries(b *testing.B, st store.Store) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	ctx := context.Background()
	s := webhooks.New(webhooks.Options{Store: st, Poll: 5 * time.Millisecond, Concurrency: 64})
	if _, _, err := s.Create(ctx, webhooks.Spec{Name: "bench", URL: srv.URL, Events: []string{webhooks.All},
		AllowHTTP: true, AllowPrivateAddresses: true, Enabled: true}); err != nil {
		b.Fatal(err)
	}
	// Recorded 500 to a store step (the setup is not measured; one step
	// per event made the run take 20 s longer on the embedded store).
	var hs []timeline.Hook
	for i := range b.N {
		cust := fmt.Sprint("c", i%64)
		hs = append(hs, timeline.Hook{Type: webhooks.MessageReceived, Key: fmt.Sprint("m", i), CustomerID: cust, Data: map[string]any{"customer_id": cust, "n": i}})
		if len(hs) == 500 || i == b.N-1 {
			if err := s.Outbox.RecordAll(ctx, hs); err != nil {
				b.Fatal(err)
			}
			hs = hs[:0]
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.RunLeased(rctx, nil, nil) }()
	for {
		pend, err := st.PendingWebhookDeliveries(ctx, "bench", 1)
		if err != nil {
			b.Fatal(err)
		}
		evs, err := st.PendingWebhookEvents(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(pend) == 0 && len(evs) == 0 && got.Load() >= int64(b.N) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
}

// cpuTime is the process's CPU time so far (user and system): on a shared
// machine wall-clock rates swing with the neighbours' load, CPU per
// delivery much less. It counts the receiver too (same process).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
