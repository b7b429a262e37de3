package timeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// countingIndexer records what the service hands its search index (the
// timeline.Indexer seam; the real indexes have their own suites in
// search/).
type countingIndexer struct {
	mu      sync.Mutex
	indexed map[string]int
}

func (x *countingIndexer) IndexEntry(_ context.Context, e store.Entry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.indexed[e.ID]++
	return nil
}

func (x *countingIndexer) UnindexConversation(context.Context, store.Conversation) error { return nil }

func (x *countingIndexer) n(id string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.indexed[id]
}

// An entry a router worker's first attempt stored (an automation's note)
// is indexed again when the redelivered message's work meets it stored:
// that attempt may have died before its index write. Outside a worker
// (no DeferIndexing) a repeated Append indexes nothing.
func TestAppendReindexesOnRedelivery(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		ix := &countingIndexer{indexed: map[string]int{}}
		svc := timeline.NewService(st, timeline.Options{Index: ix})
		at := time.Now().UTC().Truncate(time.Second)
		c, _, err := st.OpenConversation(ctx, store.Conversation{ID: "cv1", CustomerID: "c1", Channel: "api", ThreadKey: "api|",
			Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
		if err != nil {
			t.Fatal(err)
		}
		note := store.Entry{ID: "note-1", CustomerID: "c1", Channel: "api", Direction: connectors.Outbound, Kind: store.KindNote,
			Text: "call back tomorrow", OccurredAt: at, CreatedAt: at}
		if _, created, err := svc.Append(ctx, note, c); err != nil || !created {
			t.Fatalf("append: created %v, %v", created, err)
		}
		if _, created, err := svc.Append(ctx, note, c); err != nil || created || ix.n("note-1") != 1 {
			t.Fatalf("append again: created %v, indexed %d times, %v; want once", created, ix.n("note-1"), err)
		}
		wctx, waits := timeline.DeferIndexing(ctx)
		if _, created, err := svc.Append(wctx, note, c); err != nil || created {
			t.Fatalf("redelivered append: created %v, %v", created, err)
		}
		if err := waits.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if n := ix.n("note-1"); n != 2 {
			t.Fatalf("indexed %d times after the redelivery, want 2 (indexed again)", n)
		}
	})
}
