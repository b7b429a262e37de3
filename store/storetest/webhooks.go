package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func webhookTests() []testCase {
	return []testCase{
		{"OutboxOnceAndInOrder", testWebhookOutbox},
		{"Deliveries", testWebhookDeliveries},
		{"Endpoints", testWebhookEndpoints},
		{"EraseCustomer", testWebhookErase},
		{"AppendWithEvents", testWebhookAppend},
		{"CreateCustomerWithEvents", testWebhookCreateCustomer},
		{"TimeOrderedIDs", testWebhookTimeOrderedIDs},
	}
}

// testWebhookCreateCustomer: CreateCustomerWithWebhookEvents creates the
// customer and records the events, both idempotent.
func testWebhookCreateCustomer(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := store.Customer{ID: "cust-1", Name: "Ann", CreatedAt: epoch, UpdatedAt: epoch}
	must(t, e.s.CreateCustomerWithWebhookEvents(e.ctx, c, []store.WebhookEvent{whEvent(1, "cust-1")}), "CreateCustomerWithWebhookEvents")
	again := c
	again.Name = "Changed"
	must(t, e.s.CreateCustomerWithWebhookEvents(e.ctx, again, []store.WebhookEvent{whEvent(1, "cust-1")}), "CreateCustomerWithWebhookEvents again")
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	if got.Name != "Ann" {
		t.Fatalf("customer after a repeated create = %+v: want the first one unchanged", got)
	}
	pend, err := e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 1 || pend[0].ID != "msg_001" || pend[0].CustomerID != "cust-1" {
		t.Fatalf("outbox after CreateCustomerWithWebhookEvents = %+v: want msg_001 once", pend)
	}
	// Erasure finds it by its customer.
	if n, err := e.s.DeleteWebhookCustomer(e.ctx, "cust-1"); err != nil || n != 1 {
		t.Fatalf("DeleteWebhookCustomer = %d, %v; want 1", n, err)
	}
}

// testWebhookAppend: AppendWithWebhookEvents appends like
// AppendToConversation and leaves the entry's events in the outbox, once,
// however often it is repeated.
func testWebhookAppend(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	at := epoch.Add(time.Minute)
	en := newEntry("m_1", "cust-1", at)
	en.ConversationID = "cv1"
	evs := []store.WebhookEvent{whEvent(1, "cust-1"), whEvent(2, "cust-1")}
	got, conv, created, err := e.s.AppendWithWebhookEvents(e.ctx, en, opened, touch("m_1", at), evs)
	must(t, err, "AppendWithWebhookEvents")
	if !created || got.ID != "m_1" || conv.LastMessageID != "m_1" || conv.Version != opened.Version+1 {
		t.Fatalf("AppendWithWebhookEvents = %+v, %+v, created=%v: want the entry appended and the conversation updated", got, conv, created)
	}
	if g, err := e.s.GetEntry(e.ctx, "m_1"); err != nil || g.ConversationID != "cv1" {
		t.Fatalf("GetEntry after AppendWithWebhookEvents = %+v, %v", g, err)
	}
	pend, err := e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 2 || pend[0].ID != "msg_001" || pend[1].ID != "msg_002" || pend[1].Seq <= pend[0].Seq || string(pend[1].Data) != `{"n":2}` {
		t.Fatalf("outbox after AppendWithWebhookEvents = %+v: want msg_001, msg_002 in order", pend)
	}
	// A redelivery: nothing new, the events not doubled, fn not applied.
	_, _, created, err = e.s.AppendWithWebhookEvents(e.ctx, en, conv, touch("m_1", at), evs)
	must(t, err, "AppendWithWebhookEvents again")
	if created {
		t.Fatalf("AppendWithWebhookEvents of an existing entry: created = true")
	}
	if c, err := e.s.GetConversation(e.ctx, "cv1"); err != nil || c.Version != conv.Version {
		t.Fatalf("conversation after a repeated append = version %d, %v; want %d (fn not applied)", c.Version, err, conv.Version)
	}
	if pend, _ := e.s.PendingWebhookEvents(e.ctx, 10); len(pend) != 2 {
		t.Fatalf("outbox after a repeated append = %d events, want 2", len(pend))
	}
	// No events: the same as AppendToConversation.
	en2 := newEntry("m_2", "cust-1", at.Add(time.Second))
	en2.ConversationID = "cv1"
	if _, _, created, err := e.s.AppendWithWebhookEvents(e.ctx, en2, conv, touch("m_2", en2.OccurredAt), nil); err != nil || !created {
		t.Fatalf("AppendWithWebhookEvents without events = created %v, %v", created, err)
	}
	if got, err := e.s.CountEntries(e.ctx, "cust-1"); err != nil || got != 2 {
		t.Fatalf("CountEntries = %d, %v; want 2", got, err)
	}
}

func whEvent(i int, customer string) store.WebhookEvent {
	return store.WebhookEvent{ID: fmt.Sprintf("msg_%03d", i), Type: "message.received", CustomerID: customer,
		At: epoch.Add(time.Duration(i) * time.Second), Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func testWebhookOutbox(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i := 1; i <= 5; i++ {
		ev, created, err := e.s.PutWebhookEvent(e.ctx, whEvent(i, "c1"))
		must(t, err, "PutWebhookEvent %d", i)
		if !created || ev.Seq <= 0 {
			t.Fatalf("PutWebhookEvent %d = %+v, created=%v: want a new event with a Seq", i, ev, created)
		}
	}
	// The same id again is the same event: nothing changes.
	again := whEvent(3, "c1")
	again.Data = []byte(`{"n":"changed"}`)
	ev, created, err := e.s.PutWebhookEvent(e.ctx, again)
	must(t, err, "PutWebhookEvent again")
	if created || string(ev.Data) != `{"n":3}` {
		t.Fatalf("PutWebhookEvent of an existing id = %+v, created=%v: want the first record, created=false", ev, created)
	}
	// Several at once, one of them known already.
	must(t, e.s.PutWebhookEvents(e.ctx, []store.WebhookEvent{whEvent(6, "c2"), again, whEvent(7, "")}), "PutWebhookEvents")
	pend, err := e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 7 || pend[5].ID != "msg_006" || pend[6].ID != "msg_007" || pend[6].Seq <= pend[5].Seq {
		t.Fatalf("PendingWebhookEvents after PutWebhookEvents = %+v", pend)
	}
	if got, _ := e.s.GetWebhookEvent(e.ctx, "msg_003"); string(got.Data) != `{"n":3}` {
		t.Fatalf("PutWebhookEvents replaced an existing event: %+v", got)
	}
	pend = pend[:5]
	if len(pend) != 5 {
		t.Fatalf("PendingWebhookEvents = %d events, want 5", len(pend))
	}
	for i, p := range pend {
		if p.ID != whEvent(i+1, "").ID || (i > 0 && p.Seq <= pend[i-1].Seq) {
			t.Fatalf("pending[%d] = %s seq %d: want recording order", i, p.ID, p.Seq)
		}
	}
	must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: pend[0]}}), "FanOutWebhookEvents")
	pend, err = e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 6 || pend[0].ID != "msg_002" {
		t.Fatalf("after fanning out msg_001, pending = %d starting %v", len(pend), pend)
	}
	got, err := e.s.GetWebhookEvent(e.ctx, "msg_001")
	must(t, err, "GetWebhookEvent")
	if string(got.Data) != `{"n":1}` || got.Type != "message.received" || !got.At.Equal(epoch.Add(time.Second)) {
		t.Fatalf("GetWebhookEvent = %+v", got)
	}
	_, err = e.s.GetWebhookEvent(e.ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "GetWebhookEvent(missing)")
	some, err := e.s.GetWebhookEvents(e.ctx, []string{"msg_004", "nope", "msg_002"})
	must(t, err, "GetWebhookEvents")
	if len(some) != 2 || some[0].ID != "msg_004" || some[1].ID != "msg_002" {
		t.Fatalf("GetWebhookEvents = %+v, want msg_004, msg_002", some)
	}
}

func testWebhookDeliveries(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i := 1; i <= 4; i++ {
		ev, _, err := e.s.PutWebhookEvent(e.ctx, whEvent(i, "c1"))
		must(t, err, "PutWebhookEvent")
		ds := []store.WebhookDelivery{
			{Endpoint: "crm", EventID: ev.ID, Type: ev.Type, CustomerID: "c1", Status: store.WebhookPending, CreatedAt: epoch},
			{Endpoint: "dwh", EventID: ev.ID, Type: ev.Type, CustomerID: "c1", Status: store.WebhookPending, CreatedAt: epoch},
		}
		must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: ev, Deliveries: ds}}), "FanOutWebhookEvents")
		// A repeated fan-out (a crash before it was marked) keeps what is there.
		must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: ev, Deliveries: ds[:1]}}), "FanOutWebhookEvents again")
	}
	pend, err := e.s.PendingWebhookDeliveries(e.ctx, "crm", 10)
	must(t, err, "PendingWebhookDeliveries")
	if len(pend) != 4 || pend[0].EventID != "msg_001" || pend[3].EventID != "msg_004" || pend[0].Seq <= 0 {
		t.Fatalf("pending deliveries of crm = %+v, want msg_001..msg_004 in order", pend)
	}
	d := pend[1]
	d.Status, d.Attempts, d.LastCode = store.WebhookDelivered, 2, 200
	must(t, e.s.PutWebhookDeliveries(e.ctx, d), "PutWebhookDelivery")
	pend, err = e.s.PendingWebhookDeliveries(e.ctx, "crm", 10)
	must(t, err, "PendingWebhookDeliveries")
	if len(pend) != 3 || pend[1].EventID != "msg_003" {
		t.Fatalf("after delivering msg_002, pending = %+v", pend)
	}
	got, err := e.s.GetWebhookDelivery(e.ctx, "crm", "msg_002")
	must(t, err, "GetWebhookDelivery")
	if got.Status != store.WebhookDelivered || got.Attempts != 2 || got.LastCode != 200 {
		t.Fatalf("GetWebhookDelivery = %+v", got)
	}
	log, err := e.s.ListWebhookDeliveries(e.ctx, "crm", 0, 3)
	must(t, err, "ListWebhookDeliveries")
	if len(log) != 3 || log[0].EventID != "msg_004" || log[2].EventID != "msg_002" {
		t.Fatalf("ListWebhookDeliveries = %+v, want msg_004, msg_003, msg_002", log)
	}
	older, err := e.s.ListWebhookDeliveries(e.ctx, "crm", log[2].Seq, 3)
	must(t, err, "ListWebhookDeliveries(before)")
	if len(older) != 1 || older[0].EventID != "msg_001" {
		t.Fatalf("ListWebhookDeliveries(before %d) = %+v, want msg_001", log[2].Seq, older)
	}
	// Back to pending (a replay).
	got.Status = store.WebhookPending
	must(t, e.s.PutWebhookDeliveries(e.ctx, got), "PutWebhookDelivery(replay)")
	pend, err = e.s.PendingWebhookDeliveries(e.ctx, "crm", 10)
	must(t, err, "PendingWebhookDeliveries")
	if len(pend) != 4 || pend[1].EventID != "msg_002" {
		t.Fatalf("after replaying msg_002, pending = %+v", pend)
	}
	other, err := e.s.ListWebhookDeliveries(e.ctx, "dwh", 0, 10)
	must(t, err, "ListWebhookDeliveries(dwh)")
	if len(other) != 4 {
		t.Fatalf("dwh has %d deliveries, want 4", len(other))
	}
	_, err = e.s.GetWebhookDelivery(e.ctx, "crm", "nope")
	wantErr(t, err, store.ErrNotFound, "GetWebhookDelivery(missing)")
}

func testWebhookEndpoints(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ep := store.WebhookEndpoint{Name: "crm", URL: "https://crm.example/hook", Events: []string{"*"}, Secrets: []string{"whsec_AAAA"}, Enabled: true, Source: "api"}
	must(t, e.s.CreateWebhookEndpoint(e.ctx, ep), "CreateWebhookEndpoint")
	wantErr(t, e.s.CreateWebhookEndpoint(e.ctx, ep), store.ErrConflict, "CreateWebhookEndpoint twice")
	must(t, e.s.CreateWebhookEndpoint(e.ctx, store.WebhookEndpoint{Name: "audit", URL: "https://a.example/", Enabled: true}), "Create audit")
	up, err := e.s.UpdateWebhookEndpoint(e.ctx, "crm", func(x *store.WebhookEndpoint) error {
		x.DisabledReason = "410 Gone"
		return nil
	})
	must(t, err, "UpdateWebhookEndpoint")
	if up.Active() || up.URL != ep.URL || up.Name != "crm" {
		t.Fatalf("updated = %+v", up)
	}
	_, err = e.s.UpdateWebhookEndpoint(e.ctx, "crm", func(*store.WebhookEndpoint) error { return errBoom })
	checkAbort(t, err, "UpdateWebhookEndpoint")
	_, err = e.s.UpdateWebhookEndpoint(e.ctx, "nope", func(*store.WebhookEndpoint) error { return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateWebhookEndpoint(missing)")
	list, err := e.s.ListWebhookEndpoints(e.ctx)
	must(t, err, "ListWebhookEndpoints")
	if len(list) != 2 || list[0].Name != "audit" || list[1].DisabledReason != "410 Gone" {
		t.Fatalf("ListWebhookEndpoints = %+v", list)
	}
	// Deleting an endpoint deletes its deliveries.
	ev, _, err := e.s.PutWebhookEvent(e.ctx, whEvent(1, "c1"))
	must(t, err, "PutWebhookEvent")
	must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: ev, Deliveries: []store.WebhookDelivery{{Endpoint: "crm", EventID: ev.ID, Status: store.WebhookPending}}}}), "FanOut")
	must(t, e.s.DeleteWebhookEndpoint(e.ctx, "crm"), "DeleteWebhookEndpoint")
	must(t, e.s.DeleteWebhookEndpoint(e.ctx, "crm"), "DeleteWebhookEndpoint again")
	_, err = e.s.GetWebhookEndpoint(e.ctx, "crm")
	wantErr(t, err, store.ErrNotFound, "GetWebhookEndpoint after delete")
	if ds, err := e.s.ListWebhookDeliveries(e.ctx, "crm", 0, 10); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries of a deleted endpoint = %v, %v", ds, err)
	}
	if ds, err := e.s.PendingWebhookDeliveries(e.ctx, "crm", 10); err != nil || len(ds) != 0 {
		t.Fatalf("pending deliveries of a deleted endpoint = %v, %v", ds, err)
	}
}

func testWebhookErase(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.CreateWebhookEndpoint(e.ctx, store.WebhookEndpoint{Name: "crm", URL: "https://crm.example/", Enabled: true}), "Create")
	for i := 1; i <= 4; i++ {
		cust := "c1"
		if i%2 == 0 {
			cust = "c2"
		}
		ev, _, err := e.s.PutWebhookEvent(e.ctx, whEvent(i, cust))
		must(t, err, "PutWebhookEvent")
		if i <= 2 {
			must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: ev, Deliveries: []store.WebhookDelivery{{Endpoint: "crm", EventID: ev.ID, CustomerID: cust, Status: store.WebhookPending}}}}), "FanOut")
		}
	}
	n, err := e.s.DeleteWebhookCustomer(e.ctx, "c1")
	must(t, err, "DeleteWebhookCustomer")
	if n != 2 {
		t.Fatalf("DeleteWebhookCustomer removed %d events, want 2", n)
	}
	if _, err := e.s.GetWebhookEvent(e.ctx, "msg_001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("erased customer's event still there: %v", err)
	}
	pend, err := e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 1 || pend[0].ID != "msg_004" {
		t.Fatalf("pending events after erasure = %+v, want only msg_004", pend)
	}
	ds, err := e.s.ListWebhookDeliveries(e.ctx, "crm", 0, 10)
	must(t, err, "ListWebhookDeliveries")
	if len(ds) != 1 || ds[0].EventID != "msg_002" {
		t.Fatalf("deliveries after erasure = %+v, want only msg_002", ds)
	}
	if n, err := e.s.DeleteWebhookCustomer(e.ctx, "c1"); err != nil || n != 0 {
		t.Fatalf("second erasure = %d, %v", n, err)
	}
}

// testWebhookTimeOrderedIDs: events under time-led ids
// (store.WebhookEventID with a time) are found, deduplicated, fanned out and
// erased like any; and a change an earlier version recorded under the id
// without the time is not recorded again under the new one (a redelivery
// across an upgrade), while its old id still finds it.
func testWebhookTimeOrderedIDs(t *testing.T, f Factory) {
	e := newEnv(t, f)
	at := epoch.Add(90 * time.Minute)
	ev := func(key, customer string, at time.Time) store.WebhookEvent {
		return store.WebhookEvent{ID: store.WebhookEventID("message.received", key, at), Type: "message.received",
			CustomerID: customer, At: epoch, Data: []byte(`{"key":"` + key + `"}`)}
	}
	// An earlier version's record of m1 (no time in its id).
	old := ev("m1", "c1", time.Time{})
	_, created, err := e.s.PutWebhookEvent(e.ctx, old)
	must(t, err, "PutWebhookEvent(old id)")
	if !created {
		t.Fatalf("PutWebhookEvent(%s): created=false on an empty outbox", old.ID)
	}
	// The same change again, now with its time: the old record answers.
	again := ev("m1", "c1", at)
	again.Data = []byte(`{"key":"changed"}`)
	got, created, err := e.s.PutWebhookEvent(e.ctx, again)
	must(t, err, "PutWebhookEvent(new id of an old event)")
	if created || got.ID != old.ID || string(got.Data) != `{"key":"m1"}` {
		t.Fatalf("PutWebhookEvent(%s) = %+v, created=%v: want the record under the earlier id %s, created=false", again.ID, got, created, old.ID)
	}
	// New changes under time-led ids, one of them repeated, one of them
	// the old change again.
	n2, n3 := ev("m2", "c1", at), ev("m3", "c2", at.Add(time.Millisecond))
	must(t, e.s.PutWebhookEvents(e.ctx, []store.WebhookEvent{n2, again, n3, n2}), "PutWebhookEvents")
	pend, err := e.s.PendingWebhookEvents(e.ctx, 10)
	must(t, err, "PendingWebhookEvents")
	if len(pend) != 3 || pend[0].ID != old.ID || pend[1].ID != n2.ID || pend[2].ID != n3.ID {
		t.Fatalf("outbox = %+v: want %s, %s, %s once each, in recording order", pend, old.ID, n2.ID, n3.ID)
	}
	for _, id := range []string{old.ID, n2.ID, n3.ID} {
		if g, err := e.s.GetWebhookEvent(e.ctx, id); err != nil || g.ID != id {
			t.Fatalf("GetWebhookEvent(%s) = %+v, %v", id, g, err)
		}
	}
	// Fan-out and the delivery log by the new id.
	must(t, e.s.CreateWebhookEndpoint(e.ctx, store.WebhookEndpoint{Name: "crm", URL: "https://crm.example/hook", Events: []string{"*"}, Enabled: true}), "CreateWebhookEndpoint")
	must(t, e.s.FanOutWebhookEvents(e.ctx, []store.WebhookFanOut{{Event: pend[1], Deliveries: []store.WebhookDelivery{
		{Endpoint: "crm", EventID: n2.ID, Type: n2.Type, CustomerID: "c1", Status: store.WebhookPending, CreatedAt: epoch}}}}), "FanOutWebhookEvents")
	if d, err := e.s.GetWebhookDelivery(e.ctx, "crm", n2.ID); err != nil || d.EventID != n2.ID {
		t.Fatalf("GetWebhookDelivery(crm, %s) = %+v, %v", n2.ID, d, err)
	}
	// Erasure finds old and new ids by their customer.
	if n, err := e.s.DeleteWebhookCustomer(e.ctx, "c1"); err != nil || n != 2 {
		t.Fatalf("DeleteWebhookCustomer(c1) = %d, %v; want 2 (old and new ids)", n, err)
	}
	for _, id := range []string{old.ID, n2.ID} {
		_, err := e.s.GetWebhookEvent(e.ctx, id)
		wantErr(t, err, store.ErrNotFound, "GetWebhookEvent of an erased event")
	}
	if _, err := e.s.GetWebhookDelivery(e.ctx, "crm", n2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetWebhookDelivery of an erased event: %v, want ErrNotFound", err)
	}
	if g, err := e.s.GetWebhookEvent(e.ctx, n3.ID); err != nil || g.CustomerID != "c2" {
		t.Fatalf("another customer's event after the erasure: %+v, %v", g, err)
	}
}
