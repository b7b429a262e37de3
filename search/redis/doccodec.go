package redis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/internal/jsonstr"
	"github.com/switchboard-hub/switchboard/search"
)

// A document's stored form (d:ID) is a compact JSON object (issue 23:
// Redis memory per message; the document is a copy of its entry's
// searchable part, about 330 bytes as json.Marshal of search.Doc): short
// names, empty fields left out, the id left out (it is the key's), the
// time in Unix nanoseconds (its RFC 3339 text when not at offset zero or
// out of range, as before), each identity as [type, value] or [type,
// value, 1] when verified. It starts with its format, {"id":1, where
// documents an older version wrote (json.Marshal of search.Doc) start with
// the id's string, {"id":": those still read as before. The number under
// "id" makes an older hub's json.Unmarshal fail on a compact document
// during a rolling upgrade (its query or removal answers an error) rather
// than read a document without id or terms, whose removal would leave
// its postings behind; a format this version does not know is refused.
// No script reads a document's fields: they compare and store the text.

// legacyDocPrefix starts every document an older version stored;
// compactDocPrefix every document this version stores (format 1).
const (
	legacyDocPrefix  = `{"id":"`
	compactDocPrefix = `{"id":1,`
)

type storedDoc struct {
	Format         int               `json:"id"`
	ID             string            `json:"x,omitempty"` // only when it is not the key's (never written so)
	CustomerID     string            `json:"c,omitempty"`
	ConversationID string            `json:"v,omitempty"`
	Channel        string            `json:"ch,omitempty"`
	Kind           string            `json:"k,omitempty"`
	Direction      string            `json:"d,omitempty"`
	At             json.RawMessage   `json:"a,omitempty"`
	Subject        string            `json:"s,omitempty"`
	Text           string            `json:"t,omitempty"`
	Name           string            `json:"n,omitempty"`
	Identities     []json.RawMessage `json:"i,omitempty"`
}

// encodeDoc is d's stored form under key d:id: storedDoc's JSON, written
// by hand (every indexed message's document is encoded once; reflection
// cost twice json.Marshal's time). decodeDoc reads it with encoding/json.
func encodeDoc(d search.Doc, id string) (string, error) {
	b := make([]byte, 0, 128+len(d.Text)+len(d.Subject)+len(d.Name))
	b = append(b, compactDocPrefix[:len(compactDocPrefix)-1]...) // {"id":1
	str := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = jsonstr.Append(b, v)
		}
	}
	if d.ID != id {
		str("x", d.ID)
	}
	str("c", d.CustomerID)
	str("v", d.ConversationID)
	str("ch", d.Channel)
	str("k", d.Kind)
	str("d", d.Direction)
	if !d.At.IsZero() {
		b = append(b, `,"a":`...)
		t := d.At.Round(0)
		_, off := t.Zone()
		if n := t.UnixNano(); off == 0 && time.Unix(0, n).Equal(t) {
			b = strconv.AppendInt(b, n, 10)
		} else {
			j, err := t.MarshalJSON()
			if err != nil {
				return "", err
			}
			b = append(b, j...)
		}
	}
	str("s", d.Subject)
	str("t", d.Text)
	str("n", d.Name)
	if len(d.Identities) > 0 {
		b = append(b, `,"i":[`...)
		for k, i := range d.Identities {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = jsonstr.Append(b, i.Type)
			b = append(b, ',')
			b = jsonstr.Append(b, i.Value)
			if i.Verified {
				b = append(b, ",1"...)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return string(b), nil
}

// decodeDoc reads a document stored under key d:id, in either form.
func decodeDoc(raw, id string) (search.Doc, error) {
	var d search.Doc
	if strings.HasPrefix(raw, legacyDocPrefix) {
		err := json.Unmarshal([]byte(raw), &d)
		return d, err
	}
	var sd storedDoc
	if err := json.Unmarshal([]byte(raw), &sd); err != nil {
		return d, err
	}
	if sd.Format != 1 {
		return d, fmt.Errorf("search index: document %s of format %d (a newer hub's?)", id, sd.Format)
	}
	d = search.Doc{ID: id, CustomerID: sd.CustomerID, ConversationID: sd.ConversationID, Channel: sd.Channel, Kind: sd.Kind,
		Direction: sd.Direction, Subject: sd.Subject, Text: sd.Text, Name: sd.Name}
	if sd.ID != "" {
		d.ID = sd.ID
	}
	switch {
	case len(sd.At) == 0:
		d.At = time.Time{} // the legacy form wrote "0001-01-01T00:00:00Z", which reads as this
	case sd.At[0] == '"':
		if err := d.At.UnmarshalJSON(sd.At); err != nil {
			return d, err
		}
	default:
		n, err := strconv.ParseInt(string(sd.At), 10, 64)
		if err != nil {
			return d, fmt.Errorf("search index: document time %s: %w", sd.At, err)
		}
		d.At = time.Unix(0, n).UTC()
	}
	if len(sd.Identities) > 0 {
		d.Identities = slices.Grow(d.Identities, len(sd.Identities))[:len(sd.Identities)]
		for i, a := range sd.Identities {
			var f []json.RawMessage
			if err := json.Unmarshal(a, &f); err != nil || len(f) < 2 || len(f) > 3 {
				return d, fmt.Errorf("search index: document identity %s: %v", a, err)
			}
			if err := json.Unmarshal(f[0], &d.Identities[i].Type); err != nil {
				return d, err
			}
			if err := json.Unmarshal(f[1], &d.Identities[i].Value); err != nil {
				return d, err
			}
			d.Identities[i].Verified = len(f) == 3 && string(f[2]) == "1"
		}
	}
	return d, nil
}
