package timeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestServiceFieldsKeptAsThingsHappen: the conversation carries its first
// inbound message, first reply, reply count, resolution and reopenings
// (issue 17), on both stores.
func TestServiceFieldsKeptAsThingsHappen(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		now := t0
		svc := timeline.NewService(st, timeline.Options{Clock: func() time.Time { return now }})
		in := func(id string, at time.Time) store.Conversation {
			t.Helper()
			_, c, _, err := svc.Receive(ctx, timeline.Inbound{ThreadKey: "crm|t1", ConversationID: "v1",
				Entry: store.Entry{ID: id, CustomerID: "c1", Channel: "crm", Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: at}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := in("m1", t0)
		in("m2", t0.Add(time.Minute))
		reply := func(id string, at time.Time) store.Conversation {
			t.Helper()
			c, err := svc.Replied(ctx, store.Entry{ID: id, CustomerID: "c1", ConversationID: c.ID, Direction: connectors.Outbound, OccurredAt: at})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		reply("o1", t0.Add(10*time.Minute))
		got := reply("o2", t0.Add(20*time.Minute))
		if !got.FirstInboundAt.Equal(t0) || !got.FirstReplyAt.Equal(t0.Add(10*time.Minute)) || got.Replies != 2 {
			t.Fatalf("after two replies: first inbound %v, first reply %v, replies %d", got.FirstInboundAt, got.FirstReplyAt, got.Replies)
		}
		now = t0.Add(time.Hour)
		got, err := svc.Resolve(ctx, c.ID, "alice")
		if err != nil || !got.ResolvedAt.Equal(now) || got.Reopened != 0 {
			t.Fatalf("resolved: %+v %v", got, err)
		}
		if got, err = svc.Reopen(ctx, c.ID, "alice"); err != nil || !got.ResolvedAt.IsZero() || got.Reopened != 1 {
			t.Fatalf("reopened: resolved at %v, reopened %d, %v", got.ResolvedAt, got.Reopened, err)
		}
		now = t0.Add(2 * time.Hour)
		if got, err = svc.Resolve(ctx, c.ID, "alice"); err != nil || !got.ResolvedAt.Equal(now) {
			t.Fatalf("resolved again: %v %v", got.ResolvedAt, err)
		}
		// A reply on a resolved conversation reopens it (pending): counted.
		if got = reply("o3", now.Add(time.Minute)); got.Reopened != 2 || !got.ResolvedAt.IsZero() || got.Replies != 3 || got.Status != store.StatusPending {
			t.Fatalf("reply after resolve: %+v", got)
		}
	})
}
