// Package bolt is the embedded store's search index: an inverted index
// in a bbolt file of its own beside the store's (search.db), so indexing
// never holds the store's single writer. See docs/ARCHITECTURE.md
// ("Search") for why this over bleve.
//
// Layout (one bucket each):
//
//	p: term 0x00 ^at(8 bytes, big-endian nanoseconds) docID → ""   postings, newest first per term
//	n: term → count (8 bytes)                                      posting counts, to start from the rarest term
//	d: docID → JSON search.Doc                                     the documents (re-analysed on removal)
//	v: customerID 0x00 conversationID 0x00 docID → ""              a conversation's documents, for erasure
//
// It may import search and bbolt only.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/search"
)

// FileName is the index's file in the data directory.
const FileName = "search.db"

var (
	bPost = []byte("p")
	bN    = []byte("n")
	bDoc  = []byte("d")
	bConv = []byte("v")
	one   = []byte{1}
)

// Index is a search.Index in a bbolt file.
type Index struct {
	// mu is held for reading by every call and for writing by Compact,
	// which replaces db.
	mu     sync.RWMutex
	db     *bbolt.DB
	file   string
	closed bool

	// After a conversation's removal (erasure, retention) the file is
	// compacted once removals have been quiet for CompactDelay, so a
	// retention sweep of many conversations compacts once.
	tmu   sync.Mutex
	timer *time.Timer
}

// ScanCap bounds how many postings of its rarest term one query walks,
// so a query of words that seldom meet ends in bounded time (it then
// ranks what it found).
var ScanCap = 200_000

// CompactDelay is how long after the last conversation removal the file
// is compacted.
var CompactDelay = 2 * time.Second

func (x *Index) compactSoon() {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	if x.timer != nil {
		x.timer.Stop()
	}
	x.timer = time.AfterFunc(CompactDelay, func() { _ = x.Compact(context.Background()) })
}

var _ search.Index = (*Index)(nil)

// Open opens (creating) the index in dir.
func Open(dir string) (*Index, error) {
	file := filepath.Join(dir, FileName)
	// The freelist is rebuilt on open instead of written at every commit
	// (at a million messages writing it was most of a commit's time).
	db, err := bbolt.Open(file, 0o600, &bbolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("search index: open: %w", err)
	}
	// Concurrent router workers' writes share one commit (one fsync).
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bPost, bN, bDoc, bConv} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("search index: init: %w", err)
	}
	return &Index{db: db, file: file}, nil
}

// Close closes the file.
func (x *Index) Close() error {
	x.tmu.Lock()
	if x.timer != nil {
		x.timer.Stop()
	}
	x.tmu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	return x.db.Close()
}

// Compact rewrites the file without its free pages, so text removed by an
// erasure (bbolt frees pages but never overwrites them) is gone from the
// disk too (DESIGN invariant 7). Every other call waits while it runs.
func (x *Index) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	tmp := x.file + ".compact"
	os.Remove(tmp)
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	err = bbolt.Compact(dst, x.db, 64<<20)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("search index: compact: %w", err)
	}
	delay := x.db.MaxBatchDelay
	if err := x.db.Close(); err != nil {
		return fmt.Errorf("search index: compact: close: %w", err)
	}
	rerr := os.Rename(tmp, x.file)
	if rerr != nil {
		os.Remove(tmp)
	} else if d, err := os.Open(filepath.Dir(x.file)); err == nil {
		d.Sync()
		d.Close()
	}
	db, err := bbolt.Open(x.file, 0o600, &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("search index: compact: reopen: %w", err)
	}
	db.MaxBatchDelay = delay
	x.db = db
	if rerr != nil {
		return fmt.Errorf("search index: compact: %w", rerr)
	}
	return nil
}

func inv(at time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ^uint64(at.UnixNano()))
	return b[:]
}

func postKey(term string, invAt []byte, id string) []byte {
	k := make([]byte, 0, len(term)+9+len(id))
	k = append(k, term...)
	k = append(k, 0)
	k = append(k, invAt...)
	return append(k, id...)
}

func convKey(customerID, convID, id string) []byte {
	return []byte(customerID + "\x00" + convID + "\x00" + id)
}

func bump(b *bbolt.Bucket, term string, by int64) error {
	var n int64
	if v := b.Get([]byte(term)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += by
	if n <= 0 {
		return b.Delete([]byte(term))
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(n))
	return b.Put([]byte(term), v[:])
}

func remove(tx *bbolt.Tx, id string) error {
	docs := tx.Bucket(bDoc)
	raw := docs.Get([]byte(id))
	if raw == nil {
		return nil
	}
	var d search.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("search index: doc %s: %w", id, err)
	}
	p, n := tx.Bucket(bPost), tx.Bucket(bN)
	ia := inv(d.At)
	for _, t := range search.Terms(d) {
		k := postKey(t, ia, id)
		if p.Get(k) == nil {
			continue
		}
		if err := p.Delete(k); err != nil {
			return err
		}
		if err := bump(n, t, -1); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bConv).Delete(convKey(d.CustomerID, d.ConversationID, id)); err != nil {
		return err
	}
	return docs.Delete([]byte(id))
}

// Put implements search.Index. Concurrent calls share one commit
// (bbolt's Batch).
func (x *Index) Put(ctx context.Context, d search.Doc) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.db.Batch(func(tx *bbolt.Tx) error { return put(tx, d) })
}

// PutMany indexes ds in one commit: the path for rebuilding an index
// from the store (and for building a benchmark corpus), with the same
// analysis and layout as Put.
func (x *Index) PutMany(ctx context.Context, ds []search.Doc) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.db.Update(func(tx *bbolt.Tx) error {
		for _, d := range ds {
			if err := put(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func put(tx *bbolt.Tx, d search.Doc) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	docs := tx.Bucket(bDoc)
	if old := docs.Get([]byte(d.ID)); old != nil {
		if bytes.Equal(old, raw) {
			return nil // a redelivery
		}
		if err := remove(tx, d.ID); err != nil {
			return err
		}
	}
	p, n := tx.Bucket(bPost), tx.Bucket(bN)
	ia := inv(d.At)
	for _, t := range search.Terms(d) {
		if err := p.Put(postKey(t, ia, d.ID), one); err != nil {
			return err
		}
		if err := bump(n, t, 1); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bConv).Put(convKey(d.CustomerID, d.ConversationID, d.ID), one); err != nil {
		return err
	}
	return docs.Put([]byte(d.ID), raw)
}

// Remove implements search.Index.
func (x *Index) Remove(ctx context.Context, customerID string, ids ...string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.db.Update(func(tx *bbolt.Tx) error {
		for _, id := range ids {
			if err := remove(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveConversation implements search.Index; the file is compacted
// CompactDelay later.
func (x *Index) RemoveConversation(ctx context.Context, customerID, conversationID string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	defer x.compactSoon()
	return x.db.Update(func(tx *bbolt.Tx) error {
		prefix := []byte(customerID + "\x00" + conversationID + "\x00")
		var ids []string
		c := tx.Bucket(bConv).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		for _, id := range ids {
			if err := remove(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Candidates implements search.Index: it walks the rarest term's
// postings newest first from to, and keeps a document when every other
// term has the same posting (one B-tree lookup each).
func (x *Index) Candidates(ctx context.Context, terms []string, from, to time.Time, limit int) ([]search.Doc, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []search.Doc
	err := x.db.View(func(tx *bbolt.Tx) error {
		n := tx.Bucket(bN)
		rare, best := "", int64(-1)
		for _, t := range terms {
			v := n.Get([]byte(t))
			if len(v) != 8 {
				return nil // a term nobody has: no match
			}
			if c := int64(binary.BigEndian.Uint64(v)); best < 0 || c < best {
				rare, best = t, c
			}
		}
		if best < 0 {
			return nil
		}
		prefix := append([]byte(rare), 0)
		start := prefix
		if !to.IsZero() {
			start = append(append([]byte(nil), prefix...), inv(to.Add(-time.Nanosecond))...)
		}
		p, docs := tx.Bucket(bPost), tx.Bucket(bDoc)
		c := p.Cursor()
		var key []byte
		walked := 0
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit && walked < ScanCap; k, _ = c.Next() {
			walked++
			rest := k[len(prefix):]
			if len(rest) < 8 {
				continue
			}
			at := int64(^binary.BigEndian.Uint64(rest[:8]))
			if !from.IsZero() && at < from.UnixNano() {
				break
			}
			id := rest[8:]
			ok := true
			for _, t := range terms {
				if t == rare {
					continue
				}
				key = append(append(append(key[:0], t...), 0), rest...)
				if p.Get(key) == nil {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			var d search.Doc
			if err := json.Unmarshal(docs.Get(id), &d); err != nil {
				return fmt.Errorf("search index: doc %s: %w", id, err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}
