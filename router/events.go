package router

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// The realtime event vocabulary lives in timeline, which announces entries
// and conversations; these names keep the router's callers (the channel
// directory, outbound, the inbox's presence and sessions) as they were.

// EventsTopic is the realtime topic every change is published on.
const EventsTopic = timeline.EventsTopic

// Event types.
const (
	EventEntryCreated        = timeline.EventEntryCreated
	EventEntryUpdated        = timeline.EventEntryUpdated
	EventConversationOpened  = timeline.EventConversationOpened
	EventConversationUpdated = timeline.EventConversationUpdated
	EventChannelPhase        = timeline.EventChannelPhase
	EventPresence            = timeline.EventPresence
)

// Event is one realtime notification (timeline.Event).
type Event = timeline.Event

// Publish sends ev to every replica's subscribers.
func Publish(ctx context.Context, ev store.Events, e Event) error {
	return timeline.Publish(ctx, ev, e)
}
