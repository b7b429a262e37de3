package timeline

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// ChangeAutomation runs automation rules on agents' changes (issue 24:
// conversation.resolved, label.added; package automation implements it).
// The rules' own changes are made in the change's compare-and-swap, after
// its events were read from what the agent changed, so no rule raises an
// event (no loops).
type ChangeAutomation interface {
	// PrepareChange returns, for a change by by of conversation cur, the
	// function that runs the rules inside the compare-and-swap (called
	// again when the swap retries: it must depend only on its arguments)
	// and the function that makes their records and effects once the
	// change stands. nil, nil when no rule applies; an error leaves the
	// change without rules (logged).
	PrepareChange(ctx context.Context, cur store.Conversation, by string) (apply func(before store.Conversation, x *store.Conversation, now time.Time), after func(context.Context, store.Conversation), err error)
	// Sweep makes again the records and effects of the runs kept on c
	// (ids derived from each run: what a crash left undone is done once).
	// SweepPendingEvents calls it for every conversation it looks at.
	Sweep(ctx context.Context, c store.Conversation)
}

// OnChange installs a, which runs automation rules on agents' changes.
// Call it before the service is used.
func (s *Service) OnChange(a ChangeAutomation) { s.automation = a }

func (s *Service) prepareAutomation(ctx context.Context, cur store.Conversation, by string) (func(store.Conversation, *store.Conversation, time.Time), func(context.Context, store.Conversation)) {
	noop := func(store.Conversation, *store.Conversation, time.Time) {}
	noAfter := func(context.Context, store.Conversation) {}
	if s.automation == nil {
		return noop, noAfter
	}
	apply, after, err := s.automation.PrepareChange(ctx, cur, by)
	if err != nil {
		s.log.Error("automation rules not run on a change", "conversation", cur.ID, "err", err)
		return noop, noAfter
	}
	if apply == nil {
		return noop, noAfter
	}
	safe := func(before store.Conversation, x *store.Conversation, now time.Time) {
		// A rule that panics changes nothing and never fails the change.
		snapshot := *x
		defer func() {
			if p := recover(); p != nil {
				*x = snapshot
				s.log.Error("automation rule failed", "conversation", cur.ID, "err", fmt.Sprint(p))
			}
		}()
		apply(before, x, now)
	}
	if after == nil {
		after = noAfter
	}
	return safe, after
}
