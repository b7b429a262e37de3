package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

func receivedEvent(key, customer string, at time.Time) store.WebhookEvent {
	return store.WebhookEvent{ID: store.WebhookEventID("message.received", key, at), Type: "message.received",
		CustomerID: customer, At: at, Data: []byte(`{"key":"` + key + `"}`)}
}

// pendingIDs returns the ids of the events not yet fanned out, in order.
func pendingIDs(t *testing.T, s *redis.Store) []string {
	t.Helper()
	pend, err := s.PendingWebhookEvents(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, p := range pend {
		if i > 0 && p.Seq <= pend[i-1].Seq {
			t.Fatalf("pending events %+v: not in Seq order", pend)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// With webhooks on, a common-case inbound message on a standalone Redis
// is one command for its events and its entry (issue 21: the append
// function records them, no separate whPutEvent script), and the events
// are there with their numbers, fan out, and are not recorded again by a
// redelivery.
func TestAppendWithWebhookEventsIsOneCommandOnStandalone(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	// The first append may ask the server for the functions library.
	at := f.clock.Now().Add(time.Minute)
	if _, c, _, err := f.s.AppendToConversation(ctx, inbound("m_0", at), conv, lastAt("m_0", at)); err != nil {
		t.Fatal(err)
	} else {
		conv = c
	}
	sent := &redis.CommandCounter{}
	names := &commandNames{}
	f.c.AddHook(sent)
	f.c.AddHook(names)
	at = at.Add(time.Minute)
	evs := []store.WebhookEvent{receivedEvent("m_1", "cust-1", conv.CreatedAt),
		{ID: store.WebhookEventID("conversation.assigned", "cv1/m_1", conv.CreatedAt), Type: "conversation.assigned", CustomerID: "cust-1", Data: []byte(`{}`)}}
	n0, w0 := sent.Sent(), sent.Waits()
	_, got, created, err := f.s.AppendWithWebhookEvents(ctx, inbound("m_1", at), conv, lastAt("m_1", at), evs)
	if err != nil || !created || got.LastMessageID != "m_1" {
		t.Fatalf("AppendWithWebhookEvents: created %v, last %q, %v", created, got.LastMessageID, err)
	}
	if n, w := sent.Sent()-n0, sent.Waits()-w0; n != 1 || w != 1 {
		t.Errorf("events + append sent %d commands in %d waits (%v), want 1 in 1", n, w, names.names)
	}
	for _, name := range names.names {
		if name != "fcall" {
			t.Errorf("commands sent %v, want only the append function's FCALL (no whPutEvent script)", names.names)
			break
		}
	}
	if ids := pendingIDs(t, f.s); len(ids) != 2 || ids[0] != evs[0].ID || ids[1] != evs[1].ID {
		t.Fatalf("outbox = %v, want %s then %s", ids, evs[0].ID, evs[1].ID)
	}
	ev, err := f.s.GetWebhookEvent(ctx, evs[1].ID)
	if err != nil || ev.Seq <= 0 || ev.At.IsZero() || ev.CustomerID != "cust-1" || ev.Type != "conversation.assigned" {
		t.Fatalf("GetWebhookEvent(%s) = %+v, %v: want it numbered, timed and its customer's", evs[1].ID, ev, err)
	}
	if e, err := f.s.GetEntry(ctx, "m_1"); err != nil || e.ConversationID != "cv1" {
		t.Fatalf("GetEntry(m_1) = %+v, %v", e, err)
	}
	// A redelivery: nothing new in the outbox.
	if _, _, created, err := f.s.AppendWithWebhookEvents(ctx, inbound("m_1", at), got, lastAt("m_1", at), evs); err != nil || created {
		t.Fatalf("redelivery: created %v, %v", created, err)
	}
	if ids := pendingIDs(t, f.s); len(ids) != 2 {
		t.Fatalf("outbox after a redelivery = %v, want the 2 events once", ids)
	}
	// They fan out.
	pend, err := f.s.PendingWebhookEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var fos []store.WebhookFanOut
	for _, p := range pend {
		fos = append(fos, store.WebhookFanOut{Event: p, Deliveries: []store.WebhookDelivery{
			{Endpoint: "crm", EventID: p.ID, Seq: p.Seq, Type: p.Type, CustomerID: p.CustomerID, Status: store.WebhookPending, CreatedAt: at}}})
	}
	if err := f.s.FanOutWebhookEvents(ctx, fos); err != nil {
		t.Fatal(err)
	}
	if ids := pendingIDs(t, f.s); len(ids) != 0 {
		t.Errorf("outbox after the fan-out = %v, want none pending", ids)
	}
	ds, err := f.s.PendingWebhookDeliveries(ctx, "crm", 10)
	if err != nil || len(ds) != 2 || ds[0].EventID != evs[0].ID || ds[1].EventID != evs[1].ID {
		t.Fatalf("crm's pending deliveries = %+v, %v; want both events in order", ds, err)
	}
	// Erasure finds them by their customer.
	if n, err := f.s.DeleteWebhookCustomer(ctx, "cust-1"); err != nil || n != 2 {
		t.Errorf("DeleteWebhookCustomer = %d, %v; want 2", n, err)
	}
}

// The recording in the append function dedupes against every other
// writer of the outbox: an older hub that recorded the events before its
// append (and crashed), and an earlier version's id of the same event. An
// entry already there records nothing (as on the embedded store, whose
// transaction writes events only with the entry it creates): every writer
// records an entry's events no later than the entry, so a copy that finds
// it would only add events of its own view (a conversation it opened
// after the first was resolved, an agent it then gives back). A message
// whose conversation is gone records nothing.
func TestAppendWithWebhookEventsDedupes(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	at := f.clock.Now().Add(time.Minute)
	// An older hub recorded m_1's event separately, then crashed before
	// its append; this hub's redelivery appends without a second record.
	e1 := receivedEvent("m_1", "cust-1", conv.CreatedAt)
	if err := f.s.PutWebhookEvents(ctx, []store.WebhookEvent{e1}); err != nil {
		t.Fatal(err)
	}
	_, conv, created, err := f.s.AppendWithWebhookEvents(ctx, inbound("m_1", at), conv, lastAt("m_1", at), []store.WebhookEvent{e1})
	if err != nil || !created {
		t.Fatalf("append m_1: created %v, %v", created, err)
	}
	// An earlier version's id (no time) of m_2's event is already there.
	old := receivedEvent("m_2", "cust-1", time.Time{})
	if err := f.s.PutWebhookEvents(ctx, []store.WebhookEvent{old}); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Minute)
	e2 := receivedEvent("m_2", "cust-1", conv.CreatedAt)
	if store.LegacyWebhookEventID(e2.ID) != old.ID {
		t.Fatalf("legacy id of %s = %q, want %s", e2.ID, store.LegacyWebhookEventID(e2.ID), old.ID)
	}
	if _, conv, created, err = f.s.AppendWithWebhookEvents(ctx, inbound("m_2", at), conv, lastAt("m_2", at), []store.WebhookEvent{e2}); err != nil || !created {
		t.Fatalf("append m_2: created %v, %v", created, err)
	}
	// m_3 appended with no events (webhooks were off), then redelivered
	// with them: the entry is there, the redelivery records nothing.
	at = at.Add(time.Minute)
	if _, conv, created, err = f.s.AppendToConversation(ctx, inbound("m_3", at), conv, lastAt("m_3", at)); err != nil || !created {
		t.Fatalf("append m_3: created %v, %v", created, err)
	}
	e3 := receivedEvent("m_3", "cust-1", conv.CreatedAt)
	if _, _, created, err = f.s.AppendWithWebhookEvents(ctx, inbound("m_3", at), conv, lastAt("m_3", at), []store.WebhookEvent{e3}); err != nil || created {
		t.Fatalf("redelivery of m_3: created %v, %v", created, err)
	}
	if ids := pendingIDs(t, f.s); strings.Join(ids, ",") != strings.Join([]string{e1.ID, old.ID}, ",") {
		t.Fatalf("outbox = %v, want %s, %s (m_2's under its earlier id) once each, nothing of m_3's redelivery (%s)", ids, e1.ID, old.ID, e3.ID)
	}
	// A conversation gone: no entry, so no events.
	if err := f.s.DeleteConversation(ctx, "cv1"); err != nil {
		t.Fatal(err)
	}
	e4 := receivedEvent("m_4", "cust-1", conv.CreatedAt)
	if _, _, _, err := f.s.AppendWithWebhookEvents(ctx, inbound("m_4", at), conv, lastAt("m_4", at), []store.WebhookEvent{e4}); err == nil {
		t.Fatalf("append to a deleted conversation: no error")
	}
	if _, err := f.s.GetEntry(ctx, "m_4"); err == nil {
		t.Errorf("m_4 stored in a deleted conversation")
	}
	if _, err := f.s.GetWebhookEvent(ctx, e4.ID); err == nil {
		t.Errorf("m_4's event recorded without its entry")
	}
}

// Beside a newer hub's library without sb_append_v5, the append runs as
// a script (EVALSHA) with the same body: the events are still recorded
// in the append's call.
func TestAppendWithWebhookEventsAsScript(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	newer := "#!lua name=switchboard\nredis.register_function('sb_version', function() return 99 end)\n"
	if err := f.c.FunctionLoadReplace(ctx, newer).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.c.FunctionDelete(context.Background(), "switchboard") }) // the next store loads its own
	s := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now})
	defer s.Close()
	names := &commandNames{}
	f.c.AddHook(names)
	at := f.clock.Now().Add(time.Minute)
	ev := receivedEvent("m_1", "cust-1", conv.CreatedAt)
	if _, _, created, err := s.AppendWithWebhookEvents(ctx, inbound("m_1", at), conv, lastAt("m_1", at), []store.WebhookEvent{ev}); err != nil || !created {
		t.Fatalf("append as a script: created %v, %v", created, err)
	}
	names.mu.Lock()
	sent := strings.Join(names.names, ",")
	names.mu.Unlock()
	if !strings.Contains(sent, "evalsha") || strings.Count(sent, "evalsha") != 1 {
		t.Errorf("commands sent %s, want one EVALSHA (the append, with its events)", sent)
	}
	if ids := pendingIDs(t, s); len(ids) != 1 || ids[0] != ev.ID {
		t.Fatalf("outbox = %v, want %s", ids, ev.ID)
	}
	if e, err := s.GetEntry(ctx, "m_1"); err != nil || e.ConversationID != "cv1" {
		t.Fatalf("GetEntry(m_1) = %+v, %v", e, err)
	}
}
