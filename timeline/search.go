package timeline

import (
	"context"
	"sync"

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

// LaterIndexer is an Indexer that can queue an entry and return before it
// is written (search.Indexer on a Redis index: a group commit waiting a
// few milliseconds for more documents); wait returns once it is (nil:
// nothing to wait for).
type LaterIndexer interface {
	IndexEntryLater(ctx context.Context, e store.Entry) (wait func(context.Context) error, err error)
}

// IndexWaits collects the index writes a caller of DeferIndexing waits
// for.
type IndexWaits struct {
	mu    sync.Mutex
	waits []func(context.Context) error
}

type indexWaitsKey struct{}

// DeferIndexing returns a context under which the service queues the
// entries it indexes (where the index is a LaterIndexer) instead of
// waiting for each write, and what to wait for before the work counts as
// done. The router's ingest workers use it: a worker takes the next
// message while its entry waits for the index's next group commit, and
// acknowledges the message only after Wait, so a crash before the write
// leaves the message to be redelivered (and the redelivery indexes the
// stored entry: Reindex).
func DeferIndexing(ctx context.Context) (context.Context, *IndexWaits) {
	w := &IndexWaits{}
	return context.WithValue(ctx, indexWaitsKey{}, w), w
}

// Wait returns once every queued entry is written or has failed (a
// failure is logged, as a synchronous one is); an error only if ctx ended
// first (the work must not count as done).
func (w *IndexWaits) Wait(ctx context.Context) error {
	w.mu.Lock()
	waits := w.waits
	w.waits = nil
	w.mu.Unlock()
	for _, f := range waits {
		if err := f(ctx); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func (s *Service) index(ctx context.Context, e store.Entry) {
	if s.idx == nil {
		return
	}
	if w, ok := ctx.Value(indexWaitsKey{}).(*IndexWaits); ok {
		if l, ok := s.idx.(LaterIndexer); ok {
			wait, err := l.IndexEntryLater(ctx, e)
			if err != nil {
				s.log.Warn("entry not indexed for search", "entry", e.ID, "err", err)
			}
			if wait != nil {
				w.mu.Lock()
				w.waits = append(w.waits, func(ctx context.Context) error {
					err := wait(ctx)
					if err != nil && ctx.Err() == nil {
						s.log.Warn("entry not indexed for search", "entry", e.ID, "err", err)
					}
					return err
				})
				w.mu.Unlock()
			}
			return
		}
	}
	if err := s.idx.IndexEntry(ctx, e); err != nil {
		s.log.Warn("entry not indexed for search", "entry", e.ID, "err", err)
	}
}

// Reindex indexes an entry already stored (idempotent: an entry indexed
// as it is costs the index a read). The router calls it for a redelivered
// message it finds stored: the process that stored it may have died
// before the index write.
func (s *Service) Reindex(ctx context.Context, e store.Entry) { s.index(ctx, e) }
