package redis

import (
	"context"
	"regexp"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// auditBatch is how many stream entries one XREVRANGE / XRANGE reads.
const auditBatch = 500

var streamIDRe = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

func (s *Store) auditRecord(m goredis.XMessage) (store.AuditRecord, error) {
	raw, _ := m.Values["r"].(string)
	var r store.AuditRecord
	if err := unmarshal(raw, &r); err != nil {
		return r, err
	}
	if r.ID == "" {
		r.ID = m.ID
	}
	return r, nil
}

// QueryAudit reads the stream backwards from the cursor (a stream id,
// exclusive) in batches, filtering in the hub. The stream is in append
// order, which is At order only as far as the writers' clocks agree, so
// From and To filter without ending the walk; AuditScanBudget bounds it.
func (s *Store) QueryAudit(ctx context.Context, q store.AuditQuery) (_ store.AuditPage, err error) {
	defer opErr(&err, "query audit")
	end := "+"
	if q.Cursor != "" {
		if !streamIDRe.MatchString(q.Cursor) {
			return store.AuditPage{}, store.ErrBadAuditCursor
		}
		end = "(" + q.Cursor
	}
	limit := q.PageLimit()
	var page store.AuditPage
	for scanned := 0; scanned < store.AuditScanBudget; {
		n := min(auditBatch, store.AuditScanBudget-scanned)
		msgs, err := s.c.XRevRangeN(ctx, s.k.audit(), end, "-", int64(n)).Result()
		if err != nil {
			return page, err
		}
		for _, m := range msgs {
			scanned++
			r, err := s.auditRecord(m)
			if err != nil {
				return page, err
			}
			if q.Match(r) {
				page.Records = append(page.Records, r)
				if len(page.Records) == limit {
					page.Next = m.ID
					return page, nil
				}
			}
			end = "(" + m.ID
		}
		if len(msgs) < n {
			return page, nil
		}
	}
	page.Next = end[1:]
	return page, nil
}

// DeleteAuditBefore removes the oldest records while they are older than
// before (the stream's head), with their given ids.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, max int) (n int, err error) {
	defer opErr(&err, "delete old audit records")
	for {
		msgs, err := s.c.XRangeN(ctx, s.k.audit(), "-", "+", auditBatch).Result()
		if err != nil {
			return n, err
		}
		var del []string
		var ids []string
		done := len(msgs) < auditBatch
		for _, m := range msgs {
			r, err := s.auditRecord(m)
			if err != nil {
				return n, err
			}
			if !r.At.Before(before) || (max > 0 && n+len(del) >= max) {
				done = true
				break
			}
			del = append(del, m.ID)
			if r.ID != m.ID {
				ids = append(ids, r.ID)
			}
		}
		if len(del) > 0 {
			// Both keys share the {audit} tag: one transaction.
			_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.XDel(ctx, s.k.audit(), del...)
				if len(ids) > 0 {
					p.HDel(ctx, s.k.auditIDs(), ids...)
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += len(del)
		}
		if done {
			return n, nil
		}
	}
}
