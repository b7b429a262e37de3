// Package hubtest holds what channel tests repeat when they run a real hub
// pipeline below HTTP (store, ingest, router workers): reading a customer's
// timeline by one of their identities, waiting for it to fill, and the
// ingest queue's length; and running a test on every store backend.
//
// Test support only: it may import the store contract and its backends,
// timeline, connectors and internal/testenv; production code never
// imports it.
package hubtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Queued is the length of the ingest queue.
func Queued(t testing.TB, st store.Store) int64 {
	t.Helper()
	s, err := st.QueueStats(context.Background(), store.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	return s.Length
}

// Timeline returns the timeline (merged view, oldest first, at most 10,000
// entries) of the customer the identity key ("type:value") is bound to as a
// verified identity; nil when none is.
func Timeline(t testing.TB, st store.Store, key string) []store.Entry {
	t.Helper()
	ctx := context.Background()
	id, err := connectors.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.LookupIdentity(ctx, id.Type, id.Value)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := timeline.Load(ctx, st, b.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := timeline.Page(ctx, st, v, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// WaitTimeline waits up to within until the timeline of key has n entries
// and the ingest queue is drained, and returns it; it fails the test
// otherwise, showing what is there.
func WaitTimeline(t testing.TB, st store.Store, key string, n int, within time.Duration) []store.Entry {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		es := Timeline(t, st, key)
		if len(es) == n && Queued(t, st) == 0 {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline of %s: %d entries (%d queued), want %d: %q", key, len(es), Queued(t, st), n, Texts(es))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Texts lists the entries' texts, in order.
func Texts(es []store.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Text)
	}
	return out
}

// Backends runs f against every store backend (embedded in a temporary
// directory, and Redis under a unique prefix; without Redis it skips,
// unless the servers are required): behaviour above the store contract must
// not depend on which one is configured.
func Backends(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("embedded", func(t *testing.T) { f(t, Embedded(t)) })
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

// Embedded opens an embedded store in a temporary directory, closed when
// the test ends.
func Embedded(t testing.TB) store.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
