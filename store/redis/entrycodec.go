package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/jsonstr"
	"github.com/switchboard-hub/switchboard/store"
)

// How an entry is stored in its customer's entries hash (issue 23: Redis
// memory per message). Hubs before this one stored json.Marshal of
// store.Entry, every field named in full and every time as RFC 3339 text:
// about 500 bytes for an 80-byte message, the biggest part of a message's
// Redis memory. This version stores a compact JSON object instead:
//
//   - short names ("v" conversation, "t" text, ...), empty fields left out,
//     the sender as an array ([type, value] or [type, value, 1] when
//     verified);
//   - the id and the customer left out: they are the hash field and the
//     key's customer (written only when they differ, which the store never
//     does);
//   - Kind left out when it is "message" ("k" is written otherwise, even
//     when empty);
//   - times as integers: OccurredAt in Unix nanoseconds, CreatedAt as
//     nanoseconds after OccurredAt, UpdatedAt as nanoseconds after
//     CreatedAt, each left out when equal to its reference (UpdatedAt
//     equal to CreatedAt, the common case, costs nothing); a time not in
//     UTC, or out of int64 nanoseconds' range, keeps its RFC 3339 text (its
//     offset is kept, as before), and a zero time whose reference is not
//     zero is null.
//
// A compact record starts with its format, {"id":1, where the old
// encoding starts with the id's string ({"id":" — json.Marshal of
// store.Entry always starts so): decoding tells the two apart by that, so
// records written by an older hub read as they always did and both kinds
// can sit in one hash. The number under the old name "id" is also what
// keeps an older hub from misreading a compact record during a rolling
// upgrade: its json.Unmarshal fails on it (a number for a string) instead
// of reading an entry with no id, text or times, which its UpdateEntry
// would then write back (the loss of the entry). An older hub answers an
// error for an entry a newer one wrote (its timeline pages, redeliveries
// and status updates of those entries fail and are retried) until the
// upgrade is finished; a newer hub refuses a format it does not know. An entry is rewritten in
// the compact form only when it changes (UpdateEntry). No Lua code reads an
// entry's fields: the scripts and functions store, compare and return the
// text as it is, so the encoding needs no new function version.

// legacyEntryPrefix starts every entry an older hub stored;
// compactEntryPrefix every entry this version stores (format 1).
const (
	legacyEntryPrefix  = `{"id":"`
	compactEntryPrefix = `{"id":1`
)

// storedIdentity is the sender as an array: [type, value], with a third
// element 1 when verified (encodeEntry writes it).
type storedIdentity connectors.Identity

func (i *storedIdentity) UnmarshalJSON(b []byte) error {
	var a []json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) < 2 || len(a) > 3 {
		return fmt.Errorf("store/redis: sender of %d elements", len(a))
	}
	*i = storedIdentity{}
	if err := json.Unmarshal(a[0], &i.Type); err != nil {
		return err
	}
	if err := json.Unmarshal(a[1], &i.Value); err != nil {
		return err
	}
	i.Verified = len(a) == 3 && string(a[2]) == "1"
	return nil
}

type storedEntry struct {
	Format         int                     `json:"id"`
	ID             string                  `json:"i,omitempty"`
	CustomerID     string                  `json:"cu,omitempty"`
	ConversationID string                  `json:"v,omitempty"`
	Channel        string                  `json:"ch,omitempty"`
	Direction      connectors.Direction    `json:"d,omitempty"`
	Kind           *string                 `json:"k,omitempty"`
	ProviderID     string                  `json:"p,omitempty"`
	Sender         *storedIdentity         `json:"s,omitempty"`
	SenderName     string                  `json:"sn,omitempty"`
	Agent          string                  `json:"a,omitempty"`
	PostedBy       string                  `json:"pb,omitempty"`
	Subject        string                  `json:"sj,omitempty"`
	Text           string                  `json:"t,omitempty"`
	HTML           string                  `json:"h,omitempty"`
	Attachments    []connectors.Attachment `json:"at,omitempty"`
	Fields         []connectors.Field      `json:"f,omitempty"`
	Flags          []string                `json:"fl,omitempty"`
	Status         string                  `json:"st,omitempty"`
	StatusDetail   string                  `json:"sd,omitempty"`
	OccurredAt     json.RawMessage         `json:"o,omitempty"`
	CreatedAt      json.RawMessage         `json:"c,omitempty"`
	UpdatedAt      json.RawMessage         `json:"u,omitempty"`
	Version        int64                   `json:"n,omitempty"`
	Purpose        string                  `json:"pu,omitempty"`
	CSAT           *store.CSAT             `json:"cs,omitempty"`
	Choices        []connectors.Choice     `json:"cc,omitempty"`
	// A nil slice and an empty one both read back as nil: the old
	// encoding's omitempty did the same.
}

// encodeEntry is e as stored in the entries hash of customer under field
// id: storedEntry's JSON, written by hand (every message's entry is
// encoded once on the hot path; reflection cost more than the old
// json.Marshal). decodeEntry reads it with encoding/json.
func encodeEntry(e store.Entry, id, customer string) string {
	b := make([]byte, 0, 160+len(e.Text)+len(e.HTML)+len(e.Subject))
	b = append(b, compactEntryPrefix...)
	str := func(name, v string) {
		if v != "" {
			b = appendName(b, name)
			b = jsonstr.Append(b, v)
		}
	}
	raw := func(name string, v []byte) {
		if len(v) > 0 {
			b = appendName(b, name)
			b = append(b, v...)
		}
	}
	other := func(name string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("store/redis: marshal entry: %v", err)) // records always marshal
		}
		raw(name, j)
	}
	if e.ID != id {
		str("i", e.ID)
	}
	if e.CustomerID != customer {
		str("cu", e.CustomerID)
	}
	str("v", e.ConversationID)
	str("ch", e.Channel)
	str("d", string(e.Direction))
	if e.Kind != store.KindMessage {
		b = appendName(b, "k")
		b = jsonstr.Append(b, e.Kind)
	}
	str("p", e.ProviderID)
	if e.Sender != nil {
		b = appendName(b, "s")
		b = append(b, '[')
		b = jsonstr.Append(b, e.Sender.Type)
		b = append(b, ',')
		b = jsonstr.Append(b, e.Sender.Value)
		if e.Sender.Verified {
			b = append(b, ",1"...)
		}
		b = append(b, ']')
	}
	str("sn", e.SenderName)
	str("a", e.Agent)
	str("pb", e.PostedBy)
	str("sj", e.Subject)
	str("t", e.Text)
	str("h", e.HTML)
	if len(e.Attachments) > 0 {
		other("at", e.Attachments)
	}
	if len(e.Fields) > 0 {
		other("f", e.Fields)
	}
	if len(e.Flags) > 0 {
		other("fl", e.Flags)
	}
	str("st", e.Status)
	str("sd", e.StatusDetail)
	raw("o", encodeTime(e.OccurredAt, time.Time{}))
	raw("c", encodeTime(e.CreatedAt, e.OccurredAt))
	raw("u", encodeTime(e.UpdatedAt, e.CreatedAt))
	if e.Version != 0 {
		b = appendName(b, "n")
		b = strconv.AppendInt(b, e.Version, 10)
	}
	str("pu", e.Purpose)
	if e.CSAT != nil {
		other("cs", e.CSAT)
	}
	if len(e.Choices) > 0 {
		other("cc", e.Choices)
	}
	b = append(b, '}')
	return string(b)
}

// appendName appends a member's name (a plain ASCII constant) and its
// colon after a comma (the format is always first).
func appendName(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// decodeEntry reads an entry stored under field id of customer's entries
// hash, in either encoding.
func decodeEntry(raw, id, customer string, e *store.Entry) error {
	if strings.HasPrefix(raw, legacyEntryPrefix) {
		return unmarshal(raw, e)
	}
	var se storedEntry
	if err := json.Unmarshal([]byte(raw), &se); err != nil {
		return fmt.Errorf("store/redis: corrupt %T record: %w", e, err)
	}
	if se.Format != 1 {
		return fmt.Errorf("store/redis: entry %s of format %d (a newer hub's?)", id, se.Format)
	}
	*e = store.Entry{
		ID:             id,
		CustomerID:     customer,
		ConversationID: se.ConversationID,
		Channel:        se.Channel,
		Direction:      se.Direction,
		Kind:           store.KindMessage,
		ProviderID:     se.ProviderID,
		SenderName:     se.SenderName,
		Agent:          se.Agent,
		PostedBy:       se.PostedBy,
		Subject:        se.Subject,
		Text:           se.Text,
		HTML:           se.HTML,
		Attachments:    se.Attachments,
		Fields:         se.Fields,
		Flags:          se.Flags,
		Status:         se.Status,
		StatusDetail:   se.StatusDetail,
		Version:        se.Version,
		Purpose:        se.Purpose,
		CSAT:           se.CSAT,
		Choices:        se.Choices,
	}
	if se.ID != "" {
		e.ID = se.ID
	}
	if se.CustomerID != "" {
		e.CustomerID = se.CustomerID
	}
	if se.Kind != nil {
		e.Kind = *se.Kind
	}
	if se.Sender != nil {
		e.Sender = (*connectors.Identity)(se.Sender)
	}
	var err error
	if e.OccurredAt, err = decodeTime(se.OccurredAt, time.Time{}); err != nil {
		return err
	}
	if e.CreatedAt, err = decodeTime(se.CreatedAt, e.OccurredAt); err != nil {
		return err
	}
	if e.UpdatedAt, err = decodeTime(se.UpdatedAt, e.CreatedAt); err != nil {
		return err
	}
	return nil
}

// encodeTime is t relative to ref (the zero time: absolute): nothing when
// t is ref, an integer of nanoseconds after ref (after the Unix epoch when
// ref is zero) when both are UTC and it fits, null for a zero t, else t's
// RFC 3339 text with its offset (exactly what the old encoding kept).
//
// "UTC" is any time at offset zero (time.Now's local time on a server in
// UTC too): the old encoding wrote it with "Z" and read it back in UTC,
// as this one does. Monotonic clock readings are dropped first, as
// encoding to text drops them, so differences are of wall times.
func encodeTime(t, ref time.Time) json.RawMessage {
	t, ref = t.Round(0), ref.Round(0)
	utc := func(t time.Time) bool { _, off := t.Zone(); return off == 0 }
	switch {
	case t.IsZero() && ref.IsZero():
		return nil
	case t.IsZero():
		return json.RawMessage("null")
	case utc(t) && utc(ref) && t.Equal(ref):
		return nil
	case utc(t) && ref.IsZero():
		if n := t.UnixNano(); time.Unix(0, n).Equal(t) {
			return json.RawMessage(strconv.FormatInt(n, 10))
		}
	case utc(t) && utc(ref):
		if d := t.Sub(ref); ref.Add(d).Equal(t) { // Sub saturates far apart
			return json.RawMessage(strconv.FormatInt(int64(d), 10))
		}
	}
	b, err := t.MarshalJSON()
	if err != nil {
		panic(fmt.Sprintf("store/redis: marshal time %v: %v", t, err)) // years 0..9999: entries' times are
	}
	return b
}

// decodeTime reverses encodeTime.
func decodeTime(raw json.RawMessage, ref time.Time) (time.Time, error) {
	switch {
	case len(raw) == 0:
		return ref, nil
	case string(raw) == "null":
		return time.Time{}, nil
	case raw[0] == '"':
		var t time.Time
		if err := t.UnmarshalJSON(raw); err != nil {
			return time.Time{}, fmt.Errorf("store/redis: corrupt entry time %s: %w", raw, err)
		}
		return t, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("store/redis: corrupt entry time %s: %w", raw, err)
	}
	if ref.IsZero() {
		return time.Unix(0, n).UTC(), nil
	}
	return ref.Add(time.Duration(n)), nil
}

// encodeEntry is e as this store writes it: compact, or as hubs before
// the compact encoding wrote it when Options.LegacyRecords asks (those
// hubs read only that).
func (s *Store) encodeEntry(e store.Entry, id, customer string) string {
	if s.legacyRecords {
		e.ID, e.CustomerID = id, customer
		return marshal(e)
	}
	return encodeEntry(e, id, customer)
}
