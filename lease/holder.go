package lease

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Holder keeps one named lease for a user that polls it (the plugin host,
// whose RunOnce plugin runs on every replica but receives only where the
// lease is held). It satisfies plugins.Lease.
type Holder struct {
	ls   connectors.Leases
	name string
	ttl  time.Duration

	mu  sync.Mutex
	cur connectors.Lease
}

// NewHolder returns a holder of the lease name with ttl, taken from ls.
func NewHolder(ls connectors.Leases, name string, ttl time.Duration) *Holder {
	return &Holder{ls: ls, name: name, ttl: ttl}
}

// TTL is how long the lease lasts without renewal.
func (h *Holder) TTL() time.Duration { return h.ttl }

// Hold reports whether this replica holds the lease, taking it when it is
// free. A lease it held and lost reports false (once; the next call tries
// to take it again). The lease renews itself in between; an error means it
// is not held and could not be taken now.
func (h *Holder) Hold(ctx context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != nil {
		select {
		case <-h.cur.Lost():
			h.cur = nil
			return false, nil
		default:
			return true, nil
		}
	}
	l, err := h.ls.Acquire(ctx, h.name, h.ttl)
	switch {
	case err == nil:
		h.cur = l
		return true, nil
	case errors.Is(err, connectors.ErrLeaseHeld):
		return false, nil
	default:
		return false, err
	}
}

// Release lets the lease go if this replica holds it.
func (h *Holder) Release(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return nil
	}
	err := h.cur.Release(ctx)
	h.cur = nil
	return err
}
