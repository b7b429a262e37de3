package redis

import (
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Options configure the backend.
type Options struct {
	// Prefix starts every key and channel name (default "sb"). It must not
	// contain '{' or '}'.
	Prefix string
	// Queue configures every queue (defaults: MaxAttempts 5, ClaimAfter
	// 30s, RetryBackoff 1s).
	Queue store.QueueOptions
	// Clock is the time source (default store.SystemClock).
	Clock store.Clock
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// AutoPipeline coalesces concurrent single commands into shared
	// pipelines (see autopipe.go). It adds a hook to the client.
	AutoPipeline bool
	// PruneConsumersAfter: when the store first uses a queue it deletes the
	// consumers (earlier processes) idle this long with nothing pending
	// (default 1h).
	PruneConsumersAfter time.Duration
	// MinReplicasAck > 0: Enqueue (the point where a message is
	// acknowledged) waits with WAIT until that many replicas of the
	// stream's master have the item, for at most MinReplicasTimeout
	// (default 100ms), and fails with store.ErrNotReplicated otherwise
	// (replicas.go). 0 (the default): no WAIT.
	MinReplicasAck     int
	MinReplicasTimeout time.Duration
	// LegacyRecords stores entries as hubs before the compact encoding did
	// (json.Marshal of store.Entry; entrycodec.go), so those hubs can read
	// them during a rolling upgrade or after a rollback. Both are read.
	LegacyRecords bool
}

// Store is the Redis implementation of store.Store.
type Store struct {
	c          goredis.UniversalClient
	k          keys
	q          store.QueueOptions
	now        store.Clock
	log        *slog.Logger
	ctx        context.Context // cancelled by Close
	stop       context.CancelFunc
	wg         sync.WaitGroup
	group      sync.Map // queue name → struct{}: consumer group known to exist
	pruneAfter time.Duration
	reclaim    sync.Map // queue name → *reclaimState

	ap *autoPipeline // nil unless Options.AutoPipeline

	legacyRecords bool // Options.LegacyRecords

	owners hints // conversation id → owning customer (immutable once stored)
	// holders: customer + "\x00" + thread key → the id of the conversation
	// last seen holding it; a hint, checked against the record on use.
	holders hints
	// bound: binding key → the customer it named when last read, the
	// prefetch's guess of the customer record to read beside it (prefetch.go).
	bound hints

	noSetNXGet atomic.Bool // the server refused SET NX GET (Redis < 7.0)
	noOneStep  atomic.Bool // the server refused the one-step append (onestep.go)
	noMGet     atomic.Bool // the server refused a prefetch's MGET (keys of several slots behind a proxy)

	minAck        int           // Options.MinReplicasAck
	minAckTimeout time.Duration // Options.MinReplicasTimeout
	fns           functions     // the functions library (functions.go)
	audits        auditBatcher  // group commits of audit records (auditbatch.go)
}

var _ store.Store = (*Store)(nil)

// hints is a process-local map of values read from Redis, bounded by
// dropping it whole when it grows large.
type hints struct {
	m sync.Map
	n atomic.Int64
}

func (h *hints) get(k string) (string, bool) {
	v, ok := h.m.Load(k)
	if !ok {
		return "", false
	}
	return v.(string), true
}

func (h *hints) put(k, v string) {
	if h.n.Add(1) > 200000 {
		h.m.Clear()
		h.n.Store(0)
	}
	h.m.Store(k, v)
}

func (h *hints) drop(k string) { h.m.Delete(k) }

// maxCAS is how often an Update retries its compare-and-swap before giving
// up with store.ErrConflict.
const maxCAS = 50

// New returns a backend on client. The caller owns client: Close does not
// close it.
func New(client goredis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "sb"
	}
	opts.Queue = opts.Queue.WithDefaults()
	if opts.PruneConsumersAfter <= 0 {
		opts.PruneConsumersAfter = time.Hour
	}
	if opts.Clock == nil {
		opts.Clock = store.SystemClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Store{c: client, k: keys{p: opts.Prefix}, q: opts.Queue, now: opts.Clock,
		log: opts.Logger.With("store", "redis"), ctx: ctx, stop: stop, pruneAfter: opts.PruneConsumersAfter,
		legacyRecords: opts.LegacyRecords}
	s.minAck, s.minAckTimeout = opts.MinReplicasAck, opts.MinReplicasTimeout
	if s.minAck > 0 && s.minAckTimeout <= 0 {
		s.minAckTimeout = minAckTimeoutDefault
	}
	if opts.AutoPipeline {
		s.ap = newAutoPipeline(client)
		client.AddHook(s.ap)
	}
	return s
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.c.Ping(ctx).Err() }

// Close ends the backend's subscriptions and waits for their goroutines. It
// does not close the client, which belongs to the caller.
func (s *Store) Close() error {
	s.stop()
	s.wg.Wait()
	if s.ap != nil {
		s.ap.close()
	}
	return nil
}

// ---- helpers ----

func isNil(err error) bool { return errors.Is(err, goredis.Nil) }

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store/redis: marshal %T: %v", v, err)) // records always marshal
	}
	return string(b)
}

func unmarshal(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("store/redis: corrupt %T record: %w", v, err)
	}
	return nil
}

// getJSON reads a JSON string key into v; store.ErrNotFound when missing.
func (s *Store) getJSON(ctx context.Context, key string, v any) (string, error) {
	raw, err := s.c.Get(ctx, key).Result()
	if isNil(err) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	return raw, unmarshal(raw, v)
}

// createIfAbsent stores value at key unless the key exists: created reports
// whether value was stored, cur is the value now in force. It is one native
// SET NX GET (Redis 7.0+, several times cheaper than a script on the hot
// path); on an older server that refuses the combination it falls back to
// the setIfAbsent script for the life of the Store.
func (s *Store) createIfAbsent(ctx context.Context, key, value string) (cur string, created bool, err error) {
	if !s.noSetNXGet.Load() {
		cur, err := s.c.SetArgs(ctx, key, value, goredis.SetArgs{Mode: "NX", Get: true}).Result()
		switch {
		case isNil(err):
			return value, true, nil
		case err == nil:
			return cur, false, nil
		case !strings.Contains(strings.ToLower(err.Error()), "syntax"):
			return "", false, err
		}
		s.noSetNXGet.Store(true)
	}
	return pair(setIfAbsent.Run(ctx, s.c, []string{key}, value).Slice())
}

// pair decodes a script's {flag, string} reply.
func pair(r []any, err error) (string, bool, error) {
	if err != nil {
		return "", false, err
	}
	if len(r) != 2 {
		return "", false, fmt.Errorf("store/redis: unexpected script reply %v", r)
	}
	flag, _ := r[0].(int64)
	str, _ := r[1].(string)
	return str, flag == 1, nil
}

// casValue is where a compare-and-swapped value lives: a string key, or
// a field of a hash.
type casValue struct {
	key, field string
	inHash     bool
}

func stringAt(key string) casValue       { return casValue{key: key} }
func fieldAt(key, field string) casValue { return casValue{key: key, field: field, inHash: true} }

func (v casValue) get(ctx context.Context, c goredis.UniversalClient) *goredis.StringCmd {
	if v.inHash {
		return c.HGet(ctx, v.key, v.field)
	}
	return c.Get(ctx, v.key)
}

// swap stores nv if the value still is old (casHSet / casSet): 1 when stored.
func (v casValue) swap(ctx context.Context, c goredis.UniversalClient, old, nv string) *goredis.Cmd {
	if v.inHash {
		return casHSet.Run(ctx, c, []string{v.key}, v.field, old, nv)
	}
	return casSet.Run(ctx, c, []string{v.key}, old, nv)
}

// update applies fn to the value at v with compare-and-swap, retrying on
// concurrent change (at most maxCAS times, then store.ErrConflict). fn
// returns the new value; its error is returned as is. store.ErrNotFound
// when the value does not exist.
func (s *Store) update(ctx context.Context, v casValue, fn func(old string) (string, error)) error {
	for i := 0; i < maxCAS; i++ {
		old, err := v.get(ctx, s.c).Result()
		if isNil(err) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		nv, err := fn(old)
		if err != nil {
			return err
		}
		ok, err := v.swap(ctx, s.c, old, nv).Int()
		if err != nil {
			return err
		}
		if ok == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return store.ErrConflict
}

// getMany GETs keys that may live in different slots (a pipeline, which
// go-redis splits per node); missing keys give "" and ok=false.
func (s *Store) getMany(ctx context.Context, keys []string) ([]string, []bool, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	cmds := make([]*goredis.StringCmd, len(keys))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, nil, err
	}
	vals := make([]string, len(keys))
	oks := make([]bool, len(keys))
	for i, c := range cmds {
		v, err := c.Result()
		if isNil(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		vals[i], oks[i] = v, true
	}
	return vals, oks, nil
}

// nanos renders t as 20-digit zero-padded Unix nanoseconds (lexically ordered).
func nanos(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }

func parseNanos(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// callerError carries an error returned by a caller's update function
// through the backend, so opErr hands it back as is (the contract says so).
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// opErr adds what was being done to an error of an exported method (one
// deferred call each, words and ids joined by spaces: "get entry", id), so a
// failure of the connection, the server or a script says which operation
// and record it hit. The contract's sentinel errors, returned as answers,
// pass unchanged, as does a caller's own error (callerError); a wrapped
// error still matches with errors.Is. Strings only, so the deferred call
// costs no allocation when there is no error (the hot path).
func opErr(err *error, what ...string) {
	e := *err
	switch e {
	case nil, store.ErrNotFound, store.ErrConflict, store.ErrLeaseHeld:
		return
	}

	var ce callerError
	if errors.As(e, &ce) {
		*err = ce.err
		return
	}
	*err = fmt.Errorf("store/redis: %s: %w", strings.Join(what, " "), e)
}
