package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// auditTimeKey is the first audit key at or after t (keys are at(8)+seq(8)).
func auditTimeKey(t time.Time) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	return k
}

// QueryAudit walks the audit bucket backwards (newest first) from the
// cursor (the hex key of the last record returned) or from q.To, and stops
// at q.From: keys are ordered by At.
func (s *Store) QueryAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	var start []byte
	if q.Cursor != "" {
		b, err := hex.DecodeString(q.Cursor)
		if err != nil || len(b) != 16 {
			return store.AuditPage{}, store.ErrBadAuditCursor
		}
		start = b
	}
	limit := q.PageLimit()
	var page store.AuditPage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		var k, v []byte
		switch {
		case start != nil:
			k, v = c.Seek(start)
			if k == nil {
				k, v = c.Last()
			}
			for k != nil && bytes.Compare(k, start) >= 0 {
				k, v = c.Prev()
			}
		case !q.To.IsZero():
			k, v = c.Seek(auditTimeKey(q.To))
			if k == nil {
				k, v = c.Last()
			}
			for k != nil && bytes.Compare(k, auditTimeKey(q.To)) >= 0 {
				k, v = c.Prev()
			}
		default:
			k, v = c.Last()
		}
		from := []byte(nil)
		if !q.From.IsZero() {
			from = auditTimeKey(q.From)
		}
		for scanned := 0; k != nil; k, v = c.Prev() {
			if from != nil && bytes.Compare(k, from) < 0 {
				return nil
			}
			if scanned == store.AuditScanBudget {
				page.Next = hex.EncodeToString(prevKey(k))
				return nil
			}
			scanned++
			var r store.AuditRecord
			if err := jsonDecode(k, v, &r); err != nil {
				return err
			}
			if !q.Match(r) {
				continue
			}
			page.Records = append(page.Records, r)
			if len(page.Records) == limit {
				page.Next = hex.EncodeToString(k)
				return nil
			}
		}
		return nil
	})
	return page, err
}

// prevKey is the cursor that resumes at k itself (k + 1, as the walk
// resumes strictly below the cursor).
func prevKey(k []byte) []byte {
	out := bytes.Clone(k)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			break
		}
	}
	return out
}

// DeleteAuditBefore removes the oldest records while they are older than
// before (keys are ordered by At), with their given ids.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, max int) (int, error) {
	n := 0
	for {
		batch := 0
		err := s.update(ctx, func(tx *bolt.Tx) error {
			bk, ids := tx.Bucket(bAudit), tx.Bucket(bAuditIDs)
			end := auditTimeKey(before)
			c := bk.Cursor()
			for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0 && batch < 1000 && (max <= 0 || n+batch < max); k, v = c.First() {
				var r store.AuditRecord
				if err := jsonDecode(k, v, &r); err == nil && r.ID != "" {
					if got := ids.Get([]byte(r.ID)); got != nil && bytes.Equal(got, k) {
						if err := ids.Delete([]byte(r.ID)); err != nil {
							return err
						}
					}
				}
				if err := c.Delete(); err != nil {
					return err
				}
				batch++
			}
			return nil
		})
		n += batch
		if err != nil || batch < 1000 || (max > 0 && n >= max) {
			return n, err
		}
	}
}
