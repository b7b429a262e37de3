// Package redis is the search index on plain Redis 7 (no modules), so
// every replica answers from the same index: an inverted index of term →
// sorted set of document ids scored by time, spread over Shards hash tags
// by customer. Each operation is one Lua script on one shard (one hash
// slot, so it runs on Redis Cluster); a query runs one script per shard,
// pipelined, and merges their newest-first answers. Puts are written in
// group commits (batch.go); PutLater (search.Later) queues a document for
// one that waits up to Window for more, and a search or removal in the
// process writes what is queued first.
//
// Keys (PREFIX:{search:N}:…, N = fnv32(customer) mod Shards on a Cluster;
// N = 0 for new documents on a standalone server, see single):
//
//	t:TERM  ZSET  docID → at (Unix ms)   postings
//	d:ID    STRING compact JSON          the document (doccodec.go; re-analysed on removal)
//	v:CONV  SET   docIDs                 a conversation's documents, for erasure
//
// It may import search, go-redis and internal/jsonstr only. See docs/ARCHITECTURE.md
// ("Search") for the trade-offs.
package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/search"
)

// Shards is how many hash tags the index is spread over: enough for a
// Cluster to spread it, few enough that a query's per-shard scripts stay
// one pipelined round trip per node.
const Shards = 16

// Index is a search.Index in Redis.
type Index struct {
	c      goredis.UniversalClient
	prefix string
	// ScanCap bounds how many postings of its rarest term one shard's
	// script walks for one query (0 = 20000), so no query holds Redis long.
	ScanCap int
	// Window is how long documents queued by PutLater wait for more
	// before a flush (0 = DefaultWindow; batch.go).
	Window time.Duration
	// LegacyDocuments stores documents as hubs before the compact
	// encoding did (json.Marshal of search.Doc; doccodec.go), so those
	// hubs can read them during a rolling upgrade or after a rollback.
	// Both are read.
	LegacyDocuments bool

	batch batcher // group commits of Put (batch.go)
}

var (
	_ search.Index = (*Index)(nil)
	_ search.Later = (*Index)(nil)
)

// New returns the index under prefix (the store's key prefix).
func New(c goredis.UniversalClient, prefix string) *Index { return &Index{c: c, prefix: prefix} }

func shardOf(customerID string) int {
	h := fnv.New32a()
	h.Write([]byte(customerID))
	return int(h.Sum32() % Shards)
}

// single: a standalone server or Sentinel's master, where hash slots do
// not matter, so every new document goes to shard 0 (issue 23: a batch's
// documents then share each term's ZADD whatever their customers). On a
// Cluster each customer's documents go to their own shard, spreading the
// index over the nodes. Shards written by an older version (every shard,
// on a standalone server too) are still read and cleaned.
func (x *Index) single() bool {
	_, cluster := x.c.(*goredis.ClusterClient)
	return !cluster
}

// writeShard is the shard customerID's new documents go to.
func (x *Index) writeShard(customerID string) int {
	if x.single() {
		return 0
	}
	return shardOf(customerID)
}

// shardsOf are the shards customerID's documents may be in: the one they
// are written to and, on a standalone server, the one an older version
// wrote them to.
func (x *Index) shardsOf(customerID string) []int {
	w, h := x.writeShard(customerID), shardOf(customerID)
	if w == h {
		return []int{w}
	}
	return []int{w, h}
}

func (x *Index) base(shard int) string { return x.prefix + ":{search:" + strconv.Itoa(shard) + "}:" }

func score(at time.Time) float64 { return float64(at.UnixMilli()) }

// removeScript takes one document out if it is still the version read.
// KEYS[1] doc key, KEYS[2] conversation set, KEYS[3..] term keys.
// ARGV[1] the doc JSON read, ARGV[2] doc id. Returns 1 if removed, 0 if
// the document changed meanwhile (the caller reads it again).
var removeScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 1 end
if cur ~= ARGV[1] then return 0 end
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
`)

// candidatesScript finds one shard's newest documents carrying every term.
// KEYS[1..] term keys (one shard). ARGV[1] min score (inclusive), ARGV[2]
// max score (exclusive, "+inf" for none), ARGV[3] limit, ARGV[4] scan
// cap, ARGV[5] and ARGV[6] the same bounds as numbers. Returns a flat
// list id, score, id, score, … newest first (the documents are read
// afterwards, only for the ids that make the merged window).
//
// One term: the newest limit of its set. Several: walk the smallest set
// newest first checking the others with ZSCORE, which stops as soon as
// limit are found (common words that meet often); when the smallest set
// is small enough for ZINTER (up to ARGV[4] / 4: cost in the smallest
// set's size, whatever the words' overlap), the walk gives up after 4 ×
// limit postings for ZINTER, and a set of at most 4 × limit is
// intersected at once.
var candidatesScript = goredis.NewScript(`
local bi, best = 0, -1
for i = 1, #KEYS do
  local n = redis.call('ZCARD', KEYS[i])
  if n == 0 then return {} end
  if best < 0 or n < best then bi, best = i, n end
end
local limit, cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local lo, hi = tonumber(ARGV[5]), tonumber(ARGV[6])
local function inter()
  local args = {'ZINTER', #KEYS}
  for i = 1, #KEYS do args[#args + 1] = KEYS[i] end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  args[#args + 1] = 'WITHSCORES'
  local r = redis.call(unpack(args))
  local out, found = {}, 0
  for j = #r - 1, 1, -2 do
    local sc = tonumber(r[j + 1])
    if sc < hi and sc >= lo then
      out[#out + 1] = r[j]
      out[#out + 1] = r[j + 1]
      found = found + 1
      if found >= limit then break end
    end
  end
  return out
end
local canInter = #KEYS > 1 and best <= cap / 4
if canInter and best <= 4 * limit then return inter() end
-- Walk newest first; where ZINTER is possible, only 4 × limit postings
-- before falling back to it (words that meet often are found long before
-- the whole sets are intersected; words that seldom meet are not walked
-- far).
local budget = cap
if canInter then budget = 4 * limit end
local out, found = {}, 0
-- Walk by rank, not by score with LIMIT offset (which skips offset
-- postings again for every page): the first rank inside the window is
-- the count of postings at or after its end.
local rank = redis.call('ZCOUNT', KEYS[bi], ARGV[6], '+inf')
local walked = 0
while found < limit and walked < budget do
  local ids = redis.call('ZRANGE', KEYS[bi], rank, rank + 255, 'REV', 'WITHSCORES')
  if #ids == 0 then return out end
  for j = 1, #ids, 2 do
    if tonumber(ids[j + 1]) < lo then return out end
    local id = ids[j]
    local ok = true
    for i = 1, #KEYS do
      if i ~= bi and not redis.call('ZSCORE', KEYS[i], id) then ok = false break end
    end
    if ok then
      out[#out + 1] = id
      out[#out + 1] = ids[j + 1]
      found = found + 1
      if found >= limit then break end
    end
  end
  rank = rank + #ids / 2
  walked = walked + #ids / 2
end
if found < limit and canInter then return inter() end
return out
`)

func (x *Index) keysOf(shard int, d search.Doc) []string {
	b := x.base(shard)
	terms := search.Terms(d)
	ks := make([]string, 0, 2+len(terms))
	ks = append(ks, b+"d:"+d.ID, b+"v:"+d.ConversationID)
	for _, t := range terms {
		ks = append(ks, b+"t:"+t)
	}
	return ks
}

// Put implements search.Index: its share of one group commit (batch.go)
// in the common case.
func (x *Index) Put(ctx context.Context, d search.Doc) error {
	raw, err := x.marshalDoc(d)
	if err != nil {
		return err
	}
	return x.putTries(ctx, d, raw, 5)
}

func (x *Index) putTries(ctx context.Context, d search.Doc, raw string, tries int) error {
	for try := 0; try < tries; try++ {
		n, err := x.put(ctx, d, raw)
		if err != nil {
			return fmt.Errorf("search index: put %s: %w", d.ID, err)
		}
		if n != 1 {
			return nil
		}
		if err := x.removeOne(ctx, d.CustomerID, d.ID); err != nil {
			return err
		}
	}
	return fmt.Errorf("search index: put %s: changed concurrently too often", d.ID)
}

// PutLater implements search.Later: d joins the next group commit, which
// waits up to Window for more documents, and wait returns once d is
// written (replacing another version as Put does) or has failed.
func (x *Index) PutLater(d search.Doc) (wait func(context.Context) error, err error) {
	raw, err := x.marshalDoc(d)
	if err != nil {
		return nil, err
	}
	r := x.enqueue(d, raw, true)
	return func(ctx context.Context) error {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("search index: put %s: %w", d.ID, ctx.Err())
		}
		if r.err != nil {
			return fmt.Errorf("search index: put %s: %w", d.ID, r.err)
		}
		if r.n != 1 {
			return nil
		}
		if err := x.removeOne(ctx, d.CustomerID, d.ID); err != nil {
			return err
		}
		return x.putTries(ctx, d, raw, 4)
	}, nil
}

func (x *Index) removeOne(ctx context.Context, customerID, id string) error {
	for _, s := range x.shardsOf(customerID) {
		if err := x.removeAt(ctx, s, id); err != nil {
			return err
		}
	}
	return nil
}

func (x *Index) removeAt(ctx context.Context, shard int, id string) error {
	b := x.base(shard)
	for try := 0; try < 5; try++ {
		raw, err := x.c.Get(ctx, b+"d:"+id).Result()
		if errors.Is(err, goredis.Nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("search index: read %s: %w", id, err)
		}
		d, err := decodeDoc(raw, id)
		if err != nil {
			return fmt.Errorf("search index: doc %s: %w", id, err)
		}
		n, err := removeScript.Run(ctx, x.c, x.keysOf(shard, d), raw, id).Int()
		if err != nil {
			return fmt.Errorf("search index: remove %s: %w", id, err)
		}
		if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("search index: remove %s: changed concurrently too often", id)
}

// Remove implements search.Index.
func (x *Index) Remove(ctx context.Context, customerID string, ids ...string) error {
	if err := x.drain(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		if err := x.removeOne(ctx, customerID, id); err != nil {
			return err
		}
	}
	return nil
}

// RemoveConversation implements search.Index.
func (x *Index) RemoveConversation(ctx context.Context, customerID, conversationID string) error {
	if err := x.drain(ctx); err != nil {
		return err
	}
	for _, s := range x.shardsOf(customerID) {
		ids, err := x.c.SMembers(ctx, x.base(s)+"v:"+conversationID).Result()
		if err != nil {
			return fmt.Errorf("search index: conversation %s: %w", conversationID, err)
		}
		for _, id := range ids {
			if err := x.removeAt(ctx, s, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// Candidates implements search.Index: every shard's script in one
// pipeline returns its newest matching ids, the merge keeps the newest
// limit, and only those documents are read (MGET per shard, pipelined).
// A shard is asked for twice its fair share of limit (customers spread
// evenly over shards), which keeps a query's work near limit documents
// instead of Shards × limit; the window is then the newest limit matches
// but for a shard holding more than twice its share of them.
func (x *Index) Candidates(ctx context.Context, terms []string, from, to time.Time, limit int) ([]search.Doc, error) {
	if len(terms) == 0 || limit <= 0 {
		return nil, nil
	}
	// What this process queued with PutLater is written first.
	if err := x.drain(ctx); err != nil {
		return nil, err
	}
	lo, hi := "-inf", "+inf"
	loN, hiN := "-1e18", "1e18"
	if !from.IsZero() {
		lo = strconv.FormatInt(from.UnixMilli(), 10)
		loN = lo
	}
	if !to.IsZero() {
		hiN = strconv.FormatInt(to.UnixMilli(), 10)
		hi = "(" + hiN
	}
	capN := x.ScanCap
	if capN <= 0 {
		capN = 20000
	}
	per := min(limit, 2*limit/Shards+8)
	if x.single() {
		// Shard 0 holds every new document: it is asked for the whole
		// window, and may walk as many postings as all shards did.
		per = limit
		capN *= Shards
	}
	// Load the script once so the pipeline can send EVALSHA.
	if err := candidatesScript.Load(ctx, x.c).Err(); err != nil {
		return nil, fmt.Errorf("search index: load script: %w", err)
	}
	pipe := x.c.Pipeline()
	cmds := make([]*goredis.Cmd, Shards)
	for s := 0; s < Shards; s++ {
		b := x.base(s)
		ks := make([]string, len(terms))
		for i, t := range terms {
			ks[i] = b + "t:" + t
		}
		cmds[s] = candidatesScript.EvalSha(ctx, pipe, ks, lo, hi, per, capN, loN, hiN)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("search index: query: %w", err)
	}
	type cand struct {
		id    string
		score float64
		shard int
	}
	var all []cand
	for s, c := range cmds {
		flat, err := c.StringSlice()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, fmt.Errorf("search index: query: %w", err)
		}
		for i := 0; i+1 < len(flat); i += 2 {
			sc, _ := strconv.ParseFloat(flat[i+1], 64)
			all = append(all, cand{flat[i], sc, s})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].id > all[j].id
	})
	if len(all) > limit {
		all = all[:limit]
	}
	byShard := map[int][]string{}
	for _, c := range all {
		byShard[c.shard] = append(byShard[c.shard], x.base(c.shard)+"d:"+c.id)
	}
	pipe = x.c.Pipeline()
	gets := map[int]*goredis.SliceCmd{}
	for s, ks := range byShard {
		gets[s] = pipe.MGet(ctx, ks...) // one shard's keys: one slot
	}
	if len(gets) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return nil, fmt.Errorf("search index: read documents: %w", err)
		}
	}
	docs := map[string]search.Doc{}
	for s, g := range gets {
		for i, v := range g.Val() {
			raw, ok := v.(string)
			if !ok {
				continue // removed meanwhile
			}
			d, err := decodeDoc(raw, strings.TrimPrefix(byShard[s][i], x.base(s)+"d:"))
			if err != nil {
				return nil, fmt.Errorf("search index: doc: %w", err)
			}
			docs[byShard[s][i]] = d
		}
	}
	out := make([]search.Doc, 0, len(all))
	for _, c := range all {
		if d, ok := docs[x.base(c.shard)+"d:"+c.id]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}
