package search

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
)

// Indexer adapts an Index to what the timeline service and retention
// call as entries are written and removed (timeline.Indexer,
// retention.Options.Index), so neither imports this package.
type Indexer struct{ Index Index }

// IndexEntry indexes e (a message, a reply, a note). An entry without
// words is skipped, and so is one outside any conversation (a timeline
// event such as an identity change): search opens conversations, and
// erasure removes the index's documents conversation by conversation.
func (i Indexer) IndexEntry(ctx context.Context, e store.Entry) error {
	if !indexable(e) {
		return nil
	}
	return i.Index.Put(ctx, DocOf(e))
}

// IndexEntryLater is IndexEntry without waiting where the index can
// (Later): wait returns once e is written (nil wait: nothing to wait for).
// The caller waits before it counts e as indexed (the router, before it
// acknowledges the message; timeline.DeferIndexing).
func (i Indexer) IndexEntryLater(ctx context.Context, e store.Entry) (wait func(context.Context) error, err error) {
	if !indexable(e) {
		return nil, nil
	}
	if l, ok := i.Index.(Later); ok {
		return l.PutLater(DocOf(e))
	}
	return nil, i.Index.Put(ctx, DocOf(e))
}

// indexable: e has words and a conversation (IndexEntry says why).
func indexable(e store.Entry) bool {
	return e.ConversationID != "" && (e.Text != "" || e.Subject != "" || e.SenderName != "" || e.Sender != nil)
}

// UnindexConversation removes conversation c's entries (erasure,
// retention of a whole conversation).
func (i Indexer) UnindexConversation(ctx context.Context, c store.Conversation) error {
	return i.Index.RemoveConversation(ctx, c.CustomerID, c.ID)
}

// UnindexEntry removes one entry (retention).
func (i Indexer) UnindexEntry(ctx context.Context, e store.Entry) error {
	return i.Index.Remove(ctx, e.CustomerID, e.ID)
}
