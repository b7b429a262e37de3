package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// queueDeleteDead removes dead letters by id. XDEL only flags a stream
// entry as deleted: its bytes stay in the stream's node (and in an RDB
// snapshot of it) until every entry of the node is gone. So the dead
// stream is rewritten with the entries that stay, under their own ids,
// when any is removed. Dead streams are short (an operator replays or
// drops them), and erasure, the caller, is rare.
// KEYS[1] dead stream. ARGV the ids. Returns how many were removed.
var queueDeleteDead = goredis.NewScript(`
local drop = {}
for i = 1, #ARGV do drop[ARGV[i]] = true end
local all = redis.call('XRANGE', KEYS[1], '-', '+')
local keep, n = {}, 0
for _, e in ipairs(all) do
  if drop[e[1]] then n = n + 1 else keep[#keep + 1] = e end
end
if n == 0 then return 0 end
redis.call('DEL', KEYS[1])
for _, e in ipairs(keep) do
  redis.call('XADD', KEYS[1], e[1], unpack(e[2]))
end
return n
`)

// DeleteDead removes dead letters for good (see queueDeleteDead).
func (s *Store) DeleteDead(ctx context.Context, queue string, ids ...string) (_ int, err error) {
	defer opErr(&err, "delete dead letters of queue", queue)
	var valid []any
	for _, id := range ids {
		if validStreamID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return 0, ctx.Err()
	}
	return queueDeleteDead.Run(ctx, s.c, []string{s.k.queueDead(queue)}, valid...).Int()
}

// PeekQueue reads the queue's stream: acked items are XDELed, so every
// entry in it is unacked.
func (s *Store) PeekQueue(ctx context.Context, queue string, limit int) (_ []store.Delivery, err error) {
	defer opErr(&err, "peek queue", queue)
	var msgs []goredis.XMessage
	if limit > 0 {
		msgs, err = s.c.XRangeN(ctx, s.k.queueStream(queue), "-", "+", int64(limit)).Result()
	} else {
		msgs, err = s.c.XRange(ctx, s.k.queueStream(queue), "-", "+").Result()
	}
	if err != nil {
		return nil, err
	}
	out := make([]store.Delivery, 0, len(msgs))
	for _, m := range msgs {
		p, _ := m.Values["p"].(string)
		t, _ := m.Values["t"].(string)
		out = append(out, store.Delivery{ID: m.ID, Payload: []byte(p), EnqueuedAt: parseNanos(t)})
	}
	return out, nil
}
