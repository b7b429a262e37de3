package router_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// outage makes the store stop answering for the writes that process and
// finish an ingest item, as a Redis restart does to a live replica in the
// middle of its work. It is a fault-injecting wrapper around the real
// store (embedded or Redis): the outage must start while the items are in
// a worker's hands, which killing a real server cannot time exactly.
type outage struct {
	store.Store
	down  atomic.Bool
	fails atomic.Int64
}

var errDown = errors.New("store not answering (injected outage)")

func (o *outage) fail() error {
	if o.down.Load() {
		o.fails.Add(1)
		return errDown
	}
	return nil
}

func (o *outage) GetEntry(ctx context.Context, id string) (store.Entry, error) {
	if err := o.fail(); err != nil {
		return store.Entry{}, err
	}
	return o.Store.GetEntry(ctx, id)
}

func (o *outage) Retry(ctx context.Context, q string, d store.Delivery, reason string) (bool, error) {
	if err := o.fail(); err != nil {
		return false, err
	}
	return o.Store.Retry(ctx, q, d, reason)
}

func (o *outage) Ack(ctx context.Context, q string, ids ...string) error {
	if err := o.fail(); err != nil {
		return err
	}
	return o.Store.Ack(ctx, q, ids...)
}

// TestStoreOutageDoesNotParkItems: items whose processing, retry and ack
// all failed because the store stopped answering are on their timelines
// soon after it answers again, not after claim_after (30 s by default):
// the worker holds on to them instead of leaving them pending with itself.
func TestStoreOutageDoesNotParkItems(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		o := &outage{Store: st}
		o.down.Store(true)
		rt := router.New(o, h.dir, router.Options{Routing: router.Routing{Teams: []string{"support"}}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var ids []string
		for i := range 20 {
			id, err := h.in.Deliver(ctx, h.msg("trusted-api", "", fmt.Sprint("m", i), fmt.Sprintf("email:out%d@example.com", i%3)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		done := make(chan struct{})
		go func() { rt.Run(ctx); close(done) }()
		for o.fails.Load() < int64(len(ids)) { // every item tried and failed
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		o.down.Store(false)
		back := time.Now()
		deadline := back.Add(10 * time.Second) // a third of claim_after
		for _, id := range ids {
			for {
				if _, err := st.GetEntry(ctx, id); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("message %s not on a timeline %s after the store answered again (parked until claim_after?)", id, time.Since(back).Round(time.Millisecond))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		t.Logf("%d items failed during the outage; all on their timelines %s after it ended", o.fails.Load(), time.Since(back).Round(time.Millisecond))
		// Nothing left pending: every item was acked once the store answered.
		for time.Now().Before(deadline) && hubtest.Queued(t, st) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if n := hubtest.Queued(t, st); n != 0 {
			t.Errorf("%d ingest items still pending after recovery", n)
		}
		cancel()
		<-done
	})
}
