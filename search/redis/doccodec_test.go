package redis

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/search"
)

// The compact document reads back exactly what json.Marshal of
// search.Doc (the older form) read back, for every shape of document, and
// the older form still reads.
func TestDocEncodingReadsAsTheOldOne(t *testing.T) {
	at := time.Date(2026, 12, 7, 16, 39, 17, 362692273, time.UTC)
	base := search.Doc{ID: "m_51f98fae008d362a8e8549a867647a7b", CustomerID: "c_01a2515f9fd7a2b55f166c",
		ConversationID: "v_a2b55f166ce53e135c460f0d", Channel: "api", Kind: "message", Direction: "in", At: at,
		Text: "load test message 14175", Identities: []connectors.Identity{{Type: "email", Value: "load175@example.com", Verified: true}}}
	docs := []search.Doc{base}
	add := func(f func(*search.Doc)) {
		d := base
		f(&d)
		docs = append(docs, d)
	}
	add(func(d *search.Doc) { d.At = time.Time{} })
	add(func(d *search.Doc) { d.At = at.In(time.FixedZone("", -5*3600)) })
	add(func(d *search.Doc) { d.At = time.Now() }) // local zone, monotonic reading
	add(func(d *search.Doc) { d.At = time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC) })
	add(func(d *search.Doc) {
		d.Subject, d.Name, d.Kind, d.Direction, d.ConversationID = "Re: \"x\"", "Anna", "", "", ""
		d.Identities = []connectors.Identity{{Type: "phone", Value: "+358"}, {}}
	})
	add(func(d *search.Doc) { d.Identities = []connectors.Identity{} })
	add(func(d *search.Doc) { d.CustomerID = "" })
	add(func(d *search.Doc) { d.ID = "other" })
	odd := "a\"b\\c\n\r\t\x00\x1f\x7f <&> \u2028\u2029 \xff\xfe bad \xe2\x82 é 😀 \ufffd end"
	add(func(d *search.Doc) { // every string with what JSON must escape, invalid UTF-8 included
		d.CustomerID, d.ConversationID, d.Channel, d.Kind, d.Direction, d.Subject, d.Text, d.Name = odd, odd, odd, odd, odd, odd, odd, odd
		d.Identities = []connectors.Identity{{Type: odd, Value: odd, Verified: true}, {Type: "x"}}
	})
	add(func(d *search.Doc) { d.ID = odd })
	for i, d := range docs {
		legacy, _ := json.Marshal(d)
		var want search.Doc
		if err := json.Unmarshal(legacy, &want); err != nil {
			t.Fatal(err)
		}
		raw, err := encodeDoc(d, base.ID)
		if err != nil || strings.HasPrefix(raw, legacyDocPrefix) {
			t.Fatalf("%d: %s %v", i, raw, err)
		}
		got, err := decodeDoc(raw, base.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%d: stored %s\nread %+v, %v\nwant %+v", i, raw, got, err, want)
		}
		if old, err := decodeDoc(string(legacy), "ignored"); err != nil || !reflect.DeepEqual(old, want) {
			t.Errorf("%d: legacy read as %+v, %v", i, old, err)
		}
		if err := json.Unmarshal([]byte(raw), &search.Doc{}); err == nil {
			t.Errorf("%d: an older version reads %s", i, raw)
		}
		if i == 0 && 3*len(raw) > 2*len(legacy) {
			t.Errorf("compact document %d bytes, legacy %d: %s", len(raw), len(legacy), raw)
		}
	}
}
