package router_test

import (
	"context"
	"sort"
	"testing"

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
		// Its webhook-id is the message's id led by its conversation's
		// creation time, which every copy of the message shares.
		en, err := st.GetEntry(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := st.GetConversation(context.Background(), en.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := st.GetWebhookEvent(context.Background(), webhooks.EventIDAt(webhooks.MessageReceived, m.ID, conv.CreatedAt))
		if err != nil {
			t.Fatalf("message.received is not under the message's id and its conversation's time: %v", err)
		}
		if ev.CustomerID == "" {
			t.Fatalf("message.received names no customer: %+v", ev)
		}
	})
}
