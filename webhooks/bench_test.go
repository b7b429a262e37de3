package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
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
	for i := range b.N {
		cust := fmt.Sprint("c", i%64)
		if err := s.Outbox.Record(ctx, webhooks.MessageReceived, fmt.Sprint("m", i), cust, map[string]any{"customer_id": cust, "n": i}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
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
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
