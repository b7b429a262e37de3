package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"
	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// An outbox record (bWhEvents) is written in the transaction of every
// change an endpoint wants, so its encoding is on ingest's path (issue 21,
// fourth part). It is not JSON: JSON stored the event's data (JSON
// already) as base64 of it, a third larger, and formatted the time as
// RFC 3339 text. The record is
//
//	0x01 | uvarint seq | uvarint len id | id | uvarint len type | type |
//	uvarint len customer | customer | varint unix seconds | uvarint nanoseconds |
//	data (the rest, the body's data object as is)
//
// Records written as JSON by earlier versions start with '{' and are
// still read.
const eventFormat1 = 0x01

var errEventRecord = errors.New("embedded: malformed outbox record")

func encodeEvent(ev store.WebhookEvent) []byte {
	n := 1 + 4*binary.MaxVarintLen64 + len(ev.ID) + len(ev.Type) + len(ev.CustomerID) + 2*binary.MaxVarintLen64 + len(ev.Data)
	b := make([]byte, 0, n)
	b = append(b, eventFormat1)
	b = binary.AppendUvarint(b, uint64(ev.Seq))
	for _, s := range []string{ev.ID, ev.Type, ev.CustomerID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	var sec int64
	var nsec uint64
	if !ev.At.IsZero() {
		sec, nsec = ev.At.Unix(), uint64(ev.At.Nanosecond())
	} else {
		sec, nsec = 0, 1<<31 // the zero time: nanoseconds no real time has
	}
	b = binary.AppendVarint(b, sec)
	b = binary.AppendUvarint(b, nsec)
	return append(b, ev.Data...)
}

func decodeEvent(raw []byte, ev *store.WebhookEvent) error {
	if len(raw) > 0 && raw[0] == '{' {
		return json.Unmarshal(raw, ev)
	}
	if len(raw) == 0 || raw[0] != eventFormat1 {
		return errEventRecord
	}
	b := raw[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func() (string, bool) {
		l, ok := uv()
		if !ok || l > uint64(len(b)) {
			return "", false
		}
		s := string(b[:l])
		b = b[l:]
		return s, true
	}
	seq, ok := uv()
	var id, typ, cust string
	if ok {
		id, ok = str()
	}
	if ok {
		typ, ok = str()
	}
	if ok {
		cust, ok = str()
	}
	if !ok {
		return errEventRecord
	}
	sec, n := binary.Varint(b)
	if n <= 0 {
		return errEventRecord
	}
	b = b[n:]
	nsec, ok := uv()
	if !ok {
		return errEventRecord
	}
	*ev = store.WebhookEvent{ID: id, Seq: int64(seq), Type: typ, CustomerID: cust}
	if nsec < 1e9 {
		ev.At = time.Unix(sec, int64(nsec)).UTC()
	}
	if len(b) > 0 {
		ev.Data = append([]byte(nil), b...) // bbolt's bytes live only in the transaction
	}
	return nil
}

// getEvent reads the outbox record id from b (bWhEvents).
func getEvent(b *bolt.Bucket, id []byte, ev *store.WebhookEvent) (bool, error) {
	raw := b.Get(id)
	if raw == nil {
		return false, nil
	}
	if err := decodeEvent(raw, ev); err != nil {
		return true, fmt.Errorf("embedded: decode %q: %w", id, err)
	}
	return true, nil
}
