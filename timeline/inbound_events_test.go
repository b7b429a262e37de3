package timeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestReceiveAnnouncesOpenedThenCreated: a conversation's first message
// announces conversation.opened then entry.created, a later one only
// entry.created, each with the conversation as the message left it (its
// assignee, its audience) — the same events whether the hub publishes
// them (embedded store) or the store publishes them in the append's own
// step (standalone Redis).
func TestReceiveAnnouncesOpenedThenCreated(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		events, err := st.Subscribe(ctx, timeline.EventsTopic)
		if err != nil {
			t.Fatal(err)
		}
		svc := timeline.NewService(st, timeline.Options{})
		at := time.Now().UTC().Truncate(time.Second)
		msg := func(id string, at time.Time) timeline.Inbound {
			return timeline.Inbound{ThreadKey: "email|t1", ConversationID: "cv1", Entry: store.Entry{ID: id, CustomerID: "c1",
				Channel: "email", Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hello " + id, OccurredAt: at, CreatedAt: at}}
		}
		if _, _, created, err := svc.Receive(ctx, msg("m1", at)); err != nil || !created {
			t.Fatalf("receive m1: created %v, %v", created, err)
		}
		if _, err := svc.Assign(ctx, "cv1", "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, _, created, err := svc.Receive(ctx, msg("m2", at.Add(time.Minute))); err != nil || !created {
			t.Fatalf("receive m2: created %v, %v", created, err)
		}
		// A redelivery announces nothing.
		if _, _, created, err := svc.Receive(ctx, msg("m2", at.Add(time.Minute))); err != nil || created {
			t.Fatalf("receive m2 again: created %v, %v", created, err)
		}
		if err := timeline.Publish(ctx, st, timeline.Event{Type: "marker"}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for done := false; !done; {
			select {
			case b := <-events:
				var ev timeline.Event
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatalf("event %s: %v", b, err)
				}
				switch ev.Type {
				case "marker":
					done = true
				case timeline.EventConversationOpened, timeline.EventEntryCreated:
					got = append(got, fmt.Sprintf("%+v", ev))
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no marker; events so far %q", got)
			}
		}
		want := []string{
			fmt.Sprintf("%+v", timeline.Event{Type: timeline.EventConversationOpened, CustomerID: "c1", ConversationID: "cv1", Channel: "email"}),
			fmt.Sprintf("%+v", timeline.Event{Type: timeline.EventEntryCreated, CustomerID: "c1", ConversationID: "cv1", EntryID: "m1", Channel: "email"}),
			fmt.Sprintf("%+v", timeline.Event{Type: timeline.EventEntryCreated, CustomerID: "c1", ConversationID: "cv1", EntryID: "m2", Channel: "email", Assignee: "alice"}),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events:\n got %q\nwant %q", got, want)
		}
	})
}
