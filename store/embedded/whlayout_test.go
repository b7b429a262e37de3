package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// putEventByID writes ev as versions before h21b did: the record under
// its event id in wh_events, the customer index keyed by event id.
func putEventByID(tx *bolt.Tx, ev store.WebhookEvent) (store.WebhookEvent, error) {
	b := tx.Bucket(bWhEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return ev, err
	}
	ev.Seq = int64(seq)
	if err := b.Put([]byte(ev.ID), encodeEvent(ev)); err != nil {
		return ev, err
	}
	if err := tx.Bucket(bWhPending).Put(seqKey(ev.Seq), []byte(ev.ID)); err != nil {
		return ev, err
	}
	if ev.CustomerID != "" {
		return ev, tx.Bucket(bWhByCustomer).Put(key(ev.CustomerID, ev.ID), seqKey(ev.Seq))
	}
	return ev, nil
}

// A new outbox record is kept under its sequence (wh_records), found by
// id through wh_ids and by customer through (customer, seq) keys: not
// under its event id in wh_events.
func TestOutboxRecordsBySequence(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, created, err := s.PutWebhookEvent(ctx, store.WebhookEvent{ID: "msg_new", Type: "message.received", CustomerID: "cus_1", Data: []byte(`{}`)})
	if err != nil || !created {
		t.Fatalf("put: created %v, %v", created, err)
	}
	err = s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bWhEvents).Get([]byte("msg_new")); v != nil {
			t.Errorf("record stored under its event id in wh_events")
		}
		var got store.WebhookEvent
		if found, err := getEvent(tx.Bucket(bWhRecords), seqKey(ev.Seq), &got); err != nil || !found || got.ID != "msg_new" {
			t.Errorf("wh_records[%d]: found %v, %+v, %v", ev.Seq, found, got, err)
		}
		if v := tx.Bucket(bWhIDs).Get([]byte("msg_new")); string(v) != string(seqKey(ev.Seq)) {
			t.Errorf("wh_ids[msg_new] = %x, want seq %d", v, ev.Seq)
		}
		if v := tx.Bucket(bWhCustSeq).Get(append(prefix("cus_1"), seqKey(ev.Seq)...)); string(v) != "msg_new" {
			t.Errorf("wh_cust_seq[cus_1, %d] = %q", ev.Seq, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A store opened from a file an earlier version wrote (records under
// their event ids) still reads, dedupes, fans out, delivers and erases
// those records, next to new ones, in one sequence.
func TestOutboxRecordsOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var old []store.WebhookEvent
	err = s.update(ctx, func(tx *bolt.Tx) error {
		for _, ev := range []store.WebhookEvent{
			{ID: "msg_old1", Type: "message.received", CustomerID: "cus_a", At: at, Data: []byte(`{"n":1}`)},
			{ID: "msg_old2", Type: "message.received", CustomerID: "cus_b", At: at, Data: []byte(`{"n":2}`)},
			{ID: "msg_old3", Type: "message.received", CustomerID: "cus_a", At: at, Data: []byte(`{"n":3}`)},
		} {
			ev, err := putEventByID(tx, ev)
			if err != nil {
				return err
			}
			old = append(old, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateWebhookEndpoint(ctx, store.WebhookEndpoint{Name: "ep", URL: "https://example.test/hook", Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhookEvent(ctx, "msg_old2")
	if err != nil || got.Seq != old[1].Seq || string(got.Data) != `{"n":2}` || got.CustomerID != "cus_b" {
		t.Fatalf("old record: %+v, %v", got, err)
	}
	// Recording an old event again keeps its record and id.
	again, created, err := s.PutWebhookEvent(ctx, store.WebhookEvent{ID: "msg_old1", Type: "message.received", CustomerID: "cus_a", Data: []byte(`{"n":9}`)})
	if err != nil || created || again.Seq != old[0].Seq || string(again.Data) != `{"n":1}` {
		t.Fatalf("re-recording an old event: created %v, %+v, %v", created, again, err)
	}
	nw, created, err := s.PutWebhookEvent(ctx, store.WebhookEvent{ID: "msg_new1", Type: "message.received", CustomerID: "cus_a", Data: []byte(`{"n":4}`)})
	if err != nil || !created || nw.Seq <= old[2].Seq {
		t.Fatalf("new event after old ones: created %v, seq %d (old up to %d), %v", created, nw.Seq, old[2].Seq, err)
	}
	if _, created, err := s.PutWebhookEvent(ctx, store.WebhookEvent{ID: "msg_new1", Type: "message.received"}); err != nil || created {
		t.Fatalf("re-recording a new event: created %v, %v", created, err)
	}
	pend, err := s.PendingWebhookEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range pend {
		ids = append(ids, ev.ID)
	}
	if want := "[msg_old1 msg_old2 msg_old3 msg_new1]"; fmtIDs(ids) != want {
		t.Fatalf("pending %v, want %s in order", ids, want)
	}
	evs, err := s.GetWebhookEvents(ctx, []string{"msg_new1", "msg_old3", "msg_none"})
	if err != nil || len(evs) != 2 || evs[0].ID != "msg_new1" || evs[1].ID != "msg_old3" {
		t.Fatalf("GetWebhookEvents: %+v, %v", evs, err)
	}
	var fs []store.WebhookFanOut
	for _, ev := range pend {
		fs = append(fs, store.WebhookFanOut{Event: ev, Deliveries: []store.WebhookDelivery{{Endpoint: "ep", EventID: ev.ID, Type: ev.Type,
			CustomerID: ev.CustomerID, Status: store.WebhookPending, CreatedAt: at}}})
	}
	if err := s.FanOutWebhookEvents(ctx, fs); err != nil {
		t.Fatal(err)
	}
	if pend, err := s.PendingWebhookEvents(ctx, 10); err != nil || len(pend) != 0 {
		t.Fatalf("pending after fan-out: %+v, %v", pend, err)
	}
	for _, ev := range pend {
		d, err := s.GetWebhookDelivery(ctx, "ep", ev.ID)
		if err != nil || d.Seq != ev.Seq {
			t.Fatalf("delivery of %s: %+v, %v", ev.ID, d, err)
		}
	}

	n, err := s.DeleteWebhookCustomer(ctx, "cus_a")
	if err != nil || n != 3 {
		t.Fatalf("erase cus_a: %d records, %v; want 3", n, err)
	}
	for _, id := range []string{"msg_old1", "msg_old3", "msg_new1"} {
		if _, err := s.GetWebhookEvent(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after erasure: %v", id, err)
		}
		if _, err := s.GetWebhookDelivery(ctx, "ep", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delivery of %s after erasure: %v", id, err)
		}
	}
	if ds, err := s.PendingWebhookDeliveries(ctx, "ep", 10); err != nil || len(ds) != 1 || ds[0].EventID != "msg_old2" {
		t.Fatalf("pending deliveries after erasing cus_a: %+v, %v", ds, err)
	}
	if got, err := s.GetWebhookEvent(ctx, "msg_old2"); err != nil || got.Seq != old[1].Seq {
		t.Fatalf("other customer's record after erasure: %+v, %v", got, err)
	}
	if n, err := s.DeleteWebhookCustomer(ctx, "cus_a"); err != nil || n != 0 {
		t.Fatalf("erasing again: %d, %v", n, err)
	}
}

func fmtIDs(ids []string) string {
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out + "]"
}
