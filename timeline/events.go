package timeline

import (
	"context"

	json "github.com/goccy/go-json"

	"github.com/switchboard-hub/switchboard/store"
)

// EventsTopic is the realtime topic every change is published on.
const EventsTopic = "events"

// Event types. Entries and conversations are announced by this package;
// channel phases, presence and sign-outs ride the same topic and type, so
// every subscriber reads one stream.
const (
	EventEntryCreated        = "entry.created"
	EventEntryUpdated        = "entry.updated"
	EventConversationOpened  = "conversation.opened"
	EventConversationUpdated = "conversation.updated"
	EventChannelPhase        = "channel.phase"
	EventPresence            = "presence"
)

// Event is one realtime notification. Audience and Assignee let each
// subscriber filter what its agent may see without another lookup.
type Event struct {
	Type           string `json:"type"`
	CustomerID     string `json:"customer_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	EntryID        string `json:"entry_id,omitempty"`
	Channel        string `json:"channel,omitempty"`
	Status         string `json:"status,omitempty"`
	Audience       string `json:"audience,omitempty"`
	Assignee       string `json:"assignee,omitempty"`
	Agent          string `json:"agent,omitempty"`
	Detail         string `json:"detail,omitempty"`
	// Priority is a conversation's priority (conversation.* events).
	Priority string `json:"priority,omitempty"`
}

// eventPayload is e as Publish sends it.
func eventPayload(e Event) []byte {
	b, _ := json.Marshal(e) // an Event always encodes
	return b
}

// Publish sends ev to every replica's subscribers.
func Publish(ctx context.Context, ev store.Events, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return ev.Publish(ctx, EventsTopic, b)
}
