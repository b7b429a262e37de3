package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// flakyOutbox keeps one event per (type, key), as the webhook outbox does,
// and fails while fail is set (a crash between a change and its recording).
type flakyOutbox struct {
	mu     sync.Mutex
	fail   bool
	events map[string]int // type|key → times recorded
}

func (o *flakyOutbox) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return o.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

func (o *flakyOutbox) RecordAll(_ context.Context, hs []timeline.Hook) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return errors.New("outbox unreachable")
	}
	for _, h := range hs {
		o.events[h.Type+"|"+h.Key]++
	}
	return nil
}

func (o *flakyOutbox) count(typ string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k := range o.events {
		if strings.HasPrefix(k, typ+"|") {
			n++
		}
	}
	return n
}

// TestMergeEventsSurviveACrash: a merge and an unmerge whose webhook
// events could not be recorded after the change (a crash in between) are
// recorded by the sweeper, once each; a merge that did not happen (its
// audit failed, so the customers stayed apart) yields no event.
func TestMergeEventsSurviveACrash(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		ob := &flakyOutbox{events: map[string]int{}}
		as := &auditStore{Store: st}
		r := identity.NewResolver(as, store.SystemClock, nil, nil)
		r.SetWebhooks(ob)
		since := time.Now().Add(-time.Minute)
		a := resolve(t, r, msg("email:sweep-a@example.com"))
		b := resolve(t, r, msg("phone:+358404444444"))
		c := resolve(t, r, msg("phone:+358405555555"))

		ob.fail = true
		_, m, err := r.Merge(ctx, a.Customer, b.Customer, "alice", "same person", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Unmerge(ctx, m.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		// A merge refused for its audit: it did not happen.
		as.fail.Store(true)
		if _, _, err := r.Merge(ctx, a.Customer, c.Customer, "alice", "same person", ""); err == nil {
			t.Fatal("merge with the audit log down: no error")
		}
		as.fail.Store(false)
		ob.fail = false
		if ob.count("customer.merged") != 0 || ob.count("customer.unmerged") != 0 {
			t.Fatalf("events recorded with the outbox down: %v", ob.events)
		}
		if _, err := r.SweepPendingEvents(ctx, since); err != nil {
			t.Fatal(err)
		}
		if ob.count("customer.unmerged") != 1 {
			t.Errorf("after the sweep: %v, want the unmerge", ob.events)
		}
		// The merge's own event (a merged state that stood for a while) is
		// recorded when the sweep sees it applied: merge again, crash, sweep.
		ob.fail = true
		if _, _, err := r.Merge(ctx, a.Customer, b.Customer, "alice", "again", ""); err != nil {
			t.Fatal(err)
		}
		ob.fail = false
		for range 2 {
			if _, err := r.SweepPendingEvents(ctx, since); err != nil {
				t.Fatal(err)
			}
		}
		// One: the merge with c, refused for its audit, adds none.
		if ob.count("customer.merged") != 1 {
			t.Errorf("after the sweeps: %v, want one customer.merged", ob.events)
		}
	})
}
