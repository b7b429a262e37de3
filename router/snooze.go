package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// WakeSnoozed reopens every snoozed conversation whose snooze time has
// passed, as an agent would expect ("snooze until Monday 9:00" means it is
// back in the inbox on Monday at 9:00, not only when the customer writes).
// It is safe on every replica at once: each change is a compare-and-swap
// that only applies to a conversation still snoozed and due, so exactly one
// caller reopens it and publishes the update. It returns how many it
// reopened.
func WakeSnoozed(ctx context.Context, st store.Store, clock store.Clock) (int, error) {
	now := clock().UTC()
	woken := 0
	cursor := ""
	for {
		page, next, err := st.ListConversations(ctx, store.ConversationFilter{Status: store.StatusSnoozed, Before: cursor, Limit: 200})
		if err != nil {
			return woken, err
		}
		for _, c := range page {
			if c.SnoozedUntil.After(now) {
				continue
			}
			var before store.Conversation
			changed := false
			after, err := st.UpdateConversation(ctx, c.ID, func(x *store.Conversation) error {
				before, changed = *x, false
				if x.Status != store.StatusSnoozed || x.SnoozedUntil.After(now) {
					return nil // reopened, resnoozed or resolved meanwhile
				}
				x.Status, x.SnoozedUntil, changed = store.StatusOpen, time.Time{}, true
				return nil
			})
			if err != nil {
				return woken, err
			}
			if !changed {
				continue
			}
			woken++
			AdjustLoad(ctx, st, before, after)
			_ = Publish(ctx, st, Event{Type: EventConversationUpdated, CustomerID: after.CustomerID, ConversationID: after.ID,
				Channel: after.Channel, Status: after.Status, Audience: after.Audience, Assignee: after.Assignee, Detail: "snooze ended"})
		}
		if next == "" || len(page) == 0 {
			return woken, nil
		}
		cursor = next
	}
}

// RunSnoozeWaker calls WakeSnoozed every interval until ctx ends.
func RunSnoozeWaker(ctx context.Context, st store.Store, clock store.Clock, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := WakeSnoozed(ctx, st, clock); err != nil && ctx.Err() == nil {
			log.Warn("waking snoozed conversations failed", "err", err)
		} else if n > 0 {
			log.Info("snoozed conversations are back in the inbox", "count", n)
		}
	}
}
