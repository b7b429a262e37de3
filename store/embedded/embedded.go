package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/switchboard-hub/switchboard/store"
)

// FileName is the name of the bbolt file inside the data directory.
const FileName = "switchboard.db"

// ErrClosed is returned by blocking calls interrupted by Close.
var ErrClosed = errors.New("embedded store closed")

// Options configure Open. The zero value is usable.
type Options struct {
	// Queue configures every queue (defaults: MaxAttempts 5, ClaimAfter 30s,
	// RetryBackoff 1s).
	Queue store.QueueOptions
	// Clock is used for record timestamps, leases, audit and consent times,
	// and queue EnqueuedAt/DeadAt (default store.SystemClock).
	Clock store.Clock
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
	// LockTimeout is how long Open waits for another process to release the
	// data directory (default 2s).
	LockTimeout time.Duration
	// BatchDelay is the longest the committer waits for the writers of its
	// last group to come back before committing a smaller one (commit.go;
	// default 1ms). A lone writer and a backlog never wait.
	BatchDelay time.Duration
}

func (o *Options) defaults() {
	o.Queue = o.Queue.WithDefaults()
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = time.Millisecond
	}
}

// Store is the bbolt-backed store.Store.
type Store struct {
	// dbmu is held for reading by every transaction and for writing by
	// Compact, which replaces db.
	dbmu  sync.RWMutex
	db    *bolt.DB
	dir   string
	clock store.Clock
	qopts store.QueueOptions
	log   *slog.Logger

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // subscription goroutines

	// queue time base: see qnow.
	real0, clock0 time.Time

	qmu    sync.Mutex
	queues map[string]*queueState

	events eventHub

	figWrites figureWrites // AddFigures write ids (figures.go)

	commits committer // group commits (commit.go)

	budgetNext []byte // where the next sweep of expired budgets starts (budgets.go; write transactions only)
}

var _ store.Store = (*Store)(nil)

// Fixed top-level buckets. Queue buckets ("q/NAME", "d/NAME") are created on demand.
var (
	bIdentities     = []byte("identities")       // type\x00value → Binding
	bClaims         = []byte("claims")           // type\x00value → Binding
	bCustomers      = []byte("customers")        // id → Customer
	bMerges         = []byte("merges")           // id → Merge
	bMergeIdx       = []byte("merge_idx")        // customer\x00sortkey(created,id) → id
	bSuggestIdx     = []byte("suggest_idx")      // sortkey(created,id) → id (proposed suggestions)
	bConversations  = []byte("conversations")    // id → Conversation
	bThreads        = []byte("threads")          // customer\x00threadKey → conversation id
	bConvActivity   = []byte("conv_activity")    // ConversationCursor → id
	bConvByCustomer = []byte("conv_by_customer") // customer\x00ConversationCursor → id
	bConvSLADue     = []byte("conv_sla_due")     // SLADueCursor → id (conversations with an SLA due time)
	bTimeline       = []byte("timeline")         // customer\x00SortKey → Entry
	bEntryIDs       = []byte("entry_ids")        // entry id → timeline key (dedupe)
	bEntryCounts    = []byte("entry_counts")     // customer → uint64
	bChannels       = []byte("channels")         // name → ChannelState
	bLeases         = []byte("leases")           // name → Lease (kept after release for the token)
	bCheckpoints    = []byte("checkpoints")      // key → bytes
	bAudit          = []byte("audit")            // at(8)+seq(8) → AuditRecord
	bAuditIDs       = []byte("audit_ids")        // given record id → its audit key (written once)
	bConsents       = []byte("consents")         // customer\x00channel\x00purpose → Consent
	bCounters       = []byte("counters")         // name → int64 (8 bytes BE)
	bQuarantine     = []byte("quarantine")       // id → QuarantineItem
	bProviderIDs    = []byte("provider_ids")     // channel\x00providerID → providerRef
	bProviderByCust = []byte("provider_by_cust") // customer\x00channel\x00providerID → "1"
	bSessions       = []byte("sessions")         // "key" → session key; "epoch\x00"agent → int64 (8 bytes BE)
	bConsentLog     = []byte("consent_log")      // customer\x00at\x00channel\x00purpose\x00granted\x00source → Consent
	bAccessLinks    = []byte("access_links")     // id → AccessLink
	bErasureReqs    = []byte("erasure_requests") // id → ErasureRequest
	// outgoing webhooks (webhooks.go)
	bWhEvents     = []byte("wh_events")      // event id → WebhookEvent (its NextSequence gives Seq)
	bWhPending    = []byte("wh_pending")     // seq(8) → event id (not yet fanned out)
	bWhDeliveries = []byte("wh_deliveries")  // endpoint\x00seq(8) → WebhookDelivery
	bWhDelPending = []byte("wh_dpending")    // endpoint\x00seq(8) → event id (pending deliveries)
	bWhEndpoints  = []byte("wh_endpoints")   // name → WebhookEndpoint
	bWhByCustomer = []byte("wh_by_customer") // customer\x00event id → seq(8)
	bTimers       = []byte("timers")         // see timers.go
)

var allBuckets = [][]byte{
	bIdentities, bClaims, bCustomers, bMerges, bMergeIdx, bSuggestIdx,
	bConversations, bThreads, bConvActivity, bConvByCustomer, bConvSLADue,
	bTimeline, bEntryIDs, bEntryCounts, bChannels, bLeases, bCheckpoints,
	bAudit, bConsents, bCounters, bQuarantine, bProviderIDs, bProviderByCust, bSessions,
	bBlobRefs, bTombstones,
	bConsentLog, bAccessLinks, bErasureReqs,
	bWhEvents, bWhPending, bWhDeliveries, bWhDelPending, bWhEndpoints, bWhByCustomer,
	bTimers,
	bAuditIDs,
	bBudgets,
}

// Open opens (creating if needed) the store in directory dir. Only one
// process may have a data directory open at a time.
func Open(dir string, opts Options) (*Store, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data dir: %w", err)
	}
	file := filepath.Join(dir, FileName)
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("embedded: data dir %s is in use by another switchboard process (could not lock %s within %s)", dir, file, opts.LockTimeout)
		}
		return nil, fmt.Errorf("embedded: open %s: %w", file, err)
	}
	s := &Store{
		db:     db,
		dir:    dir,
		clock:  opts.Clock,
		qopts:  opts.Queue,
		log:    opts.Logger,
		done:   make(chan struct{}),
		real0:  time.Now(),
		clock0: opts.Clock(),
		queues: map[string]*queueState{},
	}
	s.commits.kick = make(chan struct{}, 1)
	s.commits.delay = opts.BatchDelay
	s.events.subs = map[string]map[*subscriber]struct{}{}
	if err := db.Update(func(tx *bolt.Tx) error {
		// A file written before blob references existed gets them from
		// its entries once (rights.go), so erasure keeps shared blobs.
		backfill := tx.Bucket(bBlobRefs) == nil && tx.Bucket(bTimeline) != nil
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if backfill {
			return backfillBlobRefs(tx)
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: init buckets: %w", err)
	}
	if err := s.loadQueues(); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: load queues: %w", err)
	}
	s.wg.Add(1)
	go s.commitLoop()
	return s, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Ping reports whether the database is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	return s.db.View(func(tx *bolt.Tx) error { return nil })
}

// Close stops subscriptions and blocked reads and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.events.mu.Lock()
		s.events.closed = true
		s.events.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		s.dbmu.Lock()
		s.closeErr = s.db.Close()
		s.dbmu.Unlock()
	})
	return s.closeErr
}

// ---- helpers -------------------------------------------------------------

func (s *Store) now() time.Time { return s.clock() }

// update runs fn in its own write transaction (exactly once on success).
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	return s.db.Update(fn)
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	return s.db.View(fn)
}

// getJSON decodes key of b into v and reports whether it existed.
// getRecord reads one JSON record of type T; ErrNotFound when absent.
func getRecord[T any](ctx context.Context, s *Store, bucket, k []byte) (T, error) {
	var v T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucket), k, &v)
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// updateRecord is the compare-and-swap every Update* shares, inside a write
// transaction (which serialises it, so nothing is retried): read the JSON
// record at k (ErrNotFound when absent), apply fn to a copy, let settle
// check the change against the old record and set what the backend manages
// (id, version, timestamps, indexes), then store it. Errors of fn and
// settle are returned as is.
func updateRecord[T any](b *bolt.Bucket, k []byte, fn func(*T) error, settle func(old T, v *T) error) (T, error) {
	var zero, old T
	found, err := getJSON(b, k, &old)
	if err != nil {
		return zero, err
	}
	if !found {
		return zero, store.ErrNotFound
	}
	v := old
	if err := fn(&v); err != nil {
		return zero, err
	}
	if err := settle(old, &v); err != nil {
		return zero, err
	}
	return v, putJSON(b, k, v)
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("embedded: decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// key joins parts with NUL, the separator of every composite key.
func key(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// prefix returns parts joined with NUL plus a trailing NUL.
func prefix(parts ...string) []byte { return append(key(parts...), 0) }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// scanPrefix calls fn for every key with prefix p, ascending, until fn returns false.
func scanPrefix(b *bolt.Bucket, p []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

// keysWithPrefix collects the keys with prefix p (for deleting safely).
func keysWithPrefix(b *bolt.Bucket, p []byte) [][]byte {
	var keys [][]byte
	_ = scanPrefix(b, p, func(k, _ []byte) (bool, error) {
		keys = append(keys, append([]byte(nil), k...))
		return true, nil
	})
	return keys
}

func jsonDecode(k, v []byte, out any) error {
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("embedded: decode %q: %w", k, err)
	}
	return nil
}
