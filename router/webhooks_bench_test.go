package router_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// BenchmarkIngestWithWebhooks is the same-run A/B of issue 21's speed
// target: ingest → timeline on the embedded store without any endpoint
// ("off") and with one endpoint subscribed to every event whose dispatcher
// delivers to a local receiver meanwhile ("on"). It reports msgs/s and,
// for "on", the deliveries made while the messages went in (deliveries/s).
// The same on Redis as redis-off and redis-on. Run all in one command:
// -bench 'IngestWithWebhooks' -benchtime 3000x.
//
// on-share10 and redis-on-share10 run the dispatcher with IngestShare 0.1
// (ingest first: it sends during a tenth of each 100 ms while events are
// being recorded). The "on" variants also report drain-deliveries/s: the
// rate at which the deliveries still pending when ingest ended were made
// (outside the timed part, with nothing else running). record-only records
// the events as "on" does but runs no dispatcher: what recording alone
// costs ingest.
func BenchmarkIngestWithWebhooks(b *testing.B) {
	variants := []struct {
		name  string
		on    bool
		share float64
	}{{"off", false, 0}, {"record-only", true, -1}, {"on", true, 0}, {"on-share10", true, 0.1}}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			st, err := embedded.Open(b.TempDir(), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() }) // after the hub stops (startWebhookHub)
			benchWithWebhooks(b, st, v.on, v.share)
		})
	}
	for _, v := range variants {
		b.Run("redis-"+v.name, func(b *testing.B) {
			c, prefix := testenv.Redis(b)
			st := sbredis.New(c, sbredis.Options{Prefix: prefix})
			b.Cleanup(func() { st.Close() }) // after the hub stops (startWebhookHub)
			benchWithWebhooks(b, st, v.on, v.share)
		})
	}
}

// webhookHub is the hub below HTTP that the webhook benchmarks drive:
// the router with its timeline service and, with endpoints > 0, the
// outbox with that many endpoints (ep0, ep1, …, each subscribed to every
// event) delivering to a local receiver that counts what it gets. With
// share < 0 the events are recorded and no dispatcher runs; otherwise it
// runs with that IngestShare. Everything stops when the benchmark ends.
type webhookHub struct {
	in        *router.Ingest
	m         *router.Metrics
	delivered atomic.Int64
}

func startWebhookHub(b *testing.B, st store.Store, endpoints int, share float64) *webhookHub {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	h := &webhookHub{m: router.NewMetrics(nil)}
	var rec timeline.Recorder
	if endpoints > 0 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.delivered.Add(1)
			w.WriteHeader(204)
		}))
		b.Cleanup(srv.Close)
		svc := webhooks.New(webhooks.Options{Store: st, Poll: 10 * time.Millisecond, IngestShare: max(share, 0)})
		for i := range endpoints {
			if _, _, err := svc.Create(ctx, webhooks.Spec{Name: fmt.Sprint("ep", i), URL: srv.URL, Events: []string{webhooks.All},
				AllowHTTP: true, AllowPrivateAddresses: true, Enabled: true}); err != nil {
				b.Fatal(err)
			}
		}
		rec = svc.Outbox
		if err := svc.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		if share >= 0 {
			dctx, dcancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); svc.RunLeased(dctx, nil, nil) }()
			b.Cleanup(func() { dcancel(); <-done })
		}
	}
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	convs := timeline.NewService(st, timeline.Options{Webhooks: rec})
	rt := router.New(st, dir, router.Options{Workers: benchWorkers(), Metrics: h.m, Conversations: convs, Routing: router.Routing{Teams: []string{"support"}}})
	if rec != nil {
		rt.Resolver().SetWebhooks(rec)
	}
	h.in = router.NewIngest(st, dir, "FI", store.SystemClock, h.m)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() { rt.Run(rctx); close(rdone) }()
	b.Cleanup(func() { rcancel(); <-rdone })
	return h
}

// onTimeline reports whether all n messages are on their timelines (or
// deduplicated).
func (h *webhookHub) onTimeline(n int) bool {
	return testutil.ToFloat64(h.m.Processed.WithLabelValues("api"))+testutil.ToFloat64(h.m.Deduped.WithLabelValues("api")) >= float64(n)
}

func benchWithWebhooks(b *testing.B, st store.Store, on bool, share float64) {
	ctx := context.Background()
	endpoints := 0
	if on {
		endpoints = 1
	}
	h := startWebhookHub(b, st, endpoints, share)
	on = on && share >= 0 // record only: no dispatcher, nothing delivered
	in, delivered := h.in, &h.delivered

	var seq atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			if _, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, n),
				Identities: []connectors.Identity{{Type: "email", Value: fmt.Sprintf("bench%d@example.com", n%5000)}},
				Text:       "benchmark message with a typical short body of about eighty characters......"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for !h.onTimeline(b.N) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	// CPU per message counts everything in the process: ingest, the
	// dispatcher and the receiver (wall rates swing with the shared
	// machine's load; CPU much less).
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	if on {
		during := delivered.Load()
		b.ReportMetric(float64(during)/el.Seconds(), "deliveries/s")
		// The backlog left when ingest ended, drained with nothing else
		// running.
		t0 := time.Now()
		for {
			pend, err := st.PendingWebhookDeliveries(ctx, "ep0", 1)
			if err != nil {
				b.Fatal(err)
			}
			evs, err := st.PendingWebhookEvents(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			if len(pend) == 0 && len(evs) == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if n := delivered.Load() - during; n > 0 {
			b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "drain-deliveries/s")
		}
	}
}
