package embedded

import (
	"reflect"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/switchboard-hub/switchboard/store"
)

// An outbox record reads back as written, and records an earlier version
// wrote as JSON (putJSON of the event) still read the same.
func TestOutboxRecordEncoding(t *testing.T) {
	evs := []store.WebhookEvent{
		{ID: "msg_abc", Seq: 42, Type: "message.received", CustomerID: "cus_1",
			At: time.Date(2026, 12, 7, 12, 0, 0, 123456789, time.UTC), Data: []byte(`{"text":"héllo \u0000"}`)},
		{ID: "msg_def", Seq: 1, Type: "customer.created", At: time.Unix(0, 0).UTC(), Data: []byte(`{}`)},
		{ID: "msg_old", Seq: 7, Type: "webhook.ping", At: time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC)},
		{ID: "msg_zero", Seq: 1 << 40, Type: "x"},
	}
	for _, ev := range evs {
		var got store.WebhookEvent
		if err := decodeEvent(encodeEvent(ev), &got); err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("%s: read back %+v, wrote %+v", ev.ID, got, ev)
		}
		legacy, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got = store.WebhookEvent{}
		if err := decodeEvent(legacy, &got); err != nil {
			t.Fatalf("%s legacy: %v", ev.ID, err)
		}
		if got.ID != ev.ID || got.Seq != ev.Seq || !got.At.Equal(ev.At) || string(got.Data) != string(ev.Data) {
			t.Errorf("%s legacy: read %+v, wrote %+v", ev.ID, got, ev)
		}
	}
	enc := encodeEvent(evs[0])
	for _, bad := range [][]byte{nil, {0x02}, enc[:5], {eventFormat1, 0x80}} {
		if err := decodeEvent(bad, &store.WebhookEvent{}); err == nil {
			t.Errorf("decoded malformed record %x", bad)
		}
	}
}
