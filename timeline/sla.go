package timeline

import (
	"context"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// Tracker keeps a conversation's service level (store.Conversation.SLA)
// and its service figures (issue 17; package sla implements it). The
// Service calls Apply inside the compare-and-swap of every change it makes
// to a conversation, after its own changes, so the SLA moves in the same
// atomic step as what moved it; Apply must be a pure function of its
// arguments (it may run more than once). Changed follows once the change
// is stored, to count it (best effort: it logs its own failures).
type Tracker interface {
	Apply(before store.Conversation, c *store.Conversation, at time.Time)
	Changed(ctx context.Context, before, after store.Conversation, at time.Time, agent string)
}

func (s *Service) trackApply(before store.Conversation, c *store.Conversation, at time.Time) {
	if s.track != nil {
		s.track.Apply(before, c, at)
	}
}

func (s *Service) trackChanged(ctx context.Context, before, after store.Conversation, at time.Time, agent string) {
	if s.track != nil {
		s.track.Changed(ctx, before, after, at, agent)
	}
}
