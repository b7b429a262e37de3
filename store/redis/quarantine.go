package redis

import (
	"context"
	"encoding/json"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- quarantine: {quarantine}:items (hash) + {quarantine}:order (ZSET, ms) ----

func (s *Store) PutQuarantine(ctx context.Context, q store.QuarantineItem) (err error) {
	defer opErr(&err, "put quarantine item", q.ID)
	if q.At.IsZero() {
		q.At = s.now()
	}
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	ok, err := s.c.HSetNX(ctx, s.k.quarantineItems(), q.ID, b).Result()
	if err != nil {
		return err
	}
	if ok {
		if err := s.c.ZAdd(ctx, s.k.quarantineOrder(), goredis.Z{Score: float64(q.At.UnixMilli()), Member: q.ID}).Err(); err != nil {
			return err
		}
	}
	// A quarantined message was acknowledged to its sender like any other:
	// with store.redis.min_replicas_ack it is on the replicas first
	// (replicas.go; also when it was already there: that copy may not be).
	return s.confirmWrites(ctx, s.k.quarantineItems(), s.k.key("quarantine", "ackmark"))
}

func (s *Store) ListQuarantine(ctx context.Context, channel string, limit int) (_ []store.QuarantineItem, err error) {
	defer opErr(&err, "list quarantine")
	if limit <= 0 {
		limit = 100
	}
	ids, err := s.c.ZRevRange(ctx, s.k.quarantineOrder(), 0, -1).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	raws, err := s.c.HMGet(ctx, s.k.quarantineItems(), ids...).Result()
	if err != nil {
		return nil, err
	}
	var out []store.QuarantineItem
	for _, r := range raws {
		str, ok := r.(string)
		if !ok {
			continue // taken meanwhile
		}
		var q store.QuarantineItem
		if err := json.Unmarshal([]byte(str), &q); err != nil {
			return nil, err
		}
		if channel == "" || q.Channel == channel {
			out = append(out, q)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (s *Store) TakeQuarantine(ctx context.Context, id string) (_ store.QuarantineItem, err error) {
	defer opErr(&err, "take quarantine item", id)
	var q store.QuarantineItem
	// HGET + HDEL in one MULTI (same slot): exactly one taker gets the item.
	var get *goredis.StringCmd
	var del *goredis.IntCmd
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		get = p.HGet(ctx, s.k.quarantineItems(), id)
		del = p.HDel(ctx, s.k.quarantineItems(), id)
		p.ZRem(ctx, s.k.quarantineOrder(), id)
		return nil
	})
	if err != nil && !isNil(err) {
		return q, err
	}
	if del.Val() == 0 {
		return q, store.ErrNotFound
	}
	return q, json.Unmarshal([]byte(get.Val()), &q)
}
