package embedded

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bBudgets: budget key → budgetRecord (JSON).
var bBudgets = []byte("budgets")

// budgetRecord holds the uses of one budget key still inside its window
// (use → UnixNano of the store's clock) and when the record may go.
type budgetRecord struct {
	Uses    map[string]int64 `json:"uses"`
	Expires int64            `json:"expires"` // UnixNano
}

// budgetSweepN is how many expired records every TakeBudget removes
// after Store.budgetNext (wrapping): records are collected at least as
// fast as they are made (each call makes at most one).
const budgetSweepN = 4

func (s *Store) TakeBudget(ctx context.Context, key, use string, limit int, window time.Duration) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	now := s.now().UnixNano()
	var ok bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bBudgets)
		s.sweepBudgets(bk, now, key)
		var r budgetRecord
		if raw := bk.Get([]byte(key)); raw != nil {
			if err := jsonDecode([]byte(key), raw, &r); err != nil {
				return err
			}
		}
		live := map[string]int64{}
		for u, at := range r.Uses {
			if now-at < int64(window) {
				live[u] = at
			}
		}
		if _, seen := live[use]; seen {
			ok = true
			return nil
		}
		if len(live) >= limit {
			ok = false
			return nil
		}
		live[use] = now
		ok = true
		b, err := json.Marshal(budgetRecord{Uses: live, Expires: now + int64(window)})
		if err != nil {
			return err
		}
		return bk.Put([]byte(key), b)
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// sweepBudgets removes up to budgetSweepN expired records after the
// sweep position (wrapping), never keep (the record being taken).
func (s *Store) sweepBudgets(bk *bolt.Bucket, now int64, keep string) {
	from := s.budgetNext
	var dead [][]byte
	var last []byte
	c := bk.Cursor()
	k, v := c.Seek(from)
	for seen := 0; seen < 2*budgetSweepN && len(dead) < budgetSweepN; seen++ {
		if k == nil {
			if from == nil {
				break
			}
			from = nil
			k, v = c.First()
			if k == nil {
				break
			}
		}
		var r budgetRecord
		if string(k) != keep && json.Unmarshal(v, &r) == nil && r.Expires <= now {
			dead = append(dead, append([]byte(nil), k...))
		}
		last = append(last[:0], k...)
		k, v = c.Next()
	}
	for _, d := range dead {
		_ = bk.Delete(d)
	}
	if last != nil {
		s.budgetNext = append(last, 0)
	}
}
