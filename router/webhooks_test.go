package router_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// wantAll is an endpoint subscribed to every event, so the Outbox records
// everything (nothing is sent: no dispatcher runs).
func wantAll(t *testing.T, st store.Store) *webhooks.Service {
	t.Helper()
	svc := webhooks.New(webhooks.Options{Store: st})
	if _, _, err := svc.Create(context.Background(), webhooks.Spec{Name: "all", URL: "https://receiver.example/hook", Events: []string{webhooks.All}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return svc
}

func outboxTypes(t *testing.T, st store.Store) []string {
	t.Helper()
	evs, err := st.PendingWebhookEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	sort.Strings(types)
	return types
}

// A message's events are in the outbox when Process returns (before the
// queue item is acked), once however often it is processed.
func TestWebhookEventsRecordedBeforeAck(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc := wantAll(t, st)
		dir := directory.New(st, testChannels, store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{Webhooks: svc.Outbox, Teams: map[string][]string{"support": {"alice"}}})
		rt := router.New(st, dir, router.Options{Conversations: convs, Routing: router.Routing{
			Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}},
			Rules: map[string]string{"trusted-api": "support"}}})
		rt.Resolver().SetWebhooks(svc.Outbox)
		h := &hub{st: st, dir: dir, rt: rt, in: router.NewIngest(st, dir, "FI", store.SystemClock, nil)}
		m := h.msg("trusted-api", "t1", "STOP please", "email:webhook@example.com")
		m.Consent = &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: false}
		m = h.process(t, m)
		want := []string{"consent.changed", "conversation.assigned", "conversation.opened", "customer.created", "message.received"}
		if got := outboxTypes(t, st); !eq(got, want) {
			t.Fatalf("outbox after one message = %v, want %v", got, want)
		}
		// A redelivery (a crash before the ack) records nothing new.
		if err := rt.Process(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := outboxTypes(t, st); !eq(got, want) {
			t.Fatalf("outbox after a redelivery = %v, want %v", got, want)
		}
		// Its webhook-id is the message's id, led by its conversation's
		// creation time where the events are written with the entry
		// (store.WebhookEventsWithTheEntry), the hash alone elsewhere.
		en, err := st.GetEntry(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := st.GetConversation(context.Background(), en.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		at := conv.CreatedAt
		if _, ok := st.(store.WebhookEventsWithTheEntry); !ok {
			at = time.Time{}
		}
		ev, err := st.GetWebhookEvent(context.Background(), webhooks.EventIDAt(webhooks.MessageReceived, m.ID, at))
		if err != nil {
			t.Fatalf("message.received is not under the message's id (led by %v): %v", at, err)
		}
		if ev.CustomerID == "" {
			t.Fatalf("message.received names no customer: %+v", ev)
		}
		// customer.created's is led by the message's receive time, which
		// the customer's id carries too.
		if _, err := st.GetWebhookEvent(context.Background(), webhooks.EventIDAt(webhooks.CustomerCreated, ev.CustomerID, m.ReceivedAt)); err != nil {
			t.Fatalf("customer.created is not under the customer's id and the message's receive time: %v", err)
		}
	})
}

// crashAfterRecord records an append's webhook events and then fails as a
// hub killed before the append would (Redis records them in a step of
// their own), while crashing is set.
type crashAfterRecord struct {
	store.Store
	crashing bool
}

func (c *crashAfterRecord) AppendWithWebhookEvents(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error, evs []store.WebhookEvent) (store.Entry, store.Conversation, bool, error) {
	if !c.crashing {
		return c.Store.AppendWithWebhookEvents(ctx, e, seen, fn, evs)
	}
	if err := c.Store.PutWebhookEvents(ctx, evs); err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	return store.Entry{}, store.Conversation{}, false, errors.New("killed before the append")
}

// A message whose events were recorded by an attempt that died before the
// append, delivered again by its provider later (same provider id, no
// time of its own, so a later receive time and occurred_at), records no
// second event: its message.received, conversation.opened and
// customer.created keep the webhook-ids the first attempt recorded (and a
// receiver may have been sent), and the message is then stored once.
func TestWebhookIDsOfARedeliveredMessage(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc := wantAll(t, st)
		crash := &crashAfterRecord{Store: st, crashing: true}
		dir := directory.New(crash, testChannels, store.SystemClock, nil)
		convs := timeline.NewService(crash, timeline.Options{Webhooks: svc.Outbox})
		rt := router.New(crash, dir, router.Options{Conversations: convs})
		rt.Resolver().SetWebhooks(svc.Outbox)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		in := router.NewIngest(crash, dir, "FI", func() time.Time { return now }, nil)
		copyOf := func() connectors.Message {
			id, _ := connectors.ParseKey("email:redelivered@example.com")
			m, err := in.Prepare(connectors.Message{Channel: "form", ProviderID: "ext-42", ThreadKey: "t", Text: "hello",
				Identities: []connectors.Identity{id}})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := copyOf()
		if err := rt.Process(context.Background(), first); err == nil {
			t.Fatal("the attempt that was killed before the append succeeded")
		}
		recorded := outboxIDs(t, st)
		if len(recorded) != 3 {
			t.Fatalf("outbox after the killed attempt = %v, want customer.created, conversation.opened, message.received", recorded)
		}

		crash.crashing = false
		now = now.Add(90 * time.Second)
		again := copyOf()
		if again.ID != first.ID || again.OccurredAt.Equal(first.OccurredAt) {
			t.Fatalf("the provider's second delivery: id %s at %v, first %s at %v; want the same id at a later time", again.ID, again.OccurredAt, first.ID, first.OccurredAt)
		}
		if err := rt.Process(context.Background(), again); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetEntry(context.Background(), first.ID); err != nil {
			t.Fatalf("the redelivered message is not stored: %v", err)
		}
		if got := outboxIDs(t, st); !eq(got, recorded) {
			t.Fatalf("outbox after the redelivery = %v, want the first attempt's %v (no second event)", got, recorded)
		}
	})
}

// As above, but an agent resolves the conversation the first attempt
// opened before the copy arrives, so the copy opens another one: the
// message still has one message.received event (its webhook-id must not
// lead with a conversation's time where the events are recorded before the
// append, as the Redis store does; the embedded store writes them with the
// entry, so no event outlives a failed append there).
func TestWebhookIDOfARedeliveredMessageAfterAResolve(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := wantAll(t, st)
		crash := &crashAfterRecord{Store: st}
		dir := directory.New(crash, testChannels, store.SystemClock, nil)
		convs := timeline.NewService(crash, timeline.Options{Webhooks: svc.Outbox})
		rt := router.New(crash, dir, router.Options{Conversations: convs})
		rt.Resolver().SetWebhooks(svc.Outbox)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		in := router.NewIngest(crash, dir, "FI", func() time.Time { return now }, nil)
		msg := func(providerID string) connectors.Message {
			id, _ := connectors.ParseKey("email:resolved-between@example.com")
			m, err := in.Prepare(connectors.Message{Channel: "form", ProviderID: providerID, ThreadKey: "t", Text: "hello",
				Identities: []connectors.Identity{id}})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		// An earlier message opens the conversation the next one joins.
		if err := rt.Process(ctx, msg("ext-42")); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		crash.crashing = true
		if err := rt.Process(ctx, msg("ext-43")); err == nil {
			t.Fatal("the attempt that was killed before the append succeeded")
		}
		cs, _, err := st.ListConversations(ctx, store.ConversationFilter{Limit: 10})
		if err != nil || len(cs) != 1 {
			t.Fatalf("conversations after the killed attempt: %v, %v; want the first message's", cs, err)
		}
		if _, err := st.UpdateConversation(ctx, cs[0].ID, func(c *store.Conversation) error {
			c.Status = store.StatusResolved
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		crash.crashing = false
		now = now.Add(90 * time.Second)
		if err := rt.Process(ctx, msg("ext-43")); err != nil {
			t.Fatal(err)
		}
		if cs, _, _ = st.ListConversations(ctx, store.ConversationFilter{Limit: 10}); len(cs) != 2 {
			t.Fatalf("conversations after the redelivery: %d, want 2 (the copy opens a new one)", len(cs))
		}
		received := 0
		for _, id := range outboxIDs(t, st) {
			if strings.HasPrefix(id, "message.received=") {
				received++
			}
		}
		if received != 2 {
			t.Fatalf("outbox after the redelivery = %v, want two message.received (one per message)", outboxIDs(t, st))
		}
	})
}

// outboxIDs is type=webhook-id of every pending event, sorted.
func outboxIDs(t *testing.T, st store.Store) []string {
	t.Helper()
	evs, err := st.PendingWebhookEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+"="+e.ID)
	}
	sort.Strings(out)
	return out
}
