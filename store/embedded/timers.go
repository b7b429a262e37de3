package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// Timers live in one bucket as two records each:
//
//	"d"\x00set\x00id          → at (8 bytes BE, unix ns) + payload
//	"i"\x00set\x00 at(8) id   → empty (the due-time index, in time order)

func timerData(set, id string) []byte { return key("d", set, id) }

func timerIndexPrefix(set string) []byte { return key("i", set, "") }

func timerIndex(set, id string, at int64) []byte {
	k := timerIndexPrefix(set)
	k = binary.BigEndian.AppendUint64(k, uint64(at))
	return append(k, id...)
}

func (s *Store) PutTimer(ctx context.Context, t store.Timer) error {
	at := t.At.UnixNano()
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bTimers)
		dk := timerData(t.Set, t.ID)
		if old := bk.Get(dk); len(old) >= 8 {
			if err := bk.Delete(timerIndex(t.Set, t.ID, int64(binary.BigEndian.Uint64(old)))); err != nil {
				return err
			}
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(t.Payload)), uint64(at))
		if err := bk.Put(dk, append(v, t.Payload...)); err != nil {
			return err
		}
		return bk.Put(timerIndex(t.Set, t.ID, at), nil)
	})
}

func (s *Store) ClaimTimers(ctx context.Context, set string, now time.Time, lease time.Duration, max int) ([]store.Timer, error) {
	if max <= 0 {
		max = 100
	}
	var out []store.Timer
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		out = out[:0] // batch may run fn again
		bk := tx.Bucket(bTimers)
		p := timerIndexPrefix(set)
		var due [][]byte
		c := bk.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(due) < max; k, _ = c.Next() {
			if len(k) < len(p)+8 || int64(binary.BigEndian.Uint64(k[len(p):])) > now.UnixNano() {
				break
			}
			due = append(due, append([]byte(nil), k...))
		}
		next := now.Add(lease).UnixNano()
		for _, k := range due {
			id := string(k[len(p)+8:])
			v := bk.Get(timerData(set, id))
			if len(v) < 8 {
				if err := bk.Delete(k); err != nil {
					return err
				}
				continue
			}
			out = append(out, store.Timer{Set: set, ID: id, At: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(),
				Payload: append([]byte(nil), v[8:]...)})
			nv := binary.BigEndian.AppendUint64(make([]byte, 0, len(v)), uint64(next))
			if err := bk.Put(timerData(set, id), append(nv, v[8:]...)); err != nil {
				return err
			}
			if err := bk.Delete(k); err != nil {
				return err
			}
			if err := bk.Put(timerIndex(set, id, next), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteTimer(ctx context.Context, set, id string) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bTimers)
		dk := timerData(set, id)
		old := bk.Get(dk)
		if len(old) < 8 {
			return nil
		}
		if err := bk.Delete(timerIndex(set, id, int64(binary.BigEndian.Uint64(old)))); err != nil {
			return err
		}
		return bk.Delete(dk)
	})
}
