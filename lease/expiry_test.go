package lease_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/store"
)

// stuck renewals never return until the test lets them (a store call hung
// on a dead connection during a failover, whatever its context says).
type stuck struct {
	store.Leases
	hang    chan struct{} // closed: renewals go through again
	started chan struct{}
}

func (s *stuck) RenewLease(ctx context.Context, name, holder string, token int64, ttl time.Duration) (store.Lease, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-s.hang
	return s.Leases.RenewLease(ctx, name, holder, token, ttl)
}

// A holder whose renewal is stuck still counts its lease lost by its
// deadline (less a margin), not only when a renewal returns: another
// replica can take the lease then, and the holder must have stopped. The
// cluster run saw two Slack Socket Mode connections open at once when the
// loss was noticed only after a renewal returned.
func TestLeaseLostAtDeadlineWhileRenewalHangs(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		s := &stuck{Leases: b.st, hang: make(chan struct{}), started: make(chan struct{}, 1)}
		defer close(s.hang)
		l, err := lease.New(s, "a", b.clock.Now, nil).Acquire(ctx, name, ttl)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.started: // a renewal is now hanging
		case <-time.After(5 * time.Second):
			t.Fatal("no renewal started")
		}
		if closed(l.Lost(), ttl) { // the clock stands: still held
			t.Fatal("lost before its deadline")
		}
		b.clock.Advance(ttl - ttl/20) // past the deadline less the margin, before the store's expiry
		if !closed(l.Lost(), 5*time.Second) {
			t.Fatal("a holder with a hung renewal kept its lease past its deadline")
		}
		// Another replica takes it once the store's expiry passes.
		b.clock.Advance(ttl / 10)
		l2, err := b.replica("b").Acquire(ctx, name, ttl)
		if err != nil {
			t.Fatalf("b could not take the expired lease: %v", err)
		}
		l2.Release(ctx)
	})
}
