package router_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestSnoozedConversationWakesUp: a conversation snoozed until a time is
// back in the inbox (open) once that time passes, and not before; a second
// waker running at the same time (another replica) reopens nothing twice.
func TestSnoozedConversationWakesUp(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		h := newHub(t, st)
		m := h.process(t, h.msg("trusted-api", "", "call me monday", "email:ann@example.com"))
		e, err := st.GetEntry(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		snooze := func(id string, until time.Time) {
			if _, err := st.UpdateConversation(ctx, id, func(x *store.Conversation) error {
				x.Status, x.SnoozedUntil = store.StatusSnoozed, until
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		snooze(e.ConversationID, base.Add(time.Hour))
		other := h.process(t, h.msg("trusted-api", "", "later please", "email:bo@example.com"))
		oe, _ := st.GetEntry(ctx, other.ID)
		snooze(oe.ConversationID, base.Add(48*time.Hour))

		// Two replicas: each has its own conversation service.
		replicas := []*timeline.Service{h.rt.Conversations(), timeline.NewService(st, timeline.Options{})}
		if n, err := replicas[0].WakeSnoozed(ctx, base.Add(59*time.Minute)); err != nil || n != 0 {
			t.Fatalf("before the snooze ends: woke %d, err %v", n, err)
		}
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i := range counts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := replicas[i].WakeSnoozed(ctx, base.Add(time.Hour))
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != 1 {
			t.Fatalf("two wakers reopened %v conversations, want 1 in all", counts)
		}
		c, _ := st.GetConversation(ctx, e.ConversationID)
		if c.Status != store.StatusOpen || !c.SnoozedUntil.IsZero() {
			t.Fatalf("after the snooze: status %s until %v", c.Status, c.SnoozedUntil)
		}
		if c, _ := st.GetConversation(ctx, oe.ConversationID); c.Status != store.StatusSnoozed {
			t.Fatalf("the conversation snoozed for two days is %s", c.Status)
		}
	})
}
