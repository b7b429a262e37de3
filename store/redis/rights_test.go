package redis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
)

// Entries written before blob references existed get them from
// BackfillBlobRefs, once.
func TestBackfillBlobRefs(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	sum := strings.Repeat("ab", 32)
	for _, c := range []string{"c1", "c2"} {
		if err := f.s.CreateCustomer(ctx, store.Customer{ID: c}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.AppendEntry(ctx, store.Entry{ID: "e-" + c, CustomerID: c, OccurredAt: f.clock.Now(),
			Attachments: []connectors.Attachment{{Name: "f", SHA256: sum}}}); err != nil {
			t.Fatal(err)
		}
	}
	// An old store: the references are not there.
	if err := f.c.Del(ctx, f.prefix+":{b:"+sum+"}:refs").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.s.BlobRefCount(ctx, sum); n != 0 {
		t.Fatalf("references after deleting them: %d", n)
	}
	if n, err := f.s.BackfillBlobRefs(ctx); err != nil || n != 2 {
		t.Fatalf("backfill recorded %d (%v), want 2", n, err)
	}
	if n, _ := f.s.BlobRefCount(ctx, sum); n != 2 {
		t.Fatalf("references after the backfill: %d, want 2", n)
	}
	if n, err := f.s.BackfillBlobRefs(ctx); err != nil || n != 0 {
		t.Fatalf("second backfill recorded %d (%v), want 0 (done once)", n, err)
	}
}
