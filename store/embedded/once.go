package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Single-use ids live in the sessions bucket as "once\x00"ID → expiry
// (unix nanoseconds of the store's clock, 8 bytes BE); expired ones are
// swept whenever another is used.

var oncePrefix = key("once", "")

func (s *Store) UseOnce(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	now := s.now().UnixNano()
	first := false
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		first = false // batch may run fn again
		bk := tx.Bucket(bSessions)
		k := key("once", id)
		if raw := bk.Get(k); len(raw) == 8 && int64(binary.BigEndian.Uint64(raw)) > now {
			return nil
		}
		var stale [][]byte
		c := bk.Cursor()
		for ck, v := c.Seek(oncePrefix); ck != nil && bytes.HasPrefix(ck, oncePrefix); ck, v = c.Next() {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now {
				stale = append(stale, append([]byte{}, ck...))
			}
		}
		for _, ck := range stale {
			if err := bk.Delete(ck); err != nil {
				return err
			}
		}
		var exp [8]byte
		binary.BigEndian.PutUint64(exp[:], uint64(now+int64(ttl)))
		first = true
		return bk.Put(k, exp[:])
	})
	if err != nil {
		return false, err
	}
	return first, nil
}
