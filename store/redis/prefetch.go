package redis

import (
	"context"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Prefetched ingest reads (issue 23, store.IngestPrefetcher): the router's
// dedupe GET, tombstone EXISTS and binding GETs, which each waited for the
// one before, go to the server in one pipeline (on a Cluster, one per node,
// sent together). The answers ride the context; each is taken once, by the
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

// PrefetchIngest implements store.IngestPrefetcher.
func (s *Store) PrefetchIngest(ctx context.Context, r store.IngestReads) context.Context {
	type read struct {
		key string
		get *goredis.StringCmd
		ex  *goredis.IntCmd
	}
	if !s.sharded() && !s.noMGet.Load() {
		if pctx, ok := s.prefetchOne(ctx, r); ok {
			return pctx
		}
	}
	reads := make([]read, 0, 1+len(r.Tombstones)+len(r.Identities))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		if r.EntryID != "" {
			k := s.k.entryOwner(r.EntryID)
			reads = append(reads, read{key: k, get: p.Get(ctx, k)})
		}
		for _, h := range r.Tombstones {
			k := s.k.tombstone(h)
			reads = append(reads, read{key: k, ex: p.Exists(ctx, k)})
		}
		for _, id := range r.Identities {
			k := s.k.binding(id.Type, id.Value)
			reads = append(reads, read{key: k, get: p.Get(ctx, k)})
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return ctx // the reads go to the server one by one
	}
	p := &prefetched{got: make(map[string]prefetchAnswer, len(reads))}
	for _, rd := range reads {
		if rd.ex != nil {
			n, err := rd.ex.Result()
			if err != nil {
				continue
			}
			p.got[rd.key] = prefetchAnswer{exists: n > 0}
			continue
		}
		v, err := rd.get.Result()
		switch {
		case isNil(err):
			p.got[rd.key] = prefetchAnswer{}
		case err == nil:
			p.got[rd.key] = prefetchAnswer{val: v, exists: true}
		}
	}
	return context.WithValue(ctx, prefetchKey{}, p)
}

// prefetchOne is PrefetchIngest on a server without slots (standalone,
// Sentinel's master): one MGET of every key, one command instead of one
// per read. A tombstone is a string key, so its GET answers EXISTS.
// ok false: the server refused the MGET; use the pipeline.
func (s *Store) prefetchOne(ctx context.Context, r store.IngestReads) (_ context.Context, ok bool) {
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
	if len(keys) == 0 {
		return ctx, true
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil && strings.Contains(err.Error(), "CROSSSLOT") {
		s.noMGet.Store(true)
		return ctx, false
	}
	if err != nil || len(vals) != len(keys) {
		return ctx, true // the reads go to the server one by one
	}
	p := &prefetched{got: make(map[string]prefetchAnswer, len(keys))}
	for i, k := range keys {
		switch v := vals[i].(type) {
		case nil:
			p.got[k] = prefetchAnswer{}
		case string:
			p.got[k] = prefetchAnswer{val: v, exists: true}
		}
	}
	return context.WithValue(ctx, prefetchKey{}, p), true
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
