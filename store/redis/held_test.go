package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
)

// heldIDs is the items the Store holds for queue (handed out, not seen
// acked or retried).
func heldIDs(s *Store, queue string) map[string]time.Time {
	rs := s.reclaimFor(queue)
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	out := map[string]time.Time{}
	for id, at := range rs.held {
		out[id] = at
	}
	return out
}

// An ingest item whose confirmed Ack fails (store.ErrNotReplicated: no
// replica confirmed, and the router does not ack again on purpose) is held
// only until ClaimAfter has passed since it was handed out, when the
// reclaim may hand it out again anyway; it does not stay held for the
// life of the process (under min_replicas_ack with lagging replicas that
// would be every ingest item, and each orphan look would ask XPENDING for
// more). The test Redis has no replica, so every confirmed Ack fails.
func TestHeldItemsAreForgottenAfterClaimAfter(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ctx := context.Background()
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 5 * time.Second, RetryBackoff: 10 * time.Millisecond}
	plain := New(c, Options{Prefix: prefix, Queue: q})
	t.Cleanup(func() { plain.Close() })
	s := New(c, Options{Prefix: prefix, Queue: q, MinReplicasAck: 1, MinReplicasTimeout: 10 * time.Millisecond})
	t.Cleanup(func() { s.Close() })
	const consumer = "host-1"
	for range 3 {
		if _, err := plain.Enqueue(ctx, store.QueueIngest, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Read(ctx, store.QueueIngest, consumer, 3, 0)
	if err != nil || len(ds) != 3 {
		t.Fatalf("setup: Read = %d items, %v; want 3", len(ds), err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if err := s.Ack(ctx, store.QueueIngest, ids...); !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("setup: Ack = %v, want ErrNotReplicated (the test Redis has no replica)", err)
	}
	if h := heldIDs(s, store.QueueIngest); len(h) != 3 {
		t.Fatalf("setup: %d items held after the failed Ack, want 3 (not orphans before ClaimAfter)", len(h))
	}

	// ClaimAfter passes (the hand-out times moved back by it, rather than
	// waiting a minute), and the next orphan look comes.
	rs := s.reclaimFor(store.QueueIngest)
	rs.heldMu.Lock()
	for id := range rs.held {
		rs.held[id] = rs.held[id].Add(-q.ClaimAfter - time.Second)
	}
	rs.heldMu.Unlock()
	rs.mu.Lock()
	delete(rs.ownChecked, consumer)
	rs.mu.Unlock()
	if got, err := s.Read(ctx, store.QueueIngest, consumer, 3, 0); err != nil || len(got) != 0 {
		t.Fatalf("Read = %v, %v; want nothing (the items are idle for less than Heartbeat)", got, err)
	}
	if h := heldIDs(s, store.QueueIngest); len(h) != 0 {
		t.Errorf("%d items still held ClaimAfter after they were handed out, want none", len(h))
	}
}

// The orphan look's XPENDING asks for a bounded number of entries however
// many items are held.
func TestOrphanScanIsBounded(t *testing.T) {
	if n := orphanScan(1_000_000, 4); n > maxOrphanScan+4 {
		t.Errorf("orphanScan(1e6 held, 4) = %d, want at most %d", n, maxOrphanScan+4)
	}
	if n := orphanScan(3, 4); n != 7 {
		t.Errorf("orphanScan(3 held, 4) = %d, want 7 (all held ones seen past)", n)
	}
}
