package timeline

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
)

// OnResolved installs f, called after each change that resolves a
// conversation (package csat schedules its survey there). f runs on the
// caller's goroutine after the change stands; it must be quick and must not
// fail the change. Call it before the service is used.
func (s *Service) OnResolved(f func(ctx context.Context, c store.Conversation)) { s.resolved = f }
