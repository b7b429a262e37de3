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
			defer st.Close()
			benchWithWebhooks(b, st, v.on, v.share)
		})
	}
	for _, v := range variants {
		b.Run("redis-"+v.name, func(b *testing.B) {
			c, prefix := testenv.Redis(b)
			st := sbredis.New(c, sbredis.Options{Prefix: prefix})
			defer st.Close()
			benchWithWebhooks(b, st, v.on, v.share)
		})
	}
}

func benchWithWebhooks(b *testing.B, st store.Store, on bool, share float64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered atomic.Int64
	var rec timeline.Recorder
	if on {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			delivered.Add(1)
			w.WriteHeader(204)
		}))
		defer srv.Close()
		svc := webhooks.New(webhooks.Options{Store: st, Poll: 10 * time.Millisecond, IngestShare: max(share, 0)})
		if _, _, err := svc.Create(ctx, webhooks.Spec{Name: "all", URL: srv.URL, Events: []string{webhooks.All},
			AllowHTTP: true, AllowPrivateAddresses: true, Enabled: true}); err != nil {
			b.Fatal(err)
		}
		rec = svc.Outbox
		if err := svc.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		if share < 0 {
			on = false // record only: no dispatcher, nothing delivered
		} else {
			done := make(chan struct{})
			go func() { defer close(done); svc.RunLeased(ctx, nil, nil) }()
			defer func() { cancel(); <-done }()
		}
	}
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	convs := timeline.NewService(st, timeline.Options{Webhooks: rec})
	rt := router.New(st, dir, router.Options{Workers: benchWorkers(), Metrics: m, Conversations: convs, Routing: router.Routing{Teams: []string{"support"}}})
	if rec != nil {
		rt.Resolver().SetWebhooks(rec)
	}
	in := router.NewIngest(st, dir, "FI", store.SystemClock, m)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() { rt.Run(rctx); close(rdone) }()
	defer func() { rcancel(); <-rdone }()

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
	for testutil.ToFloat64(m.Processed.WithLabelValues("api"))+testutil.ToFloat64(m.Deduped.WithLabelValues("api")) < float64(b.N) {
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
			pend, err := st.PendingWebhookDeliveries(ctx, "all", 1)
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
