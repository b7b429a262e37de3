package timeline

import (
	"context"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// OnResolved installs f, called after each change that resolves a
// conversation (package csat schedules its survey there). f runs on the
// caller's goroutine after the change stands; it must be quick and must not
// fail the change. Call it before the service is used.
func (s *Service) OnResolved(f func(ctx context.Context, c store.Conversation)) { s.resolved = f }

// OnResolving installs f, called before the compare-and-swap of a change
// that resolves a conversation, with the conversation as it will be once
// resolved (its ResolvedAt is the one the change stores): package csat
// writes its survey timer there, so a crash right after the resolution
// cannot lose the survey (a timer whose resolution did not happen finds
// the conversation unresolved when due and is dropped). An error fails
// the change before anything changed. Call it before the service is used.
func (s *Service) OnResolving(f func(ctx context.Context, c store.Conversation) error) {
	s.resolving = f
}

// beforeResolve runs the OnResolving hook for change ch of cur at now; it
// reports whether it ran.
func (s *Service) beforeResolve(ctx context.Context, cur store.Conversation, ch Change, now time.Time) (bool, error) {
	if s.resolving == nil || ch.Status == nil || *ch.Status != store.StatusResolved || cur.Status == store.StatusResolved {
		return false, nil
	}
	pre := cur
	pre.Status, pre.ResolvedAt, pre.SnoozedUntil = store.StatusResolved, now, time.Time{}
	if ch.Assignee != nil {
		pre.Assignee = *ch.Assignee
	}
	if ch.Team != nil {
		pre.Team = *ch.Team
	}
	pre.PendingEvents = nil
	return true, s.resolving(ctx, pre)
}

// afterResolve covers the races of beforeResolve: the conversation was
// resolved by another change meanwhile (schedule that resolution again: the
// hook replaced its schedule), or this change resolved a conversation read
// as resolved (reopened meanwhile: not scheduled before).
func (s *Service) afterResolve(ctx context.Context, ran bool, before, c store.Conversation) {
	if s.resolving == nil || c.Status != store.StatusResolved {
		return
	}
	resolvedHere := before.Status != store.StatusResolved
	if ran == resolvedHere {
		return
	}
	if err := s.resolving(ctx, c); err != nil {
		s.log.Error("conversation resolved, its resolution hook failed", "conversation", c.ID, "err", err)
	}
}
