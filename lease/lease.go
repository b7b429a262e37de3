package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Leases takes the store's leases for one replica (the holder).
type Leases struct {
	st     store.Leases
	holder string
	clock  func() time.Time
	log    *slog.Logger
}

var _ connectors.Leases = (*Leases)(nil)

// New returns the leases of holder (a random name when empty). clock must
// be the clock the store judges expiry by (store.SystemClock in the hub;
// the store's fake clock in tests); nil means time.Now.
func New(st store.Leases, holder string, clock func() time.Time, log *slog.Logger) *Leases {
	if holder == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		holder = "replica-" + hex.EncodeToString(b[:])
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leases{st: st, holder: holder, clock: clock, log: log}
}

// Holder is the name this replica holds leases under.
func (ls *Leases) Holder() string { return ls.holder }

// Acquire implements connectors.Leases. The lease renews itself until it
// is released or lost; ctx bounds only the acquisition.
func (ls *Leases) Acquire(ctx context.Context, name string, ttl time.Duration) (connectors.Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("lease %s: ttl %v must be positive", name, ttl)
	}
	start := ls.clock()
	l, err := ls.st.AcquireLease(ctx, name, ls.holder, ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		return nil, fmt.Errorf("lease %s: %w", name, connectors.ErrLeaseHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("lease %s: acquire: %w", name, err)
	}
	h := &held{ls: ls, name: name, token: l.Token, ttl: ttl, deadline: start.Add(ttl),
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go h.renewLoop()
	go h.expiryWatch()
	return h, nil
}

// expiryMargin is how long before its deadline a lease whose renewals fail
// counts as lost: the holder must have stopped (a Socket Mode connection
// closed, an IMAP session ended) by the time another replica can take it.
func expiryMargin(ttl time.Duration) time.Duration { return min(ttl/10, 200*time.Millisecond) }

// expiryWatch marks the lease lost once its deadline (less expiryMargin)
// passes without a successful renewal. Renew checks the deadline too, but
// only when a renewal returns: every ttl/3, after a failing call that can
// itself take ttl/3. That was up to two thirds of the TTL after the
// deadline, while another replica could take the lease at the deadline:
// the cluster run saw two Slack Socket Mode connections open for 310 ms
// after a Redis primary's SIGKILL (scripts/cluster). The timer is real
// time, the check the hub's clock (a fake clock in tests): it re-arms
// until the clock agrees.
func (h *held) expiryWatch() {
	margin := expiryMargin(h.ttl)
	for {
		h.mu.Lock()
		left := h.deadline.Add(-margin).Sub(h.ls.clock())
		h.mu.Unlock()
		if left <= 0 {
			h.markLost("expired while renewals failed", nil)
			return
		}
		t := time.NewTimer(left)
		select {
		case <-h.stop:
			t.Stop()
			return
		case <-h.lost:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// held is one acquired lease.
type held struct {
	ls    *Leases
	name  string
	token int64
	ttl   time.Duration

	mu       sync.Mutex
	deadline time.Time // the lease's expiry as this replica last confirmed it

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func (h *held) Name() string          { return h.name }
func (h *held) Token() int64          { return h.token }
func (h *held) Lost() <-chan struct{} { return h.lost }

func (h *held) markLost(why string, err error) {
	h.lostOnce.Do(func() {
		close(h.lost)
		if why != "" {
			h.ls.log.Warn("lease lost", "lease", h.name, "token", h.token, "why", why, "err", err)
		}
	})
}

func (h *held) isLost() bool {
	select {
	case <-h.lost:
		return true
	default:
		return false
	}
}

// Renew implements connectors.Lease.
func (h *held) Renew(ctx context.Context) error {
	if h.isLost() {
		return fmt.Errorf("lease %s: %w", h.name, connectors.ErrLeaseLost)
	}
	start := h.ls.clock()
	_, err := h.ls.st.RenewLease(ctx, h.name, h.ls.holder, h.token, h.ttl)
	switch {
	case err == nil:
		h.mu.Lock()
		if d := start.Add(h.ttl); d.After(h.deadline) {
			h.deadline = d
		}
		h.mu.Unlock()
		if h.isLost() { // released meanwhile
			return fmt.Errorf("lease %s: %w", h.name, connectors.ErrLeaseLost)
		}
		return nil
	case errors.Is(err, store.ErrLeaseHeld):
		h.markLost("held by another replica", nil)
		return fmt.Errorf("lease %s: %w: held by another replica", h.name, connectors.ErrLeaseLost)
	}
	h.mu.Lock()
	expired := !h.ls.clock().Before(h.deadline)
	h.mu.Unlock()
	if expired {
		h.markLost("expired while renewals failed", err)
		return fmt.Errorf("lease %s: %w: expired while renewals failed: %v", h.name, connectors.ErrLeaseLost, err)
	}
	return fmt.Errorf("lease %s: renew: %w", h.name, err)
}

// renewLoop renews the lease every ttl/3 until it is lost or released.
func (h *held) renewLoop() {
	defer close(h.done)
	every := max(h.ttl/3, time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.lost:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := h.Renew(ctx)
		cancel()
		if err != nil && !h.isLost() {
			h.ls.log.Warn("lease renewal failed", "lease", h.name, "err", err)
		}
	}
}

// Release implements connectors.Lease: renewals stop, Lost is closed, and
// the store's lease is freed if this replica still holds it.
func (h *held) Release(ctx context.Context) error {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
	wasLost := h.isLost()
	h.markLost("", nil)
	if wasLost {
		return nil
	}
	err := h.ls.st.ReleaseLease(ctx, h.name, h.ls.holder, h.token)
	if err != nil && !errors.Is(err, store.ErrLeaseHeld) {
		return fmt.Errorf("lease %s: release: %w", h.name, err)
	}
	return nil
}
