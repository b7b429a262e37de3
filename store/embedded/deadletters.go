package embedded

import (
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// DeleteDead removes dead letters by id from the queue's dead-letter
// bucket. The freed pages keep the bytes until the file is compacted
// (Compact, which erasure runs after it).
func (s *Store) DeleteDead(ctx context.Context, queue string, ids ...string) (int, error) {
	var keys [][]byte
	for _, id := range ids {
		if seq, ok := parseID(id); ok {
			keys = append(keys, u64(seq))
		}
	}
	if len(keys) == 0 {
		return 0, ctx.Err()
	}
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(dBucket(queue))
		if b == nil {
			return nil
		}
		for _, k := range keys {
			if b.Get(k) == nil {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// PeekQueue lists the unacked items in the queue's bucket, oldest first.
func (s *Store) PeekQueue(ctx context.Context, queue string, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(qBucket(queue))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			rec, err := decodeQueueRecord(k, v)
			if err != nil {
				return err
			}
			out = append(out, store.Delivery{ID: seqID(binary.BigEndian.Uint64(k)), Payload: rec.Payload, EnqueuedAt: rec.EnqueuedAt})
		}
		return nil
	})
	return out, err
}
