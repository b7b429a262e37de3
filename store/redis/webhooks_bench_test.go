package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkAppendWithWebhookEvents is one caller appending messages with
// two webhook events each (message.received and conversation.assigned)
// to one conversation on the configured Redis: the store step's latency,
// where the events' own round trip shows (none on a standalone server
// since sb_append_v5). Reports commands and waits per message.
func BenchmarkAppendWithWebhookEvents(b *testing.B) {
	c, prefix := testenv.Redis(b)
	s := redis.New(c, redis.Options{Prefix: prefix})
	defer s.Close()
	ctx := context.Background()
	at := time.Now().UTC()
	conv, _, err := s.OpenConversation(ctx, store.Conversation{ID: "cv1", CustomerID: "cust-1", Channel: "api",
		ThreadKey: "api|", Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
	if err != nil {
		b.Fatal(err)
	}
	sent := &redis.CommandCounter{}
	c.AddHook(sent)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("m_%d", i)
		t := at.Add(time.Duration(i+1) * time.Microsecond)
		e := store.Entry{ID: id, CustomerID: "cust-1", ConversationID: "cv1", Channel: "api", Direction: connectors.Inbound,
			Kind: store.KindMessage, Text: "hello " + id, OccurredAt: t, CreatedAt: t}
		evs := []store.WebhookEvent{
			{ID: store.WebhookEventID("message.received", id, conv.CreatedAt), Type: "message.received", CustomerID: "cust-1", At: t, Data: []byte(`{"id":"` + id + `"}`)},
			{ID: store.WebhookEventID("conversation.assigned", "cv1/"+id, conv.CreatedAt), Type: "conversation.assigned", CustomerID: "cust-1", At: t, Data: []byte(`{}`)},
		}
		_, got, created, err := s.AppendWithWebhookEvents(ctx, e, conv, func(c *store.Conversation) error {
			c.LastMessageID, c.LastActivity = id, t
			return nil
		}, evs)
		if err != nil || !created {
			b.Fatalf("append %s: created %v, %v", id, created, err)
		}
		conv = got
	}
	b.StopTimer()
	b.ReportMetric(float64(sent.Sent())/float64(b.N), "commands/msg")
	b.ReportMetric(float64(sent.Waits())/float64(b.N), "waits/msg")
}
