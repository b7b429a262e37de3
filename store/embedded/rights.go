package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// Data-rights records (store/rights.go): bBlobRefs holds one key
// sum\x00entryID per reference of an entry to an attachment blob, written
// in the transaction that appends the entry; bTombstones holds the keyed
// hashes of erased provider message ids.
var (
	bBlobRefs   = []byte("blob_refs")  // sum\x00entryID → ""
	bTombstones = []byte("tombstones") // hash → at (8 bytes BE, unix ns)
)

// addBlobRefs records e's attachment references inside tx.
func addBlobRefs(tx *bolt.Tx, e store.Entry) error {
	b := tx.Bucket(bBlobRefs)
	for _, a := range e.Attachments {
		if a.SHA256 == "" {
			continue
		}
		if err := b.Put(key(a.SHA256, e.ID), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) BlobRefCount(ctx context.Context, sum string) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n = len(keysWithPrefix(tx.Bucket(bBlobRefs), prefix(sum)))
		return nil
	})
	return n, err
}

func (s *Store) RemoveBlobRef(ctx context.Context, sum, entryID string) (int, error) {
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBlobRefs)
		if err := b.Delete(key(sum, entryID)); err != nil {
			return err
		}
		n = len(keysWithPrefix(b, prefix(sum)))
		return nil
	})
	return n, err
}

func (s *Store) PutTombstone(ctx context.Context, hash string, at time.Time) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bTombstones).Put([]byte(hash), u64(uint64(at.UnixNano())))
	})
}

func (s *Store) HasTombstone(ctx context.Context, hash string) (bool, error) {
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found = tx.Bucket(bTombstones).Get([]byte(hash)) != nil
		return nil
	})
	return found, err
}

// DeleteEntry removes one entry, its dedupe record, its count and the
// provider-id record that names it (retention).
func (s *Store) DeleteEntry(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		ids, tl := tx.Bucket(bEntryIDs), tx.Bucket(bTimeline)
		tk := ids.Get([]byte(id))
		if tk == nil {
			return nil
		}
		tk = append([]byte(nil), tk...)
		var e store.Entry
		found, err := getJSON(tl, tk, &e)
		if err != nil {
			return err
		}
		if err := ids.Delete([]byte(id)); err != nil {
			return err
		}
		if !found {
			return nil
		}
		if err := tl.Delete(tk); err != nil {
			return err
		}
		if e.ProviderID != "" {
			pk := key(e.Channel, e.ProviderID)
			var ref providerRef
			ok, err := getJSON(tx.Bucket(bProviderIDs), pk, &ref)
			if err != nil {
				return err
			}
			if ok && ref.EntryID == id {
				if err := tx.Bucket(bProviderIDs).Delete(pk); err != nil {
					return err
				}
				if err := tx.Bucket(bProviderByCust).Delete(key(ref.CustomerID, e.Channel, e.ProviderID)); err != nil {
					return err
				}
			}
		}
		return addCount(tx, e.CustomerID, -1)
	})
}

// Compact rewrites the database file with only its live records and
// replaces the old file, so the pages that held erased records (which bbolt
// frees but never overwrites) are no longer in the data directory. Every
// other call waits while it runs: it takes time in proportion to the live
// data (measured in docs/DATA-PROTECTION.md), which erasures, rare and
// admin-started, can afford.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.dbmu.Lock()
	defer s.dbmu.Unlock()
	file := filepath.Join(s.dir, FileName)
	tmp := file + ".compact"
	os.Remove(tmp)
	// No fsync per copy transaction: one Sync before the file replaces the old.
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return fmt.Errorf("embedded: compact: %w", err)
	}
	if err := bolt.Compact(dst, s.db, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: compact: close: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		// Keep serving from the old file.
		os.Remove(tmp)
		db, oerr := bolt.Open(file, 0o600, &bolt.Options{Timeout: time.Second})
		if oerr != nil {
			return fmt.Errorf("embedded: compact: rename: %v; reopen: %w", err, oerr)
		}
		s.db = db
		return fmt.Errorf("embedded: compact: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("embedded: compact: reopen: %w", err)
	}
	s.db = db
	return nil
}

// backfillBlobRefs records the blob references of every entry (Open, for a
// file written before references existed).
func backfillBlobRefs(tx *bolt.Tx) error {
	return tx.Bucket(bTimeline).ForEach(func(k, v []byte) error {
		var e store.Entry
		if err := jsonDecode(k, v, &e); err != nil {
			return err
		}
		return addBlobRefs(tx, e)
	})
}
