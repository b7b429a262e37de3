package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"
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
