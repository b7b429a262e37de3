package timeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// memOutbox is a Recorder that keeps one event per (type, key), as the
// webhook outbox does, and can be made to fail (a crash between the change
// and its recording, as far as the outbox is concerned).
type memOutbox struct {
	mu     sync.Mutex
	fail   bool
	events map[string]json.RawMessage // type|key → data
}

func (o *memOutbox) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return o.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

func (o *memOutbox) RecordAll(_ context.Context, hs []timeline.Hook) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return errors.New("outbox unreachable")
	}
	for _, h := range hs {
		if _, ok := o.events[h.Type+"|"+h.Key]; ok {
			continue
		}
		b, err := json.Marshal(h.Data)
		if err != nil {
			return err
		}
		o.events[h.Type+"|"+h.Key] = b
	}
	return nil
}

func (o *memOutbox) types() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for k := range o.events {
		typ, _, _ := strings.Cut(k, "|")
		out[typ]++
	}
	return out
}

// failingCAS fails UpdateConversation after its updater ran (the change
// is not made: a crash or a lost connection before the write).
type failingCAS struct {
	store.Store
	fail bool
}

func (f *failingCAS) UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	if f.fail {
		c, err := f.Store.GetConversation(ctx, id)
		if err != nil {
			return c, err
		}
		if err := fn(&c); err != nil {
			return c, err
		}
		return store.Conversation{}, errors.New("connection lost before the write")
	}
	return f.Store.UpdateConversation(ctx, id, fn)
}

// TestAgentEventsDurableWithTheChange: an agent's change and its webhook
// events are one compare-and-swap. When recording in the outbox fails after
// the change (a crash in between), the events are still in the record and
// the sweeper (or the next change) records them, once; a change that did
// not happen leaves no event to deliver.
func TestAgentEventsDurableWithTheChange(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := open(t, st)
		ob := &memOutbox{events: map[string]json.RawMessage{}}
		fs := &failingCAS{Store: st}
		svc := timeline.NewService(fs, timeline.Options{Webhooks: ob})
		since := time.Now().Add(-time.Minute)

		// The outbox is down: the change is made, its event is not lost.
		ob.fail = true
		if _, err := svc.Assign(ctx, c.ID, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		ob.fail = false
		if n := len(ob.types()); n != 0 {
			t.Fatalf("events recorded with the outbox down: %v", ob.types())
		}
		got, err := st.GetConversation(ctx, c.ID)
		if err != nil || len(got.PendingEvents) != 1 || got.PendingEvents[0].Type != "conversation.assigned" {
			t.Fatalf("conversation after the change: %+v, %v; want its conversation.assigned pending", got.PendingEvents, err)
		}
		if n, err := svc.SweepPendingEvents(ctx, since); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if ty := ob.types(); ty["conversation.assigned"] != 1 || len(ty) != 1 {
			t.Fatalf("after the sweep: %v, want one conversation.assigned", ty)
		}
		// Sweeping again records nothing new.
		if _, err := svc.SweepPendingEvents(ctx, since); err != nil {
			t.Fatal(err)
		}
		if ty := ob.types(); ty["conversation.assigned"] != 1 || len(ty) != 1 {
			t.Fatalf("after a second sweep: %v", ty)
		}

		// The write fails after the updater ran: no change, no event, even
		// after a sweep.
		fs.fail = true
		if _, err := svc.Resolve(ctx, c.ID, "bob"); err == nil {
			t.Fatal("resolve with the write failing: no error")
		}
		fs.fail = false
		if _, err := svc.SweepPendingEvents(ctx, since); err != nil {
			t.Fatal(err)
		}
		if ty := ob.types(); ty["conversation.resolved"] != 0 {
			t.Fatalf("an event of a change that did not happen: %v", ty)
		}

		// Outbox down again for a resolve; the next change records both.
		ob.fail = true
		if _, err := svc.Resolve(ctx, c.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		ob.fail = false
		if _, err := svc.Reopen(ctx, c.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		if ty := ob.types(); ty["conversation.resolved"] != 1 || ty["conversation.reopened"] != 1 || ty["conversation.assigned"] != 1 {
			t.Fatalf("after resolve (outbox down) and reopen: %v, want one of each", ty)
		}
	})
}
