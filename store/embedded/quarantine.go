package embedded

import (
	"context"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

func (s *Store) PutQuarantine(ctx context.Context, q store.QuarantineItem) error {
	if q.At.IsZero() {
		q.At = s.now()
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bQuarantine)
		if b.Get([]byte(q.ID)) != nil {
			return nil
		}
		return putJSON(b, []byte(q.ID), q)
	})
}

func (s *Store) ListQuarantine(ctx context.Context, channel string, limit int) ([]store.QuarantineItem, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.QuarantineItem
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bQuarantine).ForEach(func(k, v []byte) error {
			var q store.QuarantineItem
			if err := jsonDecode(k, v, &q); err != nil {
				return err
			}
			if channel == "" || q.Channel == channel {
				out = append(out, q)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

func (s *Store) TakeQuarantine(ctx context.Context, id string) (store.QuarantineItem, error) {
	var q store.QuarantineItem
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bQuarantine)
		v := b.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		if err := jsonDecode([]byte(id), v, &q); err != nil {
			return err
		}
		return b.Delete([]byte(id))
	})
	return q, err
}
