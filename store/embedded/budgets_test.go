package embedded

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// TestBudgetsAreSwept: budget records whose window passed are removed by
// later TakeBudget calls on other keys, so the bucket holds about the
// keys used within one window, not every key ever used.
func TestBudgetsAreSwept(t *testing.T) {
	clock := store.NewFakeClock(time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC))
	s, err := Open(t.TempDir(), Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	count := func() int {
		n := 0
		_ = s.view(ctx, func(tx *bolt.Tx) error { n = tx.Bucket(bBudgets).Stats().KeyN; return nil })
		return n
	}
	for i := range 100 {
		if ok, err := s.TakeBudget(ctx, fmt.Sprintf("old-%03d", i), "o_1", 1, 24*time.Hour); err != nil || !ok {
			t.Fatalf("take old-%d: %v %v", i, ok, err)
		}
	}
	if n := count(); n != 100 {
		t.Fatalf("%d records, want 100", n)
	}
	clock.Advance(24 * time.Hour)
	for i := range 100 {
		if ok, err := s.TakeBudget(ctx, fmt.Sprintf("new-%03d", i), "o_1", 1, 24*time.Hour); err != nil || !ok {
			t.Fatalf("take new-%d: %v %v", i, ok, err)
		}
	}
	if n := count(); n != 100 {
		t.Fatalf("%d records after a window and 100 new keys, want the 100 new ones (the old ones swept)", n)
	}
}
