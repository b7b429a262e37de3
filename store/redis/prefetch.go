package redis

import (
	"context"
	"slices"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Prefetched ingest reads (issue 23, store.IngestPrefetcher): the router's
// dedupe GET, tombstone EXISTS, binding GETs and the bound customer's
// record, which each waited for the one before, go to the server in one
// MGET (no slots) or one pipeline (on a Cluster, one per node, sent
// together). The answers ride the context; each is taken once, by the
// read it replaces.

type prefetchKey struct{}

// prefetched holds the answers by Redis key.
type prefetched struct {
	mu  sync.Mutex
	got map[string]prefetchAnswer
}

type prefetchAnswer struct {
	val    string // GET's value
	exists bool
}

var _ store.IngestPrefetcher = (*Store)(nil)

// PrefetchIngest implements store.IngestPrefetcher. Every key is a string
// (a tombstone too, so its GET answers EXISTS): on a server without slots
// (standalone, Sentinel's master) one MGET reads them all; otherwise, or
// when the server refused the MGET, a pipeline of GETs.
func (s *Store) PrefetchIngest(ctx context.Context, r store.IngestReads) context.Context {
	keys := make([]string, 0, 1+len(r.Tombstones)+len(r.Identities))
	if r.EntryID != "" {
		keys = append(keys, s.k.entryOwner(r.EntryID))
	}
	for _, h := range r.Tombstones {
		keys = append(keys, s.k.tombstone(h))
	}
	for _, id := range r.Identities {
		keys = append(keys, s.k.binding(id.Type, id.Value))
	}
	keys = append(keys, s.guessedCustomers(r)...)
	if len(keys) == 0 {
		return ctx
	}
	p := &prefetched{got: make(map[string]prefetchAnswer, len(keys))}
	if !s.sharded() && !s.noMGet.Load() {
		vals, err := s.c.MGet(ctx, keys...).Result()
		switch {
		case err != nil && strings.Contains(err.Error(), "CROSSSLOT"):
			s.noMGet.Store(true) // keys of several slots behind a proxy: pipeline below
		case err != nil || len(vals) != len(keys):
			return ctx // the reads go to the server one by one
		default:
			for i, k := range keys {
				switch v := vals[i].(type) {
				case nil:
					p.got[k] = prefetchAnswer{}
				case string:
					p.got[k] = prefetchAnswer{val: v, exists: true}
				}
			}
			return context.WithValue(ctx, prefetchKey{}, p)
		}
	}
	gets := make([]*goredis.StringCmd, len(keys))
	_, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = pl.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return ctx // the reads go to the server one by one
	}
	for i, k := range keys {
		v, err := gets[i].Result()
		switch {
		case isNil(err):
			p.got[k] = prefetchAnswer{}
		case err == nil:
			p.got[k] = prefetchAnswer{val: v, exists: true}
		}
	}
	return context.WithValue(ctx, prefetchKey{}, p)
}

// guessedCustomers are the customer records to read beside the bindings:
// those the bindings named when this store last read them. The resolver
// reads the record of the customer a binding names (its merged_into);
// read in the same round trip, it is as fresh as the binding. A guess that
// no longer holds costs one unused read, and the resolver's read goes to
// the server.
func (s *Store) guessedCustomers(r store.IngestReads) []string {
	var out []string
	for _, id := range r.Identities {
		if c, ok := s.bound.get(s.k.binding(id.Type, id.Value)); ok {
			if k := s.k.customer(c); !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// takePrefetched returns the prefetched answer for key, once; ok false:
// ask the server.
func takePrefetched(ctx context.Context, key string) (a prefetchAnswer, ok bool) {
	p, _ := ctx.Value(prefetchKey{}).(*prefetched)
	if p == nil {
		return a, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok = p.got[key]; ok {
		delete(p.got, key)
	}
	return a, ok
}

// dropPrefetched forgets every prefetched answer: ctx's caller wrote
// something a later read must see from the server.
func dropPrefetched(ctx context.Context) {
	p, _ := ctx.Value(prefetchKey{}).(*prefetched)
	if p == nil {
		return
	}
	p.mu.Lock()
	clear(p.got)
	p.mu.Unlock()
}
