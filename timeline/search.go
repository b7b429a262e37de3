package timeline

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
)

// Indexer keeps the search index as the service writes and deletes
// (search.Indexer). Indexing follows the store write: a failure is logged
// and the message stands (the search misses it; the agent still sees it
// in the inbox), since refusing a stored message would only make the
// router redeliver a duplicate.
type Indexer interface {
	IndexEntry(ctx context.Context, e store.Entry) error
	UnindexConversation(ctx context.Context, c store.Conversation) error
}

func (s *Service) index(ctx context.Context, e store.Entry) {
	if s.idx == nil {
		return
	}
	if err := s.idx.IndexEntry(ctx, e); err != nil {
		s.log.Warn("entry not indexed for search", "entry", e.ID, "err", err)
	}
}
