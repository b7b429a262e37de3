package embedded_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// BenchmarkRecordWebhookEventsParallel records three outbox events per
// call (customer.created, conversation.opened, message.received-sized,
// with webhook-ids as the hub makes them, led by a time: the message's
// receive time, the conversation's creation time; store.WebhookEventID)
// from 8
// goroutines per core, into an outbox that grows as the benchmark runs:
// the store's share of recording webhook events on ingest (issue 21).
//
//	go test -run '^$' -bench RecordWebhookEventsParallel -benchtime 20000x ./store/embedded
func BenchmarkRecordWebhookEventsParallel(b *testing.B) {
	s := open(b, b.TempDir(), embedded.Options{})
	defer s.Close()
	ctx := context.Background()
	data := []byte(`{"message_id":"ent_01JEXAMPLE0000000000000000","conversation_id":"cnv_01JEXAMPLE0000000000000000","customer_id":"cus_01JEXAMPLE0000000000000000","channel":"api","direction":"inbound","text":"` +
		strings.Repeat("x", 80) + `","occurred_at":"2026-12-07T12:00:00.123456789Z"}`)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			cust := fmt.Sprintf("cus_%016d", i)
			now := time.Now()
			evs := []store.WebhookEvent{
				{ID: store.WebhookEventID("customer.created", cust, now), Type: "customer.created", CustomerID: cust, At: now, Data: data[:120]},
				{ID: store.WebhookEventID("conversation.opened", fmt.Sprint("cnv", i), now), Type: "conversation.opened", CustomerID: cust, At: now, Data: data[:200]},
				{ID: store.WebhookEventID("message.received", fmt.Sprint("ent", i), now), Type: "message.received", CustomerID: cust, At: now, Data: data},
			}
			if err := s.PutWebhookEvents(ctx, evs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
