package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/search"
)

// Group commits of Put (issue 23). A message's document used to cost one
// script of its own: a GET, a ZADD per term (about a dozen), a SADD and a
// SET, each counted by Redis as a command. Now every Put waiting while the
// previous flush ran goes into the next one, and a flush is one script
// (one per shard on a Cluster, where a script touches one slot; on a
// standalone server every new document is in shard 0) that reads every
// document key with one MGET, adds each term's new postings with
// ONE ZADD for all the batch's documents carrying it, one SADD per
// conversation and one MSET for the documents. Words shared by the
// batch's messages (most of a message's: common words, the channel's
// term, the customer's name and address) then cost a fraction of a
// command each.
//
// Put still returns only when its document is written (or has failed), so
// a search right after it finds the document, as before, and a lone Put is
// flushed at once. PutLater (the router's ingest workers, through
// timeline.DeferIndexing) queues a document and returns: while only such
// documents wait, a flush waits up to Window after the oldest arrived (or
// until maxBatch are waiting), so under load a batch holds a few
// milliseconds of messages instead of the one round trip's, and the terms
// the batch's messages share cost a fraction of a command each. The
// caller waits for the write before it acknowledges the message (see
// timeline.DeferIndexing), so a crash before the flush leaves the message
// to be redelivered; a search, a removal or a Put that waits flushes what
// is pending at once (drain). The key layout is unchanged, so an index
// written by an older version is read and updated as it was.

// maxBatch bounds one flush (the script's argument lists stay far below
// Lua's unpack limit).
const maxBatch = 256

// DefaultWindow is how long documents queued by PutLater wait for others
// before a flush (Index.Window, 0 = this).
const DefaultWindow = 10 * time.Millisecond

type putReq struct {
	d    search.Doc
	raw  string
	n    int // 0 already there as is, 1 another version there, 2 indexed
	err  error
	done chan struct{}
	// later: queued by PutLater (nobody waits for it yet); at: when.
	later bool
	at    time.Time
}

type batcher struct {
	mu       sync.Mutex
	pending  []*putReq
	flushing bool
	// inflight is the batch being written; waiters counts the pending
	// requests someone waits for (Put) and drains under way: while there
	// are any, the next flush starts without waiting for the window.
	inflight []*putReq
	waiters  int
	wake     chan struct{} // the window's wait ends early
	// noLegacy: the server refused a script over two hash tags (a proxy
	// on a standalone address), so a batch no longer looks for documents
	// in the shards an older version wrote them to.
	noLegacy bool
}

// putBatchScript indexes a batch of documents, those not there already.
// KEYS: n document keys, then n keys where an older version may have
// written the same documents (the customer's own shard, on a standalone
// server; the same keys again otherwise), then m term keys, then k
// conversation-set keys. ARGV[1] n, ARGV[2] m; ARGV[2+i] doc i's JSON,
// ARGV[2+n+i] its id, ARGV[2+2n+i] its score (i = 1..n); ARGV[2+3n+j] the
// indexes (1-based, space separated) of the documents under term or
// conversation key 2n+j. Returns, per document: 0 already indexed as is,
// 1 another version is indexed (the caller removes it and tries again), 2
// indexed.
var putBatchScript = goredis.NewScript(`
local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])
local cur = redis.call('MGET', unpack(KEYS, 1, 2 * n))
local res, put = {}, {}
for i = 1, n do
  local old = cur[i] or cur[n + i]
  if old then
    if old == ARGV[2 + i] then res[i] = 0 else res[i] = 1 end
  else
    res[i] = 2
    put[#put + 1] = KEYS[i]
    put[#put + 1] = ARGV[2 + i]
  end
end
if #put == 0 then return res end
for j = 1, #KEYS - 2 * n do
  local args = {}
  for s in string.gmatch(ARGV[2 + 3 * n + j], '%d+') do
    local i = tonumber(s)
    if res[i] == 2 then
      if j <= m then
        args[#args + 1] = ARGV[2 + 2 * n + i]
      end
      args[#args + 1] = ARGV[2 + n + i]
    end
  end
  if #args > 0 then
    if j <= m then
      redis.call('ZADD', KEYS[2 * n + j], unpack(args))
    else
      redis.call('SADD', KEYS[2 * n + j], unpack(args))
    end
  end
end
redis.call('MSET', unpack(put))
return res
`)

// put indexes d through the next group commit; see Put for the rest.
func (x *Index) put(ctx context.Context, d search.Doc, raw string) (int, error) {
	r := x.enqueue(d, raw, false)
	select {
	case <-r.done:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// enqueue adds d to the next batch (later: nobody waits for it yet).
func (x *Index) enqueue(d search.Doc, raw string, later bool) *putReq {
	r := &putReq{d: d, raw: raw, done: make(chan struct{}), later: later, at: time.Now()}
	b := &x.batch
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if !later {
		b.waiters++
	}
	if !later || len(b.pending) >= maxBatch {
		b.poke()
	}
	if !b.flushing {
		b.flushing = true
		go x.flushLoop()
	}
	b.mu.Unlock()
	return r
}

// poke ends a window's wait (b.mu held).
func (b *batcher) poke() {
	if b.wake == nil {
		b.wake = make(chan struct{}, 1)
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// drain returns once every document queued before it is written (or has
// failed), flushing them without waiting for the window: a search or a
// removal then sees what this process indexed, and a removal is not
// undone by a document written after it.
func (x *Index) drain(ctx context.Context) error {
	b := &x.batch
	b.mu.Lock()
	reqs := append(append([]*putReq(nil), b.inflight...), b.pending...)
	if len(reqs) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.waiters++
	b.poke()
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.waiters--
		b.mu.Unlock()
	}()
	for _, r := range reqs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (x *Index) window() time.Duration {
	if x.Window != 0 {
		return x.Window
	}
	return DefaultWindow
}

// flushLoop writes batches until none is waiting. One flush at a time:
// what arrives meanwhile is the next batch. While only PutLater's
// documents wait, fewer than maxBatch, it waits for the window first.
func (x *Index) flushLoop() {
	b := &x.batch
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.flushing = false
			b.mu.Unlock()
			return
		}
		if b.waiters == 0 && len(b.pending) < maxBatch {
			if wait := time.Until(b.pending[0].at.Add(x.window())); wait > 0 {
				if b.wake == nil {
					b.wake = make(chan struct{}, 1)
				}
				wake := b.wake
				b.mu.Unlock()
				t := time.NewTimer(wait)
				select {
				case <-wake:
				case <-t.C:
				}
				t.Stop()
				continue
			}
		}
		// A document id twice in one batch (a redelivery racing its
		// first delivery) waits for the next, so a script never sees it
		// twice.
		var batch, later []*putReq
		seen := map[string]bool{}
		for _, r := range b.pending {
			if len(batch) < maxBatch && !seen[r.d.ID] {
				seen[r.d.ID] = true
				batch = append(batch, r)
			} else {
				later = append(later, r)
			}
		}
		b.pending = later
		b.inflight = batch
		b.mu.Unlock()
		x.flush(batch)
		b.mu.Lock()
		b.inflight = nil
		for _, r := range batch {
			if !r.later {
				b.waiters--
			}
		}
		b.mu.Unlock()
	}
}

func (x *Index) flush(batch []*putReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := x.flushGroups(ctx, batch)
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

func (x *Index) flushGroups(ctx context.Context, batch []*putReq) error {
	var by [Shards][]*putReq
	for _, r := range batch {
		s := x.writeShard(r.d.CustomerID)
		by[s] = append(by[s], r)
	}
	var groups [][]*putReq
	for _, g := range by {
		if len(g) > 0 {
			groups = append(groups, g)
		}
	}
	err := x.runGroups(ctx, groups)
	x.batch.mu.Lock()
	noLegacy := x.batch.noLegacy
	x.batch.mu.Unlock()
	if err != nil && !noLegacy && x.single() && isCrossSlot(err) {
		// A proxy refusing keys of two hash tags in one script: give up
		// checking an older version's shard (only a redelivery of a
		// message indexed before the upgrade would be indexed twice).
		x.batch.mu.Lock()
		x.batch.noLegacy = true
		x.batch.mu.Unlock()
		for _, r := range batch {
			r.err = nil
		}
		return x.runGroups(ctx, groups)
	}
	return err
}

// runGroups runs one script per group, pipelined, and sets each request's
// answer (and, with several groups, its error); the error returned is the
// whole batch's.
func (x *Index) runGroups(ctx context.Context, groups [][]*putReq) error {
	if len(groups) == 1 {
		keys, args := x.batchArgs(groups[0])
		res, err := putBatchScript.Run(ctx, x.c, keys, args...).Int64Slice()
		if err != nil {
			return fmt.Errorf("search index: put: %w", err)
		}
		return setResults(groups[0], res)
	}
	for try := 0; ; try++ {
		pipe := x.c.Pipeline()
		cmds := make([]*goredis.Cmd, len(groups))
		for i, g := range groups {
			keys, args := x.batchArgs(g)
			cmds[i] = putBatchScript.EvalSha(ctx, pipe, keys, args...)
		}
		_, _ = pipe.Exec(ctx) // each command's error is read below
		noScript := false
		for _, c := range cmds {
			noScript = noScript || c.Err() != nil && goredis.HasErrorPrefix(c.Err(), "NOSCRIPT")
		}
		if noScript && try == 0 {
			// A node without the script: load it everywhere and run the
			// batch again (a group already written answers 0 then).
			if err := putBatchScript.Load(ctx, x.c).Err(); err != nil {
				return fmt.Errorf("search index: load script: %w", err)
			}
			continue
		}
		// Each group's answer is its own: a failed shard fails only its
		// documents' Puts.
		for i, c := range cmds {
			res, err := c.Int64Slice()
			if err == nil {
				err = setResults(groups[i], res)
			}
			if err != nil {
				err = fmt.Errorf("search index: put: %w", err)
				for _, r := range groups[i] {
					r.err = err
				}
			}
		}
		return nil
	}
}

func setResults(g []*putReq, res []int64) error {
	if len(res) != len(g) {
		return errors.New("search index: put: short answer")
	}
	for i, r := range g {
		r.n = int(res[i])
	}
	return nil
}

// batchArgs builds the script's keys and arguments for one group.
func (x *Index) batchArgs(g []*putReq) ([]string, []any) {
	n := len(g)
	var terms, convs []string
	termDocs := map[string]*strings.Builder{}
	convDocs := map[string]*strings.Builder{}
	add := func(m map[string]*strings.Builder, order *[]string, key string, i int) {
		sb := m[key]
		if sb == nil {
			sb = &strings.Builder{}
			m[key] = sb
			*order = append(*order, key)
		} else {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(i + 1))
	}
	keys := make([]string, 2*n, 2*n+16*n)
	x.batch.mu.Lock()
	noLegacy := x.batch.noLegacy
	x.batch.mu.Unlock()
	for i, r := range g {
		w := x.writeShard(r.d.CustomerID)
		b := x.base(w)
		keys[i] = b + "d:" + r.d.ID
		keys[n+i] = keys[i]
		if h := shardOf(r.d.CustomerID); h != w && !noLegacy {
			keys[n+i] = x.base(h) + "d:" + r.d.ID
		}
		for _, t := range search.Terms(r.d) {
			add(termDocs, &terms, b+"t:"+t, i)
		}
		add(convDocs, &convs, b+"v:"+r.d.ConversationID, i)
	}
	keys = append(keys, terms...)
	keys = append(keys, convs...)
	args := make([]any, 0, 2+3*n+len(terms)+len(convs))
	args = append(args, n, len(terms))
	for _, r := range g {
		args = append(args, r.raw)
	}
	for _, r := range g {
		args = append(args, r.d.ID)
	}
	for _, r := range g {
		args = append(args, score(r.d.At))
	}
	for _, k := range terms {
		args = append(args, termDocs[k].String())
	}
	for _, k := range convs {
		args = append(args, convDocs[k].String())
	}
	return keys, args
}

// marshalDoc is the document's stored form (doccodec.go), or the form
// older hubs read (LegacyDocuments).
func (x *Index) marshalDoc(d search.Doc) (string, error) {
	if x.LegacyDocuments {
		b, err := json.Marshal(d)
		return string(b), err
	}
	return encodeDoc(d, d.ID)
}

func isCrossSlot(err error) bool {
	m := err.Error()
	return strings.Contains(m, "CROSSSLOT") || strings.Contains(m, "non local key")
}
