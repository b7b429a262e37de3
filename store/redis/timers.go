package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- durable timers: ZSET {tm:SET}:due (id → at, unix ms) and hash
// {tm:SET}:data (id → payload), one hash slot per set ----

func (s *Store) PutTimer(ctx context.Context, t store.Timer) error {
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, s.k.timerData(t.Set), t.ID, t.Payload)
		p.ZAdd(ctx, s.k.timerDue(t.Set), goredis.Z{Score: float64(t.At.UnixMilli()), Member: t.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store/redis: put timer: %w", err)
	}
	return nil
}

func (s *Store) ClaimTimers(ctx context.Context, set string, now time.Time, lease time.Duration, max int) ([]store.Timer, error) {
	if max <= 0 {
		max = 100
	}
	res, err := claimTimers.Run(ctx, s.c, []string{s.k.timerDue(set), s.k.timerData(set)},
		now.UnixMilli(), now.Add(lease).UnixMilli(), max).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store/redis: claim timers: %w", err)
	}
	out := make([]store.Timer, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		ms, err := strconv.ParseFloat(res[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("store/redis: claim timers: bad time %q", res[i+1])
		}
		out = append(out, store.Timer{Set: set, ID: res[i], At: time.UnixMilli(int64(ms)).UTC(), Payload: []byte(res[i+2])})
	}
	return out, nil
}

func (s *Store) DeleteTimer(ctx context.Context, set, id string) error {
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRem(ctx, s.k.timerDue(set), id)
		p.HDel(ctx, s.k.timerData(set), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store/redis: delete timer: %w", err)
	}
	return nil
}
