package store

import "encoding/json"

// PendingEvent is an outgoing webhook event written into the record it
// reports, in the same compare-and-swap as the change (a conversation's
// PendingEvents): a crash between the change and the outbox loses nothing,
// since whoever reads the record next (the next change, or the sweeper that
// looks at recently changed records) records it again, and the outbox keeps
// one event per key. An event of a change that did not happen is never in
// a committed record, so it is never delivered.
type PendingEvent struct {
	Type       string          `json:"type"`
	Key        string          `json:"key"`
	CustomerID string          `json:"customer_id"`
	Data       json.RawMessage `json:"data"`
}
