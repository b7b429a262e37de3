package timeline

import (
	"context"

	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

// CustomerEvent puts an event entry (no conversation) on customerID's
// timeline, by agent, saying text, and announces it: a change of the
// customer itself, such as an agent's identity correction (issue 22).
func (s *Service) CustomerEvent(ctx context.Context, customerID, agent, text string) (store.Entry, error) {
	now := s.clock().UTC()
	e := store.Entry{ID: ids.Random("ev_", now), CustomerID: customerID, Kind: store.KindEvent, Agent: agent,
		Text: text, OccurredAt: now, CreatedAt: now, UpdatedAt: now}
	e, _, err := s.st.AppendEntry(ctx, e)
	if err != nil {
		return e, err
	}
	s.publish(ctx, Event{Type: EventEntryCreated, CustomerID: customerID, EntryID: e.ID, Agent: agent})
	return e, nil
}
