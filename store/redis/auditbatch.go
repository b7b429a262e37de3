package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Group commits of audit records with an id (issue 23). Every message
// posted to an api channel writes one (inbox/server.go), and each cost a
// script of its own: HEXISTS, XADD, HSET and the EVALSHA, four commands
// a message. Now the records waiting while a flush runs are written by
// the next flush in one script: one HMGET for all their ids, an XADD
// each (a stream takes one entry a command), one HSET for all the ids.
// AppendAudit still returns once its record is written, so nothing is
// acknowledged before its record is in Redis; there is no timer (a lone
// record is flushed at once). Records of one batch go to the stream in
// the order they arrived.

const maxAuditBatch = 256

type auditReq struct {
	id, raw string
	err     error
	done    chan struct{}
}

type auditBatcher struct {
	mu       sync.Mutex
	pending  []*auditReq
	flushing bool
}

// auditAppendBatch appends audit records given ids, each once.
// KEYS[1] the audit stream, KEYS[2] the hash given id → stream id.
// ARGV: id, record (JSON), id, record, … Returns how many were appended.
var auditAppendBatch = goredis.NewScript(`
local n = #ARGV / 2
local ids = {}
for i = 1, n do ids[i] = ARGV[2 * i - 1] end
local have = redis.call('HMGET', KEYS[2], unpack(ids))
local set, seen = {}, {}
for i = 1, n do
  local id = ids[i]
  if not have[i] and not seen[id] then
    seen[id] = true
    set[#set + 1] = id
    set[#set + 1] = redis.call('XADD', KEYS[1], '*', 'r', ARGV[2 * i])
  end
end
if #set > 0 then redis.call('HSET', KEYS[2], unpack(set)) end
return #set / 2
`)

// appendAuditOnce writes r (r.ID set) through the next group commit.
func (s *Store) appendAuditOnce(ctx context.Context, r store.AuditRecord) error {
	q := &auditReq{id: r.ID, raw: marshal(r), done: make(chan struct{})}
	b := &s.audits
	b.mu.Lock()
	b.pending = append(b.pending, q)
	if !b.flushing {
		b.flushing = true
		go s.flushAudits()
	}
	b.mu.Unlock()
	select {
	case <-q.done:
		return q.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) flushAudits() {
	b := &s.audits
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxAuditBatch)
		if n == 0 {
			b.flushing = false
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		args := make([]any, 0, 2*len(batch))
		for _, q := range batch {
			args = append(args, q.id, q.raw)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := auditAppendBatch.Run(ctx, s.c, []string{s.k.audit(), s.k.auditIDs()}, args...).Err()
		cancel()
		if err != nil {
			err = fmt.Errorf("audit records: %w", err)
		}
		for _, q := range batch {
			q.err = err
			close(q.done)
		}
	}
}
