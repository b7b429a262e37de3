package redis

import (
	"context"
	"regexp"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// auditClockSlack is how far a record's At may be ahead of its append.
const auditClockSlack = time.Hour

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
// order, which is At order only as far as the writers' clocks agree: the
// walk ends at an hour before From (auditClockSlack), and From and To
// filter what it reads; AuditScanBudget bounds it.
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
	// Stream ids are the append time in ms. A record's At is its writer's
	// clock, close to that; an hour of slack keeps the walk from reading
	// the whole log for a recent from (the sweepers of pending events ask
	// for the last minutes every few seconds).
	start := "-"
	if !q.From.IsZero() {
		if ms := q.From.UnixMilli() - auditClockSlack.Milliseconds(); ms > 0 {
			start = strconv.FormatInt(ms, 10)
		}
	}
	var page store.AuditPage
	for scanned := 0; scanned < store.AuditScanBudget; {
		n := min(auditBatch, store.AuditScanBudget-scanned)
		msgs, err := s.c.XRevRangeN(ctx, s.k.audit(), end, start, int64(n)).Result()
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
