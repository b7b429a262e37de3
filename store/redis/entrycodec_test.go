package redis

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// codecEntries are entries of every shape the codec must keep: the common
// inbound message, every field set, times at other offsets, zero and
// unusual times, kinds other than message (empty included).
func codecEntries() []store.Entry {
	at := time.Date(2026, 12, 7, 16, 29, 32, 368894202, time.UTC)
	paris := time.FixedZone("", 3600)
	msg := store.Entry{ID: "m_a5cd81fbc317046e300060fa1bb47f64", CustomerID: "c_01a25156c3767b5f447b6f",
		ConversationID: "v_7b5f447b6f64af5233f146ff", Channel: "api", Direction: connectors.Inbound, Kind: store.KindMessage,
		ProviderID: "1796660969217495942-19728", Sender: &connectors.Identity{Type: "email", Value: "bench4728@example.com", Verified: true},
		Text:       "benchmark message with a typical short body of about eighty characters......",
		OccurredAt: at, CreatedAt: at.Add(4228981), UpdatedAt: at.Add(4228981)}
	full := store.Entry{ID: "m_1", CustomerID: "cust-1", ConversationID: "cv1", Channel: "email", Direction: connectors.Outbound,
		Kind: store.KindNote, ProviderID: "p1", Sender: &connectors.Identity{Type: "phone", Value: "+33 6"}, SenderName: "Ann",
		Agent: "bob", PostedBy: "svc", Subject: "Re: hi", Text: "t\u00e9xt \"quoted\" <b>", HTML: "<p>x</p>",
		Attachments: []connectors.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 3, SHA256: "ab", Inline: true, Omitted: "big"}},
		Fields:      []connectors.Field{{Name: "order", Value: "42"}}, Flags: []string{store.FlagNoReply, "x"},
		Status: "failed", StatusDetail: "bounced", OccurredAt: at.In(paris), CreatedAt: at.Add(time.Second),
		UpdatedAt: at.Add(time.Hour), Version: 7, Purpose: "marketing", CSAT: &store.CSAT{Score: 4, Scale: 5, Comment: "ok"},
		Choices: []connectors.Choice{{Label: "Yes", Value: "y"}}}
	var out []store.Entry
	add := func(f func(*store.Entry)) {
		e := msg
		f(&e)
		out = append(out, e)
	}
	out = append(out, msg, full)
	add(func(e *store.Entry) { e.Kind = "" })
	add(func(e *store.Entry) { e.Kind = store.KindEvent; e.Sender = nil; e.Direction = "" })
	add(func(e *store.Entry) { e.OccurredAt, e.CreatedAt, e.UpdatedAt = time.Time{}, time.Time{}, time.Time{} })
	add(func(e *store.Entry) { e.OccurredAt = time.Time{} })
	add(func(e *store.Entry) { e.UpdatedAt = time.Time{} })
	add(func(e *store.Entry) { e.CreatedAt = time.Time{} })
	add(func(e *store.Entry) { e.CreatedAt = e.OccurredAt; e.UpdatedAt = e.OccurredAt })
	add(func(e *store.Entry) { e.CreatedAt = e.OccurredAt.Add(-time.Hour) })              // before it
	add(func(e *store.Entry) { e.CreatedAt = e.CreatedAt.In(paris) })                     // another offset, UpdatedAt UTC
	add(func(e *store.Entry) { e.UpdatedAt = e.CreatedAt.In(paris) })                     // equal instant, another offset
	add(func(e *store.Entry) { e.OccurredAt = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) }) // out of int64 nanoseconds
	add(func(e *store.Entry) { e.OccurredAt = store.MinSortTime; e.CreatedAt = store.MaxSortTime })
	add(func(e *store.Entry) { e.OccurredAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) })
	add(func(e *store.Entry) { e.CreatedAt = time.Now(); e.UpdatedAt = e.CreatedAt.Add(time.Millisecond) }) // monotonic, local zone
	add(func(e *store.Entry) { e.Flags = []string{}; e.Attachments = []connectors.Attachment{} })
	add(func(e *store.Entry) { e.Sender = &connectors.Identity{} })
	add(func(e *store.Entry) { e.ID = "other"; e.CustomerID = "another" }) // not the hash's field and customer
	odd := "a\"b\\c\n\r\t\x00\x1f\x7f <&> \u2028\u2029 \xff\xfe bad \xe2\x82 é 😀 \ufffd end"
	add(func(e *store.Entry) { // every string field with what JSON must escape, invalid UTF-8 included
		e.ConversationID, e.Channel, e.Direction, e.Kind, e.ProviderID = odd, odd, connectors.Direction(odd), odd, odd
		e.Sender = &connectors.Identity{Type: odd, Value: odd}
		e.SenderName, e.Agent, e.PostedBy, e.Subject, e.Text, e.HTML, e.Status, e.StatusDetail, e.Purpose = odd, odd, odd, odd, odd, odd, odd, odd, odd
		e.Flags = []string{odd}
		e.Version = -3
	})
	add(func(e *store.Entry) { e.ID, e.CustomerID = odd, odd })
	return out
}

// The compact encoding reads back exactly what the old one (json.Marshal
// of store.Entry) read back, for every shape of entry; and an old record
// still reads.
func TestEntryEncodingReadsAsTheOldOne(t *testing.T) {
	for i, e := range codecEntries() {
		legacy := marshal(e)
		var want store.Entry
		if err := unmarshal(legacy, &want); err != nil {
			t.Fatal(err)
		}
		raw := encodeEntry(e, "m_a5cd81fbc317046e300060fa1bb47f64", "c_01a25156c3767b5f447b6f")
		if strings.HasPrefix(raw, legacyEntryPrefix) {
			t.Fatalf("%d: compact record looks legacy: %s", i, raw)
		}
		var got store.Entry
		if err := decodeEntry(raw, "m_a5cd81fbc317046e300060fa1bb47f64", "c_01a25156c3767b5f447b6f", &got); err != nil {
			t.Fatalf("%d: %s: %v", i, raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: stored %s\nread  %+v\nwant  %+v", i, raw, got, want)
		}
		if gj, wj := marshal(got), marshal(want); gj != wj {
			t.Errorf("%d: API JSON differs:\n%s\n%s", i, gj, wj)
		}
		var old store.Entry
		if err := decodeEntry(legacy, "ignored", "ignored", &old); err != nil || !reflect.DeepEqual(old, want) {
			t.Errorf("%d: legacy record read as %+v, %v", i, old, err)
		}
	}
}

// The common inbound message is stored in at most half the old bytes and
// under the 252 bytes of Redis's smallest allocation for a string of its
// size (an sds of up to 252 bytes takes 256; the old ~500 took 512-640).
func TestEntryEncodingIsCompact(t *testing.T) {
	e := codecEntries()[0]
	raw := encodeEntry(e, e.ID, e.CustomerID)
	legacy := marshal(e)
	t.Logf("compact %d B: %s\nlegacy %d B", len(raw), raw, len(legacy))
	if len(raw) > 252 || 2*len(raw) > len(legacy) {
		t.Fatalf("compact record is %d bytes, legacy %d", len(raw), len(legacy))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"i", "cu", "k", "u", "customer_id"} {
		if _, ok := m[k]; ok {
			t.Errorf("compact record carries %q: %s", k, raw)
		}
	}
	if string(m["id"]) != "1" {
		t.Errorf("compact record's format: %s", raw)
	}
}

// An older hub (json.Unmarshal into store.Entry) fails on a compact
// record instead of reading an entry without id, text or times (which its
// UpdateEntry would write back); this version refuses a format it does
// not know.
func TestEntryEncodingRefusedByOlderAndNewer(t *testing.T) {
	for _, e := range codecEntries() {
		raw := encodeEntry(e, e.ID, e.CustomerID)
		var old store.Entry
		if err := json.Unmarshal([]byte(raw), &old); err == nil {
			t.Fatalf("an older hub reads %s as %+v", raw, old)
		}
	}
	var e store.Entry
	if err := decodeEntry(`{"id":2,"t":"x"}`, "m1", "c1", &e); err == nil {
		t.Fatalf("format 2 read as %+v", e)
	}
}

// FuzzEntryEncoding: any text and times read back as the old encoding
// read them, and no stored text makes decoding panic.
func FuzzEntryEncoding(f *testing.F) {
	f.Add("hello", "subject", int64(1796660972368894202), int64(4228981), `{"id":1,"t":"x"}`)
	f.Add("a\x00\xff\u2028", "", int64(-1), int64(-5), `{"id":"m","text":"x"}`)
	f.Fuzz(func(t *testing.T, text, subject string, occurred, created int64, raw string) {
		e := codecEntries()[0]
		e.Text, e.Subject = text, subject
		e.OccurredAt = time.Unix(0, occurred).UTC()
		e.CreatedAt = e.OccurredAt.Add(time.Duration(created))
		e.UpdatedAt = e.CreatedAt
		var want, got store.Entry
		if err := unmarshal(marshal(e), &want); err != nil {
			t.Skip() // the old encoding cannot hold it either
		}
		if err := decodeEntry(encodeEntry(e, e.ID, e.CustomerID), e.ID, e.CustomerID, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("read %+v, %v\nwant %+v", got, err, want)
		}
		var any store.Entry
		_ = decodeEntry(raw, "m", "c", &any)
	})
}
