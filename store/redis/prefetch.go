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
// together). The conversation last seen holding the message's thread key
// for the expected customer (OpenConversation's first read, threadHolder)
// is one HGET in the same pipeline: one write and one wait on a standalone
// server. The answers ride the context; each is taken once, by the read it
// replaces.

type prefetchKey struct{}

// prefetched holds the answers: got by Redis key (GETs), fields by hash
// key + "\x00" + field (HGETs).
type prefetched struct {
	mu     sync.Mutex
	got    map[string]prefetchAnswer
	fields map[string]prefetchAnswer
}

type prefetchAnswer struct {
	val    string // GET's value
	exists bool
}

// hashField is one HGET of a prefetch.
type hashField struct{ key, field string }

var _ store.IngestPrefetcher = (*Store)(nil)

// PrefetchIngest implements store.IngestPrefetcher. Every key is a string
// (a tombstone too, so its GET answers EXISTS): on a server without slots
// (standalone, Sentinel's master) one MGET reads them all; otherwise, or
// when the server refused the MGET, a pipeline of GETs. The holder HGETs,
// if any, go in the same pipeline.
func (s *Store) PrefetchIngest(ctx context.Context, r store.IngestReads) context.Context {
	keys := make([]string, 0, 2+len(r.Tombstones)+len(r.Identities))
	if r.EntryID != "" {
		keys = append(keys, s.k.entryOwner(r.EntryID))
	}
	for _, h := range r.Tombstones {
		keys = append(keys, s.k.tombstone(h))
	}
	for _, id := range r.Identities {
		keys = append(keys, s.k.binding(id.Type, id.Value))
	}
	customers := s.guessedCustomers(r)
	var holds []hashField
	for _, c := range customers {
		keys = append(keys, s.k.customer(c))
		if r.ThreadKey == "" {
			continue
		}
		if id, ok := s.holders.get(c + "\x00" + r.ThreadKey); ok {
			holds = append(holds, hashField{s.k.conversations(c), id})
		}
	}
	if len(keys) == 0 {
		return ctx
	}
	p := &prefetched{got: make(map[string]prefetchAnswer, len(keys))}
	if len(holds) > 0 {
		p.fields = make(map[string]prefetchAnswer, len(holds))
	}
	hgets := make([]*goredis.StringCmd, len(holds))
	queueHolds := func(pl goredis.Pipeliner) {
		for i, h := range holds {
			hgets[i] = pl.HGet(ctx, h.key, h.field)
		}
	}
	if !s.sharded() && !s.noMGet.Load() {
		var mget *goredis.SliceCmd
		var err error
		if len(holds) == 0 {
			mget = s.c.MGet(ctx, keys...)
			err = mget.Err()
		} else {
			// Each command keeps its own error (a nil HGET, the
			// conversation gone, is an answer); a failed connection
			// fails them all.
			_, _ = s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
				mget = pl.MGet(ctx, keys...)
				queueHolds(pl)
				return nil
			})
			err = mget.Err()
		}
		vals, _ := mget.Result()
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
			p.keepHolds(holds, hgets)
			return context.WithValue(ctx, prefetchKey{}, p)
		}
	}
	gets := make([]*goredis.StringCmd, len(keys))
	_, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = pl.Get(ctx, k)
		}
		queueHolds(pl)
		return nil
	})
	if err != nil && !isNil(err) {
		return ctx // the reads go to the server one by one
	}
	for i, k := range keys {
		if a, ok := answerOf(gets[i]); ok {
			p.got[k] = a
		}
	}
	p.keepHolds(holds, hgets)
	return context.WithValue(ctx, prefetchKey{}, p)
}

// keepHolds records the answers of the holder HGETs (a failed one is left
// out: its read goes to the server).
func (p *prefetched) keepHolds(holds []hashField, hgets []*goredis.StringCmd) {
	for i, h := range holds {
		if hgets[i] == nil {
			continue
		}
		if a, ok := answerOf(hgets[i]); ok {
			p.fields[h.key+"\x00"+h.field] = a
		}
	}
}

// answerOf is a GET's or HGET's reply as an answer; ok false when the
// command failed (its read then goes to the server).
func answerOf(c *goredis.StringCmd) (prefetchAnswer, bool) {
	v, err := c.Result()
	switch {
	case isNil(err):
		return prefetchAnswer{}, true
	case err == nil:
		return prefetchAnswer{val: v, exists: true}, true
	}
	return prefetchAnswer{}, false
}

// guessedCustomers are the customers whose records to read beside the
// bindings: those the bindings named when this store last read them. The
// resolver reads the record of the customer a binding names (its
// merged_into); read in the same round trip, it is as fresh as the
// binding. A guess that no longer holds costs one unused read, and the
// resolver's read goes to the server.
func (s *Store) guessedCustomers(r store.IngestReads) []string {
	var out []string
	for _, id := range r.Identities {
		if c, ok := s.bound.get(s.k.binding(id.Type, id.Value)); ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// takePrefetched returns the prefetched answer for key, once; ok false:
// ask the server.
func takePrefetched(ctx context.Context, key string) (prefetchAnswer, bool) {
	return take(ctx, false, key)
}

// takePrefetchedField is takePrefetched for field of hash key (an HGET).
func takePrefetchedField(ctx context.Context, key, field string) (prefetchAnswer, bool) {
	return take(ctx, true, key+"\x00"+field)
}

func take(ctx context.Context, field bool, k string) (a prefetchAnswer, ok bool) {
	p, _ := ctx.Value(prefetchKey{}).(*prefetched)
	if p == nil {
		return a, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.got
	if field {
		m = p.fields
	}
	if a, ok = m[k]; ok {
		delete(m, k)
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
	clear(p.fields)
	p.mu.Unlock()
}
