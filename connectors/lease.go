package connectors

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of the lease and state abilities.
var (
	// ErrLeaseHeld: another replica holds the lease.
	ErrLeaseHeld = errors.New("lease held by another replica")
	// ErrLeaseLost: the lease is no longer held here (another replica took
	// it, it expired unrenewed, or it was released). A fenced write made
	// under it is refused with this error.
	ErrLeaseLost = errors.New("lease lost")
	// ErrNoState is what State.Get returns for a key never written.
	ErrNoState = errors.New("no state")
)

// Lease is a named lease this replica holds, for work that must run on one
// replica at a time (reading a mailbox, holding a Socket Mode connection,
// a plugin's receiving). The hub's one implementation (package lease)
// renews it in the background at a third of its TTL and declares it lost
// when the store says another replica holds it, or when its TTL passes on
// the hub's clock without a successful renewal.
type Lease interface {
	// Name is the lease's name, e.g. "email:support".
	Name() string
	// Token is the fencing token: it grows with every new holder, so a
	// write carrying a stale token can be recognised and refused.
	Token() int64
	// Lost is closed once the lease is no longer held here.
	Lost() <-chan struct{}
	// Renew confirms the lease with the store now (the fencing step before
	// a write): ErrLeaseLost once it is no longer held.
	Renew(ctx context.Context) error
	// Release lets the lease go (best effort; a lost lease is not an error).
	Release(ctx context.Context) error
}

// Leases takes leases for this replica.
type Leases interface {
	// Acquire takes the named lease with the given TTL if it is free or
	// expired: ErrLeaseHeld when another replica holds it.
	Acquire(ctx context.Context, name string, ttl time.Duration) (Lease, error)
}

// State keeps a channel's small opaque state (an IMAP folder's
// UIDVALIDITY and last UID, a cursor) across restarts and replicas.
type State interface {
	// Get returns the value of key; ErrNoState when it was never written.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put writes key under fence: it renews fence first and writes nothing
	// (ErrLeaseLost) when the lease was lost, so a replica that lost its
	// lease cannot overwrite its successor's state.
	Put(ctx context.Context, fence Lease, key string, value []byte) error
}

// LeasedSource is the ability of a channel that must receive on one
// replica at a time. The hub (cmd/switchboard, through package lease) holds
// the lease it names for it, calls RunLeased while the lease is held,
// cancels ctx when the lease is lost and releases the lease when RunLeased
// returns; then it takes the lease again (here or on another replica).
// Such a channel is not a Source itself.
type LeasedSource interface {
	// LeaseSpec names the lease and how long it lasts without renewal.
	LeaseSpec() (name string, ttl time.Duration)
	// RunLeased is Source.Run under lease: it returns nil when ctx ends
	// (stop, or the lease lost), an error when it cannot go on; fenced
	// state writes go through State.Put with lease.
	RunLeased(ctx context.Context, sink Sink, lease Lease) error
}

// Counters are shared integer counters (per-channel statistics), summed
// over every replica.
type Counters interface {
	// Incr adds delta to counter name and returns the new value.
	Incr(ctx context.Context, name string, delta int64) (int64, error)
	// GetCounters returns every counter whose name starts with prefix.
	GetCounters(ctx context.Context, prefix string) (map[string]int64, error)
}

// Quarantiner is an optional ability of a Sink: keep a message held back
// as suspected spam (a filled honeypot, a bot-speed form) out of every
// timeline until an admin releases it. Idempotent per message id; nil only
// once the message is durable.
type Quarantiner interface {
	Quarantine(ctx context.Context, msg Message, reason string) error
}

// Sleep waits for d or until ctx ends, whichever comes first; it returns
// ctx.Err() when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
